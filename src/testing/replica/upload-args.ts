// Decodes upload_canister_snapshot_data's argument without @dfinity/candid's decoder, whose
// every signed LEB128 in the type table copies the whole rest of the message: ~40 MB of copies
// for one 2 MB upload, nearly all of the emulator's CPU in a restore into a canister (which made
// the emulator, not agentvault, the measure of `bench/canister.ts`'s restore).
//
// The message is read against its own type table, as Candid requires, but only for the exact
// shape the interface gives (the four fields, the kind variant's four cases, no extra fields or
// cases, nothing but the types they need). Anything else returns undefined, and the caller
// decodes it with @dfinity/candid, which accepts what Candid's subtyping allows and explains
// what it refuses.
import type { upload_canister_snapshot_data_args } from '@dfinity/ic-management/dist/candid/ic-management.js';
import { Principal } from '@dfinity/principal';
import { candidFieldId } from '../../ic/blob-reply.js';

const MAGIC = [0x44, 0x49, 0x44, 0x4c]; // "DIDL"
const NULL = -1;
const NAT8 = -5;
const NAT64 = -8;
const PRINCIPAL = -24;
const VEC = -19;
const RECORD = -20;
const VARIANT = -21;

type Entry = { op: typeof VEC; of: number } | { op: typeof RECORD | typeof VARIANT; fields: Array<{ id: number; type: number }> };

/** A value read against the message's types: primitives, blobs (views), records and variants by field id. */
type Value = null | bigint | Uint8Array | Principal | { record: Map<number, Value> } | { variant: number; value: Value };

class Unsupported extends Error {}

class Reader {
  at = 0;
  constructor(readonly bytes: Uint8Array) {}

  byte(): number {
    if (this.at >= this.bytes.length) throw new Unsupported();
    return this.bytes[this.at++]!;
  }

  uleb(): number {
    let value = 0;
    for (let scale = 1; scale <= 2 ** 49; scale *= 128) {
      const byte = this.byte();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
    }
    throw new Unsupported();
  }

  sleb(): number {
    let value = 0;
    for (let shift = 0; shift <= 28; shift += 7) {
      const byte = this.byte();
      value |= (byte & 0x7f) << shift;
      if (byte < 0x80) return byte & 0x40 ? value - 2 ** (shift + 7) : value;
    }
    throw new Unsupported();
  }

  take(length: number): Uint8Array {
    if (this.at + length > this.bytes.length) throw new Unsupported();
    this.at += length;
    return this.bytes.subarray(this.at - length, this.at);
  }
}

function readTypeTable(r: Reader): Entry[] {
  const count = r.uleb();
  if (count > 64) throw new Unsupported();
  const table: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const op = r.sleb();
    if (op === VEC) table.push({ op, of: r.sleb() });
    else if (op === RECORD || op === VARIANT) {
      const n = r.uleb();
      if (n > 64) throw new Unsupported();
      const fields = Array.from({ length: n }, () => ({ id: r.uleb(), type: r.sleb() }));
      table.push({ op, fields });
    } else throw new Unsupported();
  }
  return table;
}

function readValue(r: Reader, table: Entry[], type: number, depth = 0): Value {
  if (depth > 8) throw new Unsupported();
  switch (type) {
    case NULL:
      return null;
    case NAT64: {
      const bytes = r.take(8);
      return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
    }
    case PRINCIPAL:
      if (r.byte() !== 1) throw new Unsupported(); // 0 would be an opaque reference
      return Principal.fromUint8Array(Uint8Array.from(r.take(r.uleb())));
  }
  const entry = type >= 0 ? table[type] : undefined;
  if (!entry) throw new Unsupported();
  if (entry.op === VEC) {
    if (entry.of !== NAT8) throw new Unsupported();
    return r.take(r.uleb());
  }
  if (entry.op === RECORD) return { record: new Map(entry.fields.map((f) => [f.id, readValue(r, table, f.type, depth + 1)])) };
  const index = r.uleb();
  const field = entry.fields[index];
  if (!field) throw new Unsupported();
  return { variant: field.id, value: readValue(r, table, field.type, depth + 1) };
}

const id = candidFieldId;
const KINDS = ['wasm_module', 'wasm_memory', 'stable_memory'] as const;

function fields(value: Value, names: readonly string[]): Map<number, Value> {
  if (value === null || typeof value !== 'object' || !('record' in value)) throw new Unsupported();
  if (value.record.size !== names.length || names.some((n) => !value.record.has(id(n)))) throw new Unsupported();
  return value.record;
}

function blob(value: Value | undefined): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new Unsupported();
  return value;
}

function kindOf(value: Value | undefined): upload_canister_snapshot_data_args['kind'] {
  if (value === null || typeof value !== 'object' || !('variant' in value)) throw new Unsupported();
  if (value.variant === id('wasm_chunk')) {
    if (value.value !== null) throw new Unsupported();
    return { wasm_chunk: null };
  }
  const name = KINDS.find((k) => id(k) === value.variant);
  if (!name) throw new Unsupported();
  const offset = fields(value.value, ['offset']).get(id('offset'));
  if (typeof offset !== 'bigint') throw new Unsupported();
  return { [name]: { offset } } as upload_canister_snapshot_data_args['kind'];
}

/**
 * The argument, with `snapshot_id` and `chunk` as views into `arg`; or undefined when the
 * message is anything but that shape, encoded whole (decode it with @dfinity/candid then).
 */
export function decodeUploadDataArgs(arg: Uint8Array): upload_canister_snapshot_data_args | undefined {
  if (arg.length < 4 || MAGIC.some((b, i) => arg[i] !== b)) return undefined;
  try {
    const r = new Reader(arg);
    r.at = 4;
    const table = readTypeTable(r);
    if (r.uleb() !== 1) return undefined;
    const value = readValue(r, table, r.sleb());
    if (r.at !== arg.length) return undefined;
    const record = fields(value, ['canister_id', 'snapshot_id', 'kind', 'chunk']);
    const canisterId = record.get(id('canister_id'));
    if (!(canisterId instanceof Principal)) return undefined;
    return { canister_id: canisterId, snapshot_id: blob(record.get(id('snapshot_id'))), kind: kindOf(record.get(id('kind'))), chunk: blob(record.get(id('chunk'))) };
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}
