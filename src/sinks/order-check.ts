// Every chunk verifies on its own, so a chunk in the wrong place would not be caught by its id:
// sinks check that each chunk starts exactly where the previous one of its entry ended, and that
// an entry's chunks add up to its size, so a reordering bug can never write wrong bytes quietly.
// Restore sinks also require each chunk's bytes to be there and exactly its size: a record that
// lost its data would otherwise shorten the output without failing.
import { AgentvaultError } from '../errors.js';
import type { PipelineRecord } from '../types.js';

export class ChunkOrderCheck {
  #entry = -1;
  #expected = 0;

  /**
   * `plaintext`: chunks must carry their decoded bytes (restore sinks); `positional`: or be
   * marked written, their bytes already in place (sinks that offer positional writes).
   */
  constructor(
    readonly plaintext = false,
    readonly positional = false,
  ) {}

  check(record: PipelineRecord): void {
    switch (record.type) {
      case 'entry':
        this.#entry = record.entry.index;
        this.#expected = 0;
        break;
      case 'chunk':
        if (record.entry !== this.#entry || record.offset !== this.#expected) {
          throw new AgentvaultError('CORRUPT', `internal error: chunk of entry #${record.entry} at offset ${record.offset} arrived where entry #${this.#entry} offset ${this.#expected} was due; nothing was committed`);
        }
        if (record.written && !this.positional) {
          throw new AgentvaultError('CORRUPT', `internal error: chunk of entry #${record.entry} at offset ${record.offset} is marked as written in place, but this sink takes no positional writes; nothing was committed`);
        }
        if (this.plaintext && !record.written && (record.data === null || record.data.byteLength !== record.size)) {
          throw new AgentvaultError('CORRUPT', `internal error: chunk of entry #${record.entry} at offset ${record.offset} carries ${record.data === null ? 'no bytes' : `${record.data.byteLength} bytes`} instead of ${record.size}; nothing was committed`);
        }
        this.#expected += record.size;
        break;
      case 'entry-end':
        if (record.entry !== this.#entry || record.size !== this.#expected) {
          throw new AgentvaultError('CORRUPT', `entry #${record.entry} ended after ${this.#expected} bytes of chunks, but its size is ${record.size}`);
        }
        break;
    }
  }
}
