// xxh64 of stored bytes: a cheap scrub that needs no keys (docs/FORMAT.md §3).
import xxhash from 'xxhash-wasm';

const api = await xxhash();

export function xxh64(bytes: Uint8Array): bigint {
  return api.h64Raw(bytes, 0n);
}
