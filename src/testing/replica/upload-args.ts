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
import { candidFieldId, CandidReader, NAT8, NAT64, NotThisShape, NULL, PRINCIPAL, readHeader, RECORD, VARIANT, VEC, type TypeEntry } from '../../ic/candid-reader.js';

/** A value read against the message's types: primitives, blobs (views), records and variants by field id. */
type Value = null | bigint | Uint8Array | Principal | { record: Map<number, Value> } | { variant: number; value: Value };

function readValue(r: CandidReader, table: TypeEntry[], type: number, depth = 0): Value {
  if (depth > 8) throw new NotThisShape();
  switch (type) {
    case NULL:
      return null;
    case NAT64: {
      const bytes = r.take(8);
      return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
    }
    case PRINCIPAL:
      if (r.byte() !== 1) throw new NotThisShape(); // 0 would be an opaque reference
      return Principal.fromUint8Array(Uint8Array.from(r.take(r.uleb())));
  }
  const entry = type >= 0 ? table[type] : undefined;
  if (!entry) throw new NotThisShape();
  if (entry.op === VEC) {
    if (entry.of !== NAT8) throw new NotThisShape();
    return r.take(r.uleb());
  }
  if (entry.op === RECORD) return { record: new Map(entry.fields.map((f) => [f.id, readValue(r, table, f.type, depth + 1)])) };
  const index = r.uleb();
  const field = entry.fields[index];
  if (!field) throw new NotThisShape();
  return { variant: field.id, value: readValue(r, table, field.type, depth + 1) };
}

const id = candidFieldId;
const KINDS = ['wasm_module', 'wasm_memory', 'stable_memory'] as const;

function fields(value: Value, names: readonly string[]): Map<number, Value> {
  if (value === null || typeof value !== 'object' || !('record' in value)) throw new NotThisShape();
  if (value.record.size !== names.length || names.some((n) => !value.record.has(id(n)))) throw new NotThisShape();
  return value.record;
}

function blob(value: Value | undefined): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new NotThisShape();
  return value;
}

function kindOf(value: Value | undefined): upload_canister_snapshot_data_args['kind'] {
  if (value === null || typeof value !== 'object' || !('variant' in value)) throw new NotThisShape();
  if (value.variant === id('wasm_chunk')) {
    if (value.value !== null) throw new NotThisShape();
    return { wasm_chunk: null };
  }
  const name = KINDS.find((k) => id(k) === value.variant);
  if (!name) throw new NotThisShape();
  const offset = fields(value.value, ['offset']).get(id('offset'));
  if (typeof offset !== 'bigint') throw new NotThisShape();
  return { [name]: { offset } } as upload_canister_snapshot_data_args['kind'];
}

/**
 * The argument, with `snapshot_id` and `chunk` as views into `arg`; or undefined when the
 * message is anything but that shape, encoded whole (decode it with @dfinity/candid then).
 */
export function decodeUploadDataArgs(arg: Uint8Array): upload_canister_snapshot_data_args | undefined {
  try {
    const { reader: r, table } = readHeader(arg, [VEC, RECORD, VARIANT], 64);
    if (r.uleb() !== 1) return undefined;
    const value = readValue(r, table, r.sleb());
    if (r.at !== arg.length) return undefined;
    const record = fields(value, ['canister_id', 'snapshot_id', 'kind', 'chunk']);
    const canisterId = record.get(id('canister_id'));
    if (!(canisterId instanceof Principal)) return undefined;
    return { canister_id: canisterId, snapshot_id: blob(record.get(id('snapshot_id'))), kind: kindOf(record.get(id('kind'))), chunk: blob(record.get(id('chunk'))) };
  } catch (error) {
    if (error instanceof NotThisShape) return undefined;
    throw error;
  }
}
