// Decodes a Candid reply of the shape `record { <field> : blob }` (read_canister_snapshot_data's)
// without copying the blob, and without @dfinity/candid's decoder on the fast path: that one
// copies the whole remaining message for every signed LEB128 in the type table, so a 2 MB reply
// cost ~20 MB of copies. Any other encoding of the type (other fields, other type-table
// layouts, anything unexpected) goes to @dfinity/candid, which decodes it or says why not.
import { IDL } from '@dfinity/candid';

const MAGIC = [0x44, 0x49, 0x44, 0x4c]; // "DIDL"
const NAT8 = -5;
const VEC = -19;
const RECORD = -20;

/** Candid's field id: the label's bytes folded as h = h * 223 + byte, mod 2^32. */
export function candidFieldId(label: string): number {
  let h = 0;
  for (const byte of new TextEncoder().encode(label)) h = (Math.imul(h, 223) + byte) >>> 0;
  return h;
}

class Reader {
  at = 0;
  constructor(readonly bytes: Uint8Array) {}

  /** Unsigned LEB128, up to 2^53 (larger is not a length anything here can have). */
  uleb(): number | undefined {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.at >= this.bytes.length || scale > 2 ** 49) return undefined;
      const byte = this.bytes[this.at++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
  }

  /** Signed LEB128 (type codes and type-table indices), small values only. */
  sleb(): number | undefined {
    let value = 0;
    let shift = 0;
    for (;;) {
      if (this.at >= this.bytes.length || shift > 28) return undefined;
      const byte = this.bytes[this.at++]!;
      value |= (byte & 0x7f) << shift;
      shift += 7;
      if (byte < 0x80) return byte & 0x40 ? value - 2 ** shift : value;
    }
  }
}

type Entry = { kind: 'vec'; of: number } | { kind: 'record'; fields: Array<{ id: number; type: number }> };

/**
 * The blob, or undefined when the message is not the one simple encoding the fast path reads.
 * Throws when it is, but the blob's length does not match the message's.
 */
function fastPath(reply: Uint8Array, field: number): Uint8Array | undefined {
  if (reply.length < 4 || MAGIC.some((b, i) => reply[i] !== b)) return undefined;
  const r = new Reader(reply);
  r.at = 4;
  const count = r.uleb();
  if (count === undefined || count > 16) return undefined;
  const table: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const op = r.sleb();
    if (op === VEC) {
      const of = r.sleb();
      if (of === undefined) return undefined;
      table.push({ kind: 'vec', of });
    } else if (op === RECORD) {
      const n = r.uleb();
      if (n === undefined || n > 16) return undefined;
      const fields: Array<{ id: number; type: number }> = [];
      for (let j = 0; j < n; j++) {
        const id = r.uleb();
        const type = r.sleb();
        if (id === undefined || type === undefined) return undefined;
        fields.push({ id, type });
      }
      table.push({ kind: 'record', fields });
    } else return undefined;
  }
  if (r.uleb() !== 1) return undefined;
  const argType = r.sleb();
  const record = argType !== undefined && argType >= 0 ? table[argType] : undefined;
  if (record?.kind !== 'record' || record.fields.length !== 1 || record.fields[0]!.id !== field) return undefined;
  const blobType = record.fields[0]!.type;
  const blob = blobType >= 0 ? table[blobType] : undefined;
  if (blob?.kind !== 'vec' || blob.of !== NAT8) return undefined;
  // The type is the one expected, so the value must be exactly the blob: @dfinity/candid would
  // hand back a short blob from a message cut short.
  const length = r.uleb();
  if (length === undefined || r.at + length !== reply.length) {
    throw new Error(`a ${reply.length}-byte Candid reply declares a ${length ?? 'malformed'}-byte blob (${length === undefined || r.at + length > reply.length ? 'cut short' : 'bytes left over'})`);
  }
  return reply.subarray(r.at);
}

/**
 * The `field` blob of a `record { field : blob }` reply, as a view into `reply`. Throws what
 * @dfinity/candid throws when the reply is not such a record.
 */
export function decodeBlobField(reply: Uint8Array, field: string): Uint8Array {
  const fast = fastPath(reply, candidFieldId(field));
  if (fast) return fast;
  const [value] = IDL.decode([IDL.Record({ [field]: IDL.Vec(IDL.Nat8) })], reply) as unknown as Array<Record<string, Uint8Array | number[]>>;
  const blob = value![field]!;
  return blob instanceof Uint8Array ? blob : Uint8Array.from(blob);
}
