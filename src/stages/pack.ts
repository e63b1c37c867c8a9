// Groups stored chunks into pack files (docs/FORMAT.md §4), so millions of chunks do not become
// millions of files or transactions. Chunk records pass on as references (bytes released,
// checksum set); each full pack is emitted as a PackRecord for the sinks to store.
import { Transform, type TransformCallback } from 'node:stream';
import { assemblePack, PACK_HEADER_LENGTH, packItemOf, type PackItem } from '../repository/pack-format.js';
import type { ChunkRecord, PackedRecord, PipelineRecord } from '../types.js';
import { STAGE_HIGH_WATER_MARK } from './record-transform.js';

export interface PackOptions {
  /** Close a pack once its blobs reach this many bytes. */
  readonly packSize: number;
  /** Seals pack trailers (encrypted repositories). */
  readonly metaKey?: Buffer;
  /** This run's data key wrapped to the repository key (80 bytes), for encrypted repositories. */
  readonly wrappedKey?: Buffer;
}

export class PackStage extends Transform {
  #items: PackItem[] = [];
  #size = PACK_HEADER_LENGTH;

  constructor(readonly options: PackOptions) {
    super({ objectMode: true, highWaterMark: STAGE_HIGH_WATER_MARK });
  }

  override _transform(record: PipelineRecord, _e: BufferEncoding, callback: TransformCallback): void {
    if (record.type === 'chunk' && record.data && !record.known) this.#add(record);
    this.push(record satisfies PackedRecord);
    if (this.#size >= this.options.packSize) this.#emitPack();
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.#emitPack();
    callback();
  }

  #add(record: ChunkRecord): void {
    const item = packItemOf(record, this.options.wrappedKey);
    this.#items.push(item);
    this.#size += item.stored.byteLength;
    record.checksum = item.checksum;
    record.data = null;
  }

  #emitPack(): void {
    if (this.#items.length === 0) return;
    const pack = assemblePack(this.#items, this.options.metaKey);
    this.#items = [];
    this.#size = PACK_HEADER_LENGTH;
    this.push(pack);
  }
}
