// Decodes a Candid reply of the shape `record { <field> : blob }` (read_canister_snapshot_data's)
// without copying the blob, and without @dfinity/candid's decoder on the fast path: that one
// copies the whole remaining message for every signed LEB128 in the type table, so a 2 MB reply
// cost ~20 MB of copies. Any other encoding of the type (other fields, other type-table
// layouts, anything unexpected) goes to @dfinity/candid, which decodes it or says why not.
import { IDL } from '@dfinity/candid';
import { candidFieldId, CandidReader, NAT8, NotThisShape, readHeader, RECORD, VEC } from './candid-reader.js';

/** The reader at the blob's length, or undefined when the message is not the one simple encoding the fast path reads. */
function atBlob(reply: Uint8Array, field: number): CandidReader | undefined {
  try {
    const { reader, table } = readHeader(reply, [VEC, RECORD], 16);
    if (reader.uleb() !== 1) return undefined;
    const argType = reader.sleb();
    const record = argType >= 0 ? table[argType] : undefined;
    if (record?.op !== RECORD || record.fields.length !== 1 || record.fields[0]!.id !== field) return undefined;
    const blobType = record.fields[0]!.type;
    const blob = blobType >= 0 ? table[blobType] : undefined;
    return blob?.op === VEC && blob.of === NAT8 ? reader : undefined;
  } catch (error) {
    if (error instanceof NotThisShape) return undefined;
    throw error;
  }
}

/**
 * The blob, or undefined when the message is not the one simple encoding the fast path reads.
 * Throws when it is, but the blob's length does not match the message's.
 */
function fastPath(reply: Uint8Array, field: number): Uint8Array | undefined {
  const r = atBlob(reply, field);
  if (!r) return undefined;
  // The type is the one expected, so the value must be exactly the blob: @dfinity/candid would
  // hand back a short blob from a message cut short.
  let length: number | undefined;
  try {
    length = r.uleb();
  } catch (error) {
    if (!(error instanceof NotThisShape)) throw error;
  }
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
