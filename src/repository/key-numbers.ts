// Numbers the distinct wrapped data keys met, 0, 1, 2… in the order they are first met. Looked up
// by object first — a backup run seals every chunk with one key object, and the chunk index hands
// out one Buffer per pack key — and by bytes only for an object not met yet, so no 80-byte string
// is built per chunk.
export class KeyNumbers {
  readonly #byObject = new Map<Buffer, number>();
  readonly #byValue = new Map<string, number>();

  /** How many distinct keys have been numbered. */
  get count(): number {
    return this.#byValue.size;
  }

  /** The key's number; a key not met before gets the next one (equal to `count` before the call). */
  number(wrapped: Buffer): number {
    let n = this.#byObject.get(wrapped);
    if (n === undefined) {
      const value = wrapped.toString('latin1');
      n = this.#byValue.get(value);
      if (n === undefined) {
        n = this.#byValue.size;
        this.#byValue.set(value, n);
      }
      this.#byObject.set(wrapped, n);
    }
    return n;
  }
}
