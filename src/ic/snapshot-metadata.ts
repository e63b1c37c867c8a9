// A snapshot's metadata as `metadata.json` in the layout `dfx canister snapshot download` and
// `icp canister snapshot download` write (serde JSON of the management canister's metadata
// record: snake_case fields, blobs as byte arrays, variants as objects or strings). u64 values
// are written as exact JSON integers; they are read back without losing precision.
// Compatibility with dfx's own reader is inferred from its serde attributes, not tested against
// dfx itself (no dfx on these machines); agentvault reads back exactly what it writes.
import { AgentvaultError } from '../errors.js';
import type { SnapshotMetadata } from './management.js';

type Global = SnapshotMetadata['globals'][number];

const U64_FIELDS = ['taken_at_timestamp', 'wasm_module_size', 'wasm_memory_size', 'stable_memory_size', 'canister_version', 'active'];

export function encodeSnapshotMetadata(m: SnapshotMetadata): Buffer {
  const json = {
    source: 'metadataUpload' in m.source ? { metadata_upload: null } : { taken_from_canister: null },
    taken_at_timestamp: m.takenAtTimestamp,
    wasm_module_size: m.wasmModuleSize,
    globals: m.globals.map((g) => {
      const [k, v] = Object.entries(g)[0]!;
      return { [k]: typeof v === 'bigint' ? (k === 'v128' ? v.toString() : v) : v };
    }),
    wasm_memory_size: m.wasmMemorySize,
    stable_memory_size: m.stableMemorySize,
    wasm_chunk_store: m.wasmChunkStore.map((c) => ({ hash: [...c.hash] })),
    canister_version: m.canisterVersion,
    certified_data: [...m.certifiedData],
    global_timer: m.globalTimer === undefined ? null : 'active' in m.globalTimer ? { active: m.globalTimer.active } : 'inactive',
    on_low_wasm_memory_hook_status:
      m.onLowWasmMemoryHookStatus === undefined ? null : 'ready' in m.onLowWasmMemoryHookStatus ? 'ready' : 'executed' in m.onLowWasmMemoryHookStatus ? 'executed' : 'condition_not_satisfied',
  };
  return Buffer.from(JSON.stringify(json, (_k, v: unknown) => (typeof v === 'bigint' ? `__u64:${v}` : v), 2).replace(/"__u64:(\d+)"/g, '$1') + '\n');
}

export function decodeSnapshotMetadata(bytes: Buffer, where: string): SnapshotMetadata {
  // Quote long integers before JSON.parse so u64 values keep every digit.
  const text = bytes.toString('utf8').replace(new RegExp(`"(${U64_FIELDS.join('|')})"\\s*:\\s*(\\d+)`, 'g'), '"$1":"$2"');
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new AgentvaultError('CORRUPT', `${where} is not valid JSON`);
  }
  const bad = (why: string): never => {
    throw new AgentvaultError('CORRUPT', `${where} is not a snapshot metadata file: ${why}`);
  };
  const u64 = (k: string): bigint => {
    const v = j[k];
    if (typeof v !== 'string' && typeof v !== 'number') bad(`missing ${k}`);
    return BigInt(v as string | number);
  };
  const bytesOf = (v: unknown, k: string): Uint8Array => {
    if (!Array.isArray(v) || v.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) bad(`${k} is not a byte array`);
    return Uint8Array.from(v as number[]);
  };
  if (!Array.isArray(j.globals)) bad('missing globals');
  const globals = (j.globals as Array<Record<string, unknown>>).map((g): Global => {
    const [k, v] = Object.entries(g)[0] ?? bad('empty global');
    switch (k) {
      case 'i32':
      case 'f32':
      case 'f64':
        return { [k]: Number(v) } as Global;
      case 'i64':
      case 'v128':
        return { [k]: BigInt(v as string | number) } as Global;
      default:
        return bad(`unknown global type ${k}`);
    }
  });
  const timer = j.global_timer;
  const hook = j.on_low_wasm_memory_hook_status;
  const source = j.source as Record<string, unknown> | string | undefined;
  return {
    source: (typeof source === 'object' && source !== null && 'metadata_upload' in source) || source === 'metadata_upload' ? { metadataUpload: null } : { takenFromCanister: null },
    takenAtTimestamp: u64('taken_at_timestamp'),
    wasmModuleSize: u64('wasm_module_size'),
    globals,
    wasmMemorySize: u64('wasm_memory_size'),
    stableMemorySize: u64('stable_memory_size'),
    wasmChunkStore: (Array.isArray(j.wasm_chunk_store) ? (j.wasm_chunk_store as Array<{ hash: unknown }>) : []).map((c) => ({ hash: bytesOf(c.hash, 'a chunk hash') })),
    canisterVersion: j.canister_version === undefined ? 0n : u64('canister_version'),
    certifiedData: bytesOf(j.certified_data ?? [], 'certified_data'),
    ...(timer === null || timer === undefined ? {} : { globalTimer: timer === 'inactive' ? { inactive: null } : { active: BigInt((timer as { active: string }).active) } }),
    ...(hook === null || hook === undefined
      ? {}
      : { onLowWasmMemoryHookStatus: hook === 'ready' ? { ready: null } : hook === 'executed' ? { executed: null } : { conditionNotSatisfied: null } }),
  };
}
