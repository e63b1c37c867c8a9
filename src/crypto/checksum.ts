// xxh64 of stored bytes: a cheap scrub that needs no keys (docs/FORMAT.md §3).
import xxhash from 'xxhash-wasm';

const api = await xxhash();

export function xxh64(bytes: Uint8Array): bigint {
  return api.h64Raw(bytes, 0n);
}

/** Incremental xxh64, for checksums over whole streams. */
export function createXxh64(): { update(bytes: Uint8Array): void; digest(): bigint } {
  const h = api.create64(0n);
  return {
    update: (bytes) => void h.update(bytes),
    digest: () => h.digest(),
  };
}
