// A set of 32-byte chunk ids in one buffer, with an open-addressing table of positions: ~40-50
// bytes per id, against ~110 for a Set of latin1 strings. Backups keep one entry per distinct chunk
// they meet (and full backups one per chunk any backup references), so this is what grows with
// the data.
import { largeBuffer, largeInt32Array } from '../large-buffer.js';

const ID = 32;

export class IdSet {
  #ids: Buffer = Buffer.alloc(0);
  #count = 0;
  /** Position + 1 of an id in #ids (0: empty); the length is a power of two, at most half full. */
  #slots: Int32Array = new Int32Array(1024);

  get size(): number {
    return this.#count;
  }

  has(id: Uint8Array): boolean {
    return this.#slots[this.#slot(id)] !== 0;
  }

  /** Adds the id; false when it was already there. */
  add(id: Uint8Array): boolean {
    if (id.length !== ID) throw new RangeError(`a chunk id is ${ID} bytes, not ${id.length}`);
    const s = this.#slot(id);
    if (this.#slots[s] !== 0) return false;
    if (this.#ids.length < (this.#count + 1) * ID) {
      // Each growth frees the old table: large ones from outside malloc (large-buffer.ts).
      const grown = largeBuffer(Math.max(64 * ID, Math.ceil(this.#ids.length * 1.5)));
      this.#ids.copy(grown, 0, 0, this.#count * ID);
      this.#ids = grown;
    }
    this.#ids.set(id, this.#count * ID);
    this.#count++;
    if (this.#count * 2 > this.#slots.length) this.#rehash();
    else this.#slots[s] = this.#count;
    return true;
  }

  /** The slot holding the id, or the empty slot where it would go. */
  #slot(id: Uint8Array): number {
    const mask = this.#slots.length - 1;
    const ids = this.#ids;
    let s = (id[0]! | (id[1]! << 8) | (id[2]! << 16) | (id[3]! << 24)) & mask;
    for (;;) {
      const held = this.#slots[s]!;
      if (held === 0) return s;
      const at = (held - 1) * ID;
      if (ids.compare(id, 0, ID, at, at + ID) === 0) return s;
      s = (s + 1) & mask;
    }
  }

  #rehash(): void {
    this.#slots = largeInt32Array(this.#slots.length * 2);
    const mask = this.#slots.length - 1;
    for (let n = 1; n <= this.#count; n++) {
      const at = (n - 1) * ID;
      let s = this.#ids.readUInt32LE(at) & mask;
      while (this.#slots[s] !== 0) s = (s + 1) & mask;
      this.#slots[s] = n;
    }
  }
}
