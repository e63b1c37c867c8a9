// Sparse writing: which parts of a buffer, about to be written at a file position, are whole
// file blocks of zeros that can be left as holes. Restores of canister memory images are mostly
// zero pages; leaving them unwritten saves the disk space and the kernel's copy (restic, borg and
// kopia offer the same as an option). Holes read back as zeros, so the content is the same.

/** The hole granularity assumed: the page size, and the block size of common file systems. */
export const SPARSE_BLOCK = 4096;

const ZEROS = Buffer.alloc(1 << 16);

/** Whether bytes[start, end) are all zero. */
export function allZero(bytes: Uint8Array, start: number, end: number): boolean {
  for (let at = start; at < end; at += ZEROS.length) {
    const n = Math.min(ZEROS.length, end - at);
    if (Buffer.compare(ZEROS.subarray(0, n), bytes.subarray(at, at + n)) !== 0) return false;
  }
  return true;
}

export interface ByteRun {
  readonly start: number;
  readonly end: number;
  /** The run is whole blocks of zeros: leave it unwritten. */
  readonly hole: boolean;
}

/**
 * Splits bytes[0, length), bound for file offset `position`, into alternating runs to write and
 * runs that are whole zero blocks (aligned in the file, not in the buffer). Partial blocks at
 * either end are always written: a neighbouring range may hold the rest of the block.
 */
export function* zeroBlockRuns(bytes: Uint8Array, length: number, position: number): Generator<ByteRun> {
  let start = 0;
  let hole = false;
  let at = 0;
  while (at < length) {
    const blockEnd = Math.min(length, SPARSE_BLOCK * (Math.floor((position + at) / SPARSE_BLOCK) + 1) - position);
    const zeroBlock = blockEnd - at === SPARSE_BLOCK && bytes[at] === 0 && allZero(bytes, at, blockEnd);
    if (zeroBlock !== hole && at > start) {
      yield { start, end: at, hole };
      start = at;
    }
    hole = zeroBlock;
    at = blockEnd;
  }
  if (length > start) yield { start, end: length, hole };
}
