// Writes stored chunks into pack files as they arrive (docs/FORMAT.md §4), the way restic's
// packer does: each blob is copied into one of two write buffers that go to the pack's pending
// file in large writes, so a pack is never held whole in memory; a full pack is finished (trailer,
// fsync, rename) in the background while the next one fills.
//
// Before, a backup assembled each 16 MiB pack in memory and the sink waited for it to be synced:
// ~40 ms per pack, nearly all fsync, with the whole pipeline held still (~1 s per GiB), and the
// stored bytes of a pack and a half alive at any time.
import type { PendingFile, WritableStore } from '../backend/backend.js';
import { alignedBuffer } from '../backend/direct-io.js';
import type { IndexedPackTable } from './index-format.js';
import { PackLayout, type PackItem } from './pack-format.js';

export interface PackWriterOptions {
  /** Close a pack once it reaches this many bytes (header and blobs). */
  readonly packSize: number;
  /** Seals pack trailers (encrypted repositories). */
  readonly metaKey?: Buffer;
  /** Packs finishing (trailer, fsync, rename) at once while the next one fills; default 2. */
  readonly finishing?: number;
  /** Bytes per write buffer; default 2 MiB. */
  readonly bufferBytes?: number;
}

const DEFAULT_BUFFER_BYTES = 2 << 20;
/**
 * One filling while the other is written (a write into the page cache took ~1 ms per 2 MiB). Three
 * 4 MiB buffers, with 4 MiB input segments, were no faster and held ~40 MiB more at 4 GiB.
 */
const BUFFERS = 2;

export class PackWriter {
  #layout: PackLayout | undefined;
  #file: PendingFile | undefined;
  #buffer: Buffer | undefined;
  #filled = 0;
  /** Buffers free to fill; #buffers counts all of them. */
  readonly #free: Buffer[] = [];
  #buffers = 0;
  /** Buffers handed to the current file, oldest first, each with its write (which frees it). */
  readonly #writes: Array<Promise<void>> = [];
  /** The last write, which the next one follows: a pack's writes run one at a time, in order. */
  #writing: Promise<void> = Promise.resolve();
  /** Packs being finished, oldest first; they never reject (a failure is kept in #failed). */
  #finishing: Array<Promise<void>> = [];
  #durable: IndexedPackTable[] = [];
  #failed: Error | undefined;

  constructor(
    readonly store: WritableStore,
    readonly options: PackWriterOptions,
  ) {}

  /** Appends a blob to the current pack. Its bytes have been copied once this resolves. */
  async add(item: PackItem): Promise<void> {
    this.#throwIfFailed();
    if (!this.#layout) await this.#open();
    this.#layout!.place(item);
    await this.#append(item.stored);
    if (this.#layout!.size >= this.options.packSize) await this.#finishPack();
  }

  /** Packs made durable since the last call (synced and under their names): ready for an index. */
  takeDurable(): IndexedPackTable[] {
    const durable = this.#durable;
    this.#durable = [];
    return durable;
  }

  /** Finishes the last pack and waits until every pack is durable. */
  async close(): Promise<void> {
    if (this.#layout) await this.#finishPack();
    await Promise.all(this.#finishing);
    this.#finishing = [];
    this.#throwIfFailed();
  }

  /**
   * Drops the pack being written and waits for those being finished (they may still land: a pack
   * no index lists is reused by the next backup, or pruned).
   */
  async abort(): Promise<void> {
    const file = this.#file;
    this.#file = undefined;
    this.#layout = undefined;
    await Promise.all(this.#writes.splice(0).map((w) => w.catch(() => undefined)));
    await file?.abort();
    await Promise.all(this.#finishing);
  }

  async #open(): Promise<void> {
    const layout = new PackLayout(this.options.metaKey);
    this.#file = await this.store.create('pack', layout.packId);
    this.#layout = layout;
    await this.#append(layout.header());
  }

  async #append(bytes: Buffer): Promise<void> {
    let at = 0;
    while (at < bytes.length) {
      this.#buffer ??= await this.#takeBuffer();
      const copied = bytes.copy(this.#buffer, this.#filled, at);
      this.#filled += copied;
      at += copied;
      if (this.#filled === this.#buffer.length) this.#submit();
    }
  }

  /** A free buffer, waiting for the oldest write when all are in use. */
  async #takeBuffer(): Promise<Buffer> {
    if (this.#free.length === 0 && (this.#buffers < BUFFERS || this.#writes.length === 0)) {
      this.#buffers++;
      // Page-aligned, so a local store asked for direct I/O can write it around the page cache (direct-io.ts).
      return alignedBuffer(this.options.bufferBytes ?? DEFAULT_BUFFER_BYTES);
    }
    while (this.#free.length === 0) await this.#writes.shift();
    return this.#free.pop()!;
  }

  /** Queues the filled buffer's write to the file (after the ones before it). */
  #submit(): void {
    const buffer = this.#buffer!;
    const full = buffer.subarray(0, this.#filled);
    this.#buffer = undefined;
    this.#filled = 0;
    const file = this.#file!;
    this.#writing = this.#writing.then(async () => {
      await file.write(full);
      await file.flush();
      this.#free.push(buffer);
    });
    this.#writes.push(this.#writing);
    // Awaited when a buffer or the pack's finish needs it; until then a failure must not go unhandled.
    this.#writing.catch(() => undefined);
  }

  /** Writes out the rest of the pack's blobs, then syncs it in the background. */
  async #finishPack(): Promise<void> {
    if (this.#filled > 0) this.#submit();
    await Promise.all(this.#writes.splice(0)); // every blob is in the file
    this.#writing = Promise.resolve();
    const file = this.#file!;
    const layout = this.#layout!;
    this.#file = undefined;
    this.#layout = undefined;
    if (this.#finishing.length >= (this.options.finishing ?? 2)) await this.#finishing.shift();
    this.#throwIfFailed();
    this.#finishing.push(this.#finish(file, layout));
  }

  async #finish(file: PendingFile, layout: PackLayout): Promise<void> {
    try {
      const trailer = layout.trailer();
      await file.write(trailer);
      await file.commit();
      this.#durable.push({ packId: layout.packId, size: layout.size + trailer.length, keys: layout.keys, table: layout.table });
    } catch (err) {
      this.#failed ??= err as Error;
      await file.abort().catch(() => undefined);
    }
  }

  #throwIfFailed(): void {
    if (this.#failed) throw this.#failed;
  }
}
