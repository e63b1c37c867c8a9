// Base class of the per-chunk stages: entry records pass through untouched, chunk records are
// transformed one at a time. Keeps entry names so errors can say where a chunk belongs.
import { Transform, type TransformCallback } from 'node:stream';
import type { ChunkRecord, PipelineRecord } from '../types.js';

/** Object-mode buffering per stage: enough to keep both sides busy, small enough to bound memory. */
export const STAGE_HIGH_WATER_MARK = 64;

export abstract class ChunkTransform extends Transform {
  readonly #entryNames = new Map<number, string>();

  constructor() {
    super({ objectMode: true, highWaterMark: STAGE_HIGH_WATER_MARK });
  }

  protected abstract transformChunk(record: ChunkRecord): ChunkRecord;

  /** "entry \"name\" at offset N" for messages. */
  protected where(record: ChunkRecord): string {
    const name = this.#entryNames.get(record.entry);
    return `${name !== undefined ? `entry ${JSON.stringify(name)}` : `entry #${record.entry}`} at offset ${record.offset}`;
  }

  override _transform(record: PipelineRecord, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      if (record.type === 'chunk') {
        callback(null, this.transformChunk(record));
        return;
      }
      if (record.type === 'entry') this.#entryNames.set(record.entry.index, record.entry.name);
      else if (record.type === 'entry-end') this.#entryNames.delete(record.entry);
      callback(null, record);
    } catch (err) {
      callback(err as Error);
    }
  }
}
