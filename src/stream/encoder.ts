// Writes a backup as one self-describing byte stream (docs/FORMAT.md §9).
// Object records in (entry / chunk with stored bytes / copy / entry-end), bytes out: pipe it to
// stdout, a socket, ssh, a file.
import { Transform, type TransformCallback } from 'node:stream';
import { codecByte } from '../codecs/index.js';
import { createXxh64, xxh64 } from '../crypto/checksum.js';
import { AgentvaultError } from '../errors.js';
import type { RepositoryConfig } from '../repository/config.js';
import type { KeyFile } from '../repository/keys.js';
import { ChunkTableBuilder, encodeManifest, manifestEntry, type Manifest, type ManifestEntry } from '../repository/manifest.js';
import type { ChunkRecord, EntryInfo, PipelineRecord } from '../types.js';
import {
  CHUNK_HEADER_LENGTH,
  COPY_LENGTH,
  FLAG_ENCRYPTED,
  FLAG_INCREMENTAL,
  RecordType,
  STREAM_MAGIC,
  STREAM_VERSION,
  encodeBackupInfo,
  encodeEntry,
  recordHeader,
  type CopyRecord,
  type StreamBackupInfo,
} from './format.js';

export interface StreamEncoderOptions {
  readonly config: RepositoryConfig;
  readonly keyFiles: readonly KeyFile[];
  readonly metaKey: Buffer | undefined;
  readonly backup: StreamBackupInfo;
  /** Export: the manifest as the repository holds it. Otherwise it is built from the records. */
  readonly manifest?: Manifest;
  /** The data key chunks without their own `wrappedKey` were sealed with (backup create --stdout). */
  readonly wrappedKey?: Buffer;
  readonly incremental?: boolean;
}

export class BackupStreamEncoder extends Transform {
  readonly #hash = createXxh64();
  #bytes = 0;
  #started = false;
  readonly #dataKeys = new Map<string, number>();
  readonly #entries: ManifestEntry[] = [];
  #current: { info: EntryInfo; table: ChunkTableBuilder } | undefined;
  #logicalSize = 0;
  #storedSize = 0;
  #chunks = 0;

  constructor(readonly options: StreamEncoderOptions) {
    super({ writableObjectMode: true, readableObjectMode: false, writableHighWaterMark: 16, readableHighWaterMark: 1 << 20 });
  }

  #emit(...parts: Buffer[]): void {
    for (const p of parts) {
      this.#hash.update(p);
      this.#bytes += p.length;
      this.push(p);
    }
  }

  #record(type: number, payload: Buffer): void {
    this.#emit(recordHeader(type, payload.length), payload);
  }

  #start(): void {
    this.#started = true;
    const o = this.options;
    const flags = (o.metaKey ? FLAG_ENCRYPTED : 0) | (o.incremental ? FLAG_INCREMENTAL : 0);
    const header = Buffer.alloc(8);
    header.write(STREAM_MAGIC, 0, 'latin1');
    header.writeUInt16LE(STREAM_VERSION, 4);
    header.writeUInt16LE(flags, 6);
    this.#emit(header);
    this.#record(RecordType.CONFIG, Buffer.from(JSON.stringify(o.config), 'utf8'));
    this.#record(RecordType.KEYS, Buffer.from(JSON.stringify(o.keyFiles), 'utf8'));
    this.#record(RecordType.BACKUP, encodeBackupInfo(o.backup, o.metaKey));
    if (o.wrappedKey) this.#dataKeyIndex(o.wrappedKey);
  }

  #dataKeyIndex(wrapped: Buffer): number {
    const k = wrapped.toString('latin1');
    let index = this.#dataKeys.get(k);
    if (index === undefined) {
      index = this.#dataKeys.size;
      if (index > 0xffff) throw new AgentvaultError('INPUT', 'too many data keys for one stream');
      this.#dataKeys.set(k, index);
      this.#record(RecordType.DATAKEY, wrapped);
    }
    return index;
  }

  override _transform(record: PipelineRecord | CopyRecord, _e: BufferEncoding, callback: TransformCallback): void {
    try {
      if (!this.#started) this.#start();
      switch (record.type) {
        case 'entry':
          this.#record(RecordType.ENTRY, encodeEntry(record.entry, this.options.metaKey));
          this.#current = { info: record.entry, table: new ChunkTableBuilder() };
          break;
        case 'chunk':
          this.#chunk(record);
          break;
        case 'copy': {
          const payload = Buffer.allocUnsafe(COPY_LENGTH);
          payload.writeUInt32LE(record.parentEntry, 0);
          payload.writeBigUInt64LE(BigInt(record.offset), 4);
          payload.writeBigUInt64LE(BigInt(record.length), 12);
          this.#record(RecordType.COPY, payload);
          break;
        }
        case 'entry-end': {
          const size = Buffer.allocUnsafe(8);
          size.writeBigUInt64LE(BigInt(record.size));
          this.#record(RecordType.ENTRY_END, size);
          const { info, table } = this.#current!;
          this.#entries.push(manifestEntry(info, record.size, table.finish()));
          this.#current = undefined;
          break;
        }
      }
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  #chunk(record: ChunkRecord): void {
    const stored = record.data;
    if (!stored || !record.id) throw new AgentvaultError('INPUT', 'a stream chunk needs its id and stored bytes (no dedup stage before the stream encoder)');
    const sealed = record.sealed === true;
    let keyIndex = 0;
    if (sealed) {
      const wrapped = record.wrappedKey ?? this.options.wrappedKey;
      if (!wrapped) throw new AgentvaultError('INPUT', 'a sealed chunk has no data key');
      keyIndex = this.#dataKeyIndex(wrapped);
    }
    const head = Buffer.allocUnsafe(CHUNK_HEADER_LENGTH);
    record.id.copy(head, 0);
    head.writeUInt32LE(record.size, 32);
    head[36] = codecByte(record.codec ?? 'none');
    head[37] = sealed ? 1 : 0;
    head.writeUInt16LE(keyIndex, 38);
    head.writeBigUInt64LE(record.checksum ?? xxh64(stored), 40);
    this.#emit(recordHeader(RecordType.CHUNK, CHUNK_HEADER_LENGTH + stored.length), head, stored);
    this.#current?.table.add(record.id, record.size);
    this.#logicalSize += record.size;
    this.#storedSize += stored.length;
    this.#chunks++;
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (!this.#started) this.#start();
      const o = this.options;
      const manifest: Manifest = o.manifest ?? {
        version: 1,
        ...o.backup,
        entries: this.#entries,
        stats: { logicalSize: this.#logicalSize, storedSize: this.#storedSize, chunks: this.#chunks, newChunks: this.#chunks },
      };
      this.#record(RecordType.MANIFEST, encodeManifest(manifest, o.metaKey));
      const trailer = Buffer.allocUnsafe(16);
      trailer.writeBigUInt64LE(BigInt(this.#bytes), 0);
      trailer.writeBigUInt64LE(this.#hash.digest(), 8);
      this.push(recordHeader(RecordType.TRAILER, 16));
      this.push(trailer);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }
}
