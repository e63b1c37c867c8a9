// Writes that bypass the page cache (O_DIRECT), for files that are synced as soon as they are
// written (packs), when a local store is asked for them (LocalBackendOptions.directIo). Filling
// the page cache is not free: on the 2-core VM the benchmarks run on, the kernel's copy into
// freshly allocated cache pages took ~0.45 CPU-s per GiB backed up, ~10% of the backup's time,
// and a backup's packs push other files' pages out. The price: a restore right after the backup
// reads every pack from the disk instead of memory (the bench's restore: 3.3 s instead of 2.0 s
// per GiB), which is why it is not the default (bench/README.md).
//
// O_DIRECT wants the memory, the file offset and the length aligned to the device's block size.
// Node cannot align an allocation, but V8 maps every WebAssembly memory on a page boundary, so
// `alignedBuffer` takes its buffers from there (large-buffer.ts), which remembers them: only
// those, at an aligned file offset, go direct. Everything else — the unaligned tail of a file, any other buffer — is written
// through the page cache as before, and so is everything on a filesystem that refuses O_DIRECT.
import { constants as fsConstants } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import { isAlignedView, pageAlignedBuffer } from '../large-buffer.js';

/** Alignment of memory, offset and length for a direct write (the largest logical block size in use). */
export const DIRECT_IO_BLOCK = 4096;

/** A buffer that can be written with O_DIRECT (page-aligned memory, from large-buffer.ts). */
export const alignedBuffer = pageAlignedBuffer;

/**
 * How many of `bytes`, written at file offset `position`, may go direct: whole blocks from the
 * start, when the memory comes from `alignedBuffer` and both it and the offset are block-aligned;
 * otherwise 0.
 */
export function directPrefix(bytes: Uint8Array, position: number): number {
  if (!isAlignedView(bytes, DIRECT_IO_BLOCK) || position % DIRECT_IO_BLOCK !== 0) return 0;
  return bytes.byteLength - (bytes.byteLength % DIRECT_IO_BLOCK);
}

/** O_DIRECT where this platform has it (Linux); undefined elsewhere (macOS has no such flag). */
const O_DIRECT: number | undefined = (fsConstants as { O_DIRECT?: number }).O_DIRECT;

/**
 * A second, direct handle on a file already open for writing, or undefined where the platform
 * or filesystem has no O_DIRECT (tmpfs refuses it with EINVAL).
 */
export async function openDirect(file: string): Promise<FileHandle | undefined> {
  if (O_DIRECT === undefined) return undefined;
  try {
    return await fs.open(file, fsConstants.O_WRONLY | O_DIRECT);
  } catch (err) {
    if (isUnsupported(err)) return undefined;
    throw err;
  }
}

/**
 * The direct side of one file being written: block-aligned runs of aligned buffers go through a
 * second handle opened with O_DIRECT on first use. When the filesystem refuses (at open or at the
 * first write), `refused` is told, and every byte goes the ordinary way from then on.
 */
export class DirectWriter {
  #handle: FileHandle | undefined;
  #state: 'unopened' | 'open' | 'refused' = 'unopened';
  /** Bytes written around the page cache so far. */
  bytes = 0;

  constructor(
    readonly file: string,
    readonly refused: () => void = () => undefined,
  ) {}

  /**
   * Writes the part of `bytes` (for file offset `position`) that can go direct, and returns its
   * length; the caller writes the rest. 0: nothing was written.
   */
  async writePrefix(bytes: Uint8Array, position: number): Promise<number> {
    const length = this.#state === 'refused' ? 0 : directPrefix(bytes, position);
    if (length === 0) return 0;
    const handle = await this.#open();
    if (!handle) return 0;
    let done = 0;
    try {
      while (done < length) done += (await handle.write(bytes, done, length - done, position + done)).bytesWritten;
    } catch (err) {
      // Refused before anything was written (a partial direct write does not fail): go the usual way.
      if (done === 0 && isUnsupported(err)) {
        await this.#refuse();
        return 0;
      }
      throw err;
    }
    this.bytes += done;
    return done;
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }

  async #open(): Promise<FileHandle | undefined> {
    if (this.#state === 'unopened') {
      this.#handle = await openDirect(this.file);
      if (this.#handle) this.#state = 'open';
      else await this.#refuse();
    }
    return this.#handle;
  }

  async #refuse(): Promise<void> {
    this.#state = 'refused';
    this.refused();
    await this.close();
  }
}

/** The errors by which a filesystem says it does not do direct I/O (or not with this alignment). */
export function isUnsupported(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EINVAL' || code === 'EOPNOTSUPP' || code === 'ENOTSUP';
}
