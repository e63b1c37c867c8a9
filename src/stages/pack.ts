// Groups stored chunks into pack files (docs/FORMAT.md §4), so millions of chunks do not become
// millions of files or transactions. Chunk records pass on as references (bytes released,
// checksum set); each full pack is emitted as a PackRecord for the sinks to store.
import { Transform, type TransformCallback } from 'node:stream';
import { xxh64 } from '../crypto/checksum.js';
import { randomHexId } from '../repository/ids.js';
import { PACK_HEADER_LENGTH, packHeader, packTrailer } from '../repository/pack-format.js';
import type { ChunkRecord, PackedChunk, PackedRecord, PackRecord, PipelineRecord } from '../types.js';
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
  #parts: Buffer[] = [];
  #entries: PackedChunk[] = [];
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
    const data = record.data!;
    const checksum = xxh64(data);
    this.#entries.push({
      id: record.id!,
      offset: this.#size,
      storedLength: data.byteLength,
      plainLength: record.size,
      codec: record.codec ?? 'none',
      keyIndex: 0,
      checksum,
    });
    this.#parts.push(data);
    this.#size += data.byteLength;
    record.checksum = checksum;
    record.data = null;
  }

  #emitPack(): void {
    if (this.#entries.length === 0) return;
    const packId = randomHexId(16);
    const keys = this.options.wrappedKey ? [this.options.wrappedKey] : [];
    const trailer = packTrailer(packId, { keys, entries: this.#entries }, this.options.metaKey);
    const pack: PackRecord = {
      type: 'pack',
      packId,
      parts: [packHeader(this.options.metaKey !== undefined), ...this.#parts, trailer],
      size: this.#size + trailer.length,
      keys,
      entries: this.#entries,
    };
    this.#parts = [];
    this.#entries = [];
    this.#size = PACK_HEADER_LENGTH;
    this.push(pack);
  }
}
