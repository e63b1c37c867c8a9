// Gives each chunk its id: the keyed hash of its plaintext (docs/FORMAT.md §3).
import { createChunkIdHasher, type ChunkIdAlgorithm } from '../crypto/chunk-id.js';
import type { ChunkRecord } from '../types.js';
import { ChunkTransform } from './record-transform.js';

export class HashStage extends ChunkTransform {
  readonly #hasher;

  constructor(algorithm: ChunkIdAlgorithm, idKey: Buffer) {
    super();
    this.#hasher = createChunkIdHasher(algorithm, idKey);
  }

  protected transformChunk(record: ChunkRecord): ChunkRecord {
    if (record.data) record.id = this.#hasher.id(record.data);
    return record;
  }
}
