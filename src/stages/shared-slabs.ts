// Reusable shared memory for workers to write their output into. A slab is lent for one task and
// comes back when every piece of it has been released by whoever consumed the output (the
// repository sink, once it has copied a chunk into its pack). Nothing is freed and allocated again
// per task: fresh buffers per sealed batch, freed later on another thread, fragmented the workers' malloc
// arenas and cost a page fault per 4 KiB.

export interface LentSlab {
  readonly buffer: SharedArrayBuffer;
  /** Returns the slab once called `pieces` times (more calls are ignored). */
  readonly release: () => void;
}

export class SharedSlabs {
  readonly #free: SharedArrayBuffer[] = [];
  #lent = 0;
  #closed = false;

  /**
   * @param slabBytes size of every pooled slab
   * @param maxLent slabs out at once; past it `lend` declines, so a consumer that never releases
   *   costs the caller its fallback, not unbounded shared memory (a SharedArrayBuffer is freed only
   *   once every thread that saw it has collected its handle)
   */
  constructor(
    readonly slabBytes: number,
    readonly maxLent: number,
  ) {}

  /** A slab of at least `bytes` for output in `pieces` parts, or undefined (too large, or too many out). */
  lend(bytes: number, pieces: number): LentSlab | undefined {
    if (this.#closed || bytes > this.slabBytes || this.#lent >= this.maxLent || pieces < 1) return undefined;
    const buffer = this.#free.pop() ?? new SharedArrayBuffer(this.slabBytes);
    this.#lent++;
    let left = pieces;
    const release = () => {
      if (left <= 0) return;
      if (--left === 0) {
        this.#lent--;
        if (!this.#closed) this.#free.push(buffer);
      }
    };
    return { buffer, release };
  }

  /** Keeps no slab from now on (those still lent are dropped when released), so they can be freed. */
  close(): void {
    this.#closed = true;
    this.#free.length = 0;
  }

  /** Slabs lent and not yet back. */
  get lent(): number {
    return this.#lent;
  }
}
