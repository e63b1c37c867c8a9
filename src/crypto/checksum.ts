// xxh64 of stored bytes: a cheap scrub that needs no keys (docs/FORMAT.md §3).
//
// xxhash-wasm only instantiates asynchronously. This module used to await it at the top level,
// and that made every module importing it, which is most of the CLI, an async module. V8 then
// crashed now and then while evaluating the graph: "Check failed: (location_) != nullptr" in
// SourceTextModule::ExecuteAsyncModule (nodejs/node#53238, #60755), once in ~500 CLI starts
// here. So the WebAssembly is started at import and not awaited. The few calls that could come
// in the milliseconds before it is ready are served by the plain-JavaScript xxh64 below, which
// gives the same values.
import xxhash from 'xxhash-wasm';

type XxhashApi = Awaited<ReturnType<typeof xxhash>>;

let api: XxhashApi | undefined;
/** Resolves once the WebAssembly xxh64 serves every call. */
export const checksumsReady: Promise<void> = xxhash().then((ready) => {
  api = ready;
});

/** Which implementation serves calls now: 'js' only until the WebAssembly is ready. */
export function checksumBackend(): 'wasm' | 'js' {
  return api ? 'wasm' : 'js';
}

export function xxh64(bytes: Uint8Array): bigint {
  return api ? api.h64Raw(bytes, 0n) : xxh64Js(bytes);
}

/** Incremental xxh64, for checksums over whole streams. */
export function createXxh64(): { update(bytes: Uint8Array): void; digest(): bigint } {
  if (api) return wasmHasher(api);
  // Not ready yet: keep the bytes until it is (milliseconds), then hand them over.
  let pending: Uint8Array[] | undefined = [];
  let hasher: ReturnType<typeof wasmHasher> | undefined;
  const switchOver = () => {
    if (hasher || !api) return;
    hasher = wasmHasher(api);
    for (const part of pending!) hasher.update(part);
    pending = undefined;
  };
  return {
    update(bytes) {
      switchOver();
      if (hasher) hasher.update(bytes);
      else pending!.push(Uint8Array.from(bytes));
    },
    digest() {
      switchOver();
      return hasher ? hasher.digest() : xxh64Js(Buffer.concat(pending!));
    },
  };
}

function wasmHasher(ready: XxhashApi): { update(bytes: Uint8Array): void; digest(): bigint } {
  const h = ready.create64(0n);
  return {
    update: (bytes) => void h.update(bytes),
    digest: () => h.digest(),
  };
}

// ---- xxh64 in plain JavaScript (seed 0), for the moments before the WebAssembly is ready ----

const MASK = (1n << 64n) - 1n;
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;

const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & MASK;
const round = (acc: bigint, lane: bigint) => (rotl((acc + lane * P2) & MASK, 31n) * P1) & MASK;
const merge = (h: bigint, v: bigint) => (((h ^ round(0n, v)) * P1 + P4) & MASK);

/** The reference algorithm, one call over the whole input; exported for the tests. */
export function xxh64Js(bytes: Uint8Array): bigint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = bytes.byteLength;
  let at = 0;
  let h: bigint;
  if (len >= 32) {
    let v1 = (P1 + P2) & MASK;
    let v2 = P2;
    let v3 = 0n;
    let v4 = (MASK + 1n - P1) & MASK;
    for (; at + 32 <= len; at += 32) {
      v1 = round(v1, view.getBigUint64(at, true));
      v2 = round(v2, view.getBigUint64(at + 8, true));
      v3 = round(v3, view.getBigUint64(at + 16, true));
      v4 = round(v4, view.getBigUint64(at + 24, true));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & MASK;
    h = merge(merge(merge(merge(h, v1), v2), v3), v4);
  } else {
    h = P5;
  }
  h = (h + BigInt(len)) & MASK;
  for (; at + 8 <= len; at += 8) h = ((rotl(h ^ round(0n, view.getBigUint64(at, true)), 27n) * P1) + P4) & MASK;
  if (at + 4 <= len) {
    h = ((rotl(h ^ ((BigInt(view.getUint32(at, true)) * P1) & MASK), 23n) * P2) + P3) & MASK;
    at += 4;
  }
  for (; at < len; at++) h = (rotl(h ^ ((BigInt(bytes[at]!) * P5) & MASK), 11n) * P1) & MASK;
  h ^= h >> 33n;
  h = (h * P2) & MASK;
  h ^= h >> 29n;
  h = (h * P3) & MASK;
  h ^= h >> 32n;
  return h;
}
