// A restore sink that keeps nothing: every chunk is still read and opened (checksum, decrypt,
// decompress, verify the keyed id) before it gets here. It offers positional writes to a target
// that is nowhere, so with workers the chunks are opened where they are read and no plaintext
// travels back to this thread (`backup restore --verify`, the check before a canister upload).
import { Writable } from 'node:stream';
import type { PipelineRecord } from '../types.js';
import { NO_TARGET } from '../workers/restore-protocol.js';
import type { PositionalTarget } from './files.js';
import { ChunkOrderCheck } from './order-check.js';

export class VerifySink extends Writable implements PositionalTarget {
  readonly #order = new ChunkOrderCheck(true, true);
  #bytes = 0;

  constructor() {
    super({ objectMode: true, highWaterMark: 16 });
  }

  /** Plaintext bytes that arrived verified. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Nothing is written, so nothing is sparse. */
  readonly sparse = false;

  entryPath(): Promise<string> {
    return Promise.resolve(NO_TARGET);
  }

  override _write(record: PipelineRecord, _e: BufferEncoding, callback: (err?: Error | null) => void): void {
    try {
      this.#order.check(record);
      if (record.type === 'chunk') this.#bytes += record.size;
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }
}
