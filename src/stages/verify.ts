// Restore-side checks that every chunk is exactly what was backed up: the xxh64 of the stored
// bytes before anything else touches them, and the keyed id of the final plaintext.
import { createChunkIdHasher, type ChunkIdAlgorithm } from '../crypto/chunk-id.js';
import { xxh64 } from '../crypto/checksum.js';
import { AgentvaultError } from '../errors.js';
import type { ChunkRecord } from '../types.js';
import { ChunkTransform } from './record-transform.js';

export class ChecksumVerifyStage extends ChunkTransform {
  protected transformChunk(record: ChunkRecord): ChunkRecord {
    if (record.data && record.checksum !== undefined && xxh64(record.data) !== record.checksum) {
      throw new AgentvaultError('CORRUPT', `chunk of ${this.where(record)} is corrupt (checksum mismatch)`);
    }
    return record;
  }
}

export class ChunkIdVerifyStage extends ChunkTransform {
  readonly #hasher;

  constructor(algorithm: ChunkIdAlgorithm, idKey: Buffer) {
    super();
    this.#hasher = createChunkIdHasher(algorithm, idKey);
  }

  protected transformChunk(record: ChunkRecord): ChunkRecord {
    if (record.data && record.id && !this.#hasher.id(record.data).equals(record.id)) {
      throw new AgentvaultError('CORRUPT', `chunk of ${this.where(record)} is corrupt (content does not match its id)`);
    }
    return record;
  }
}
