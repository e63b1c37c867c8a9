// Large buffers from outside malloc. glibc raises its mmap threshold to the size of the largest
// mmapped block freed so far (up to 32 MiB) and lets every thread's arena keep twice that much
// free memory: once a 10-15 MiB manifest had been read, decrypted and decoded through ordinary
// buffers, a 4 GiB restore's RSS climbed from ~212 MiB to 217-269 (with the threshold fixed by
// MALLOC_MMAP_THRESHOLD_ it stayed at 189; with these buffers it peaks at 189-215, no climb).
// V8 maps each WebAssembly memory itself, so buffers taken from one are invisible to malloc;
// their memory also starts on a page boundary, which is what O_DIRECT needs (backend/direct-io.ts).

// The one WebAssembly global used here (this project's lib settings carry no DOM types).
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number }) => { readonly buffer: ArrayBuffer };
};

const WASM_PAGE = 64 << 10;

/** Below this malloc serves from its arenas anyway (glibc's initial mmap threshold): a plain buffer. */
export const LARGE_BUFFER_BYTES = 128 << 10;

/** Buffers whose memory is known to start on a page boundary. */
const pageAligned = new WeakSet<ArrayBufferLike>();

/**
 * WebAssembly memories alive at once, at most; past it, plain buffers. Each reserves ~10 GiB of
 * address space (V8's guard regions), and 128 TiB ran out at ~13,000 — after which every failed
 * attempt cost collections, and other reservations could fail too. (A prune of a repository with
 * thousands of large backups holds all their chunk tables at once.)
 */
export const MAX_LIVE_WASM_MEMORIES = 512;
let liveMemories = 0;
const memoryCollected = new FinalizationRegistry<undefined>(() => {
  liveMemories--;
});

/**
 * A buffer of `bytes` (uninitialised for small ones, zeroed for large ones) that malloc never
 * sees once it is at least LARGE_BUFFER_BYTES; a plain one below, or if no WebAssembly memory can
 * be had.
 */
export function largeBuffer(bytes: number): Buffer {
  return bytes >= LARGE_BUFFER_BYTES ? pageAlignedBuffer(bytes) : Buffer.allocUnsafe(bytes);
}

/** A zeroed Int32Array (hash tables), from outside malloc when large. */
export function largeInt32Array(length: number): Int32Array {
  if (length * 4 < LARGE_BUFFER_BYTES) return new Int32Array(length);
  const bytes = pageAlignedBuffer(length * 4);
  return new Int32Array(bytes.buffer, bytes.byteOffset, length);
}

/**
 * A zeroed buffer whose memory starts on a page boundary; past MAX_LIVE_WASM_MEMORIES, or without
 * WebAssembly memory, a plain zeroed one (not known to be aligned).
 */
export function pageAlignedBuffer(bytes: number): Buffer {
  if (liveMemories >= MAX_LIVE_WASM_MEMORIES) return Buffer.alloc(bytes);
  try {
    const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / WASM_PAGE)) });
    liveMemories++;
    memoryCollected.register(memory.buffer, undefined);
    pageAligned.add(memory.buffer);
    return Buffer.from(memory.buffer, 0, bytes);
  } catch {
    return Buffer.alloc(bytes);
  }
}

/** Whether `bytes` starts at `alignment` (a divisor of 64 KiB) in memory known to be page-aligned. */
export function isAlignedView(bytes: Uint8Array, alignment: number): boolean {
  return pageAligned.has(bytes.buffer) && bytes.byteOffset % alignment === 0;
}
