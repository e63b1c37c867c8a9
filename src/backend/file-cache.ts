// Keeps a few files open for positional reads, closing the least recently used idle one when
// full. Restore reads thousands of chunks from each pack: one open per pack, not per chunk.
import type { FileType, RandomAccessFile, ReadableStore } from './backend.js';

interface Slot {
  readonly file: Promise<RandomAccessFile>;
  inFlight: number;
}

export class OpenFileCache {
  readonly #slots = new Map<string, Slot>();

  constructor(
    readonly store: ReadableStore,
    readonly type: FileType,
    readonly capacity = 16,
  ) {}

  async read(name: string, offset: number, length: number, allocate?: (length: number) => Buffer): Promise<Buffer> {
    let slot = this.#slots.get(name);
    if (slot) {
      this.#slots.delete(name); // re-insert: Map order is our LRU order
    } else {
      this.#evictIdle();
      const file = this.store.openFile(this.type, name);
      file.catch(() => undefined);
      slot = { file, inFlight: 0 };
    }
    this.#slots.set(name, slot);
    slot.inFlight++;
    try {
      return await (await slot.file).read(offset, length, allocate);
    } catch (err) {
      // A file that failed to open is not cached: a later copy elsewhere may still be read.
      if (this.#slots.get(name) === slot && (await slot.file.then(() => false, () => true))) this.#slots.delete(name);
      throw err;
    } finally {
      slot.inFlight--;
    }
  }

  #evictIdle(): void {
    if (this.#slots.size < this.capacity) return;
    for (const [name, slot] of this.#slots) {
      if (slot.inFlight > 0) continue;
      this.#slots.delete(name);
      void slot.file.then((f) => f.close()).catch(() => undefined);
      return;
    }
  }

  async closeAll(): Promise<void> {
    const slots = [...this.#slots.values()];
    this.#slots.clear();
    await Promise.all(slots.map((s) => s.file.then((f) => f.close()).catch(() => undefined)));
  }
}
