// Drops the bytes of chunks the destination already holds, or that this run already stores:
// they are referenced, not stored again. Incremental backups are this stage with a fuller index.
import { AgentvaultError } from '../errors.js';
import { IdSet } from '../repository/id-set.js';
import type { ChunkRecord } from '../types.js';
import { ChunkTransform } from './record-transform.js';

export interface ChunkLookup {
  has(id: Buffer): boolean;
}

export class DedupStage extends ChunkTransform {
  readonly #seen = new IdSet();

  constructor(readonly destination: ChunkLookup) {
    super();
  }

  protected transformChunk(record: ChunkRecord): ChunkRecord {
    if (!record.id) throw new AgentvaultError('INPUT', 'dedup stage needs chunk ids: put the hash stage before it');
    if (this.#seen.has(record.id) || this.destination.has(record.id)) {
      record.known = true;
      record.data = null;
    } else {
      this.#seen.add(record.id);
    }
    return record;
  }
}
