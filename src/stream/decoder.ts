// Parses the framing of a backup stream (docs/FORMAT.md §9): bytes in, raw records out, each
// with the byte offset it started at. Checks magic, version, record order, each chunk's
// checksum and the trailer; a stream that ends early or is damaged is reported with the offset.
import { Transform, type TransformCallback } from 'node:stream';
import { codecFromByte } from '../codecs/index.js';
import { createXxh64, xxh64 } from '../crypto/checksum.js';
import { AgentvaultError } from '../errors.js';
import { parseConfig, type RepositoryConfig } from '../repository/config.js';
import { parseKeyFile, type KeyFile } from '../repository/keys.js';
import type { CodecName } from '../types.js';
import {
  CHUNK_HEADER_LENGTH,
  COPY_LENGTH,
  FLAG_INCREMENTAL,
  RECORD_HEADER_LENGTH,
  RecordType,
  STREAM_HEADER_LENGTH,
  STREAM_MAGIC,
  STREAM_VERSION,
  TRAILER_LENGTH,
} from './format.js';

export type RawStreamRecord =
  | { readonly type: 'config'; readonly at: number; readonly config: RepositoryConfig }
  | { readonly type: 'keys'; readonly at: number; readonly keyFiles: KeyFile[] }
  | { readonly type: 'backup'; readonly at: number; readonly payload: Buffer }
  | { readonly type: 'datakey'; readonly at: number; readonly index: number; readonly wrapped: Buffer }
  | { readonly type: 'entry'; readonly at: number; readonly payload: Buffer }
  | {
      readonly type: 'chunk';
      readonly at: number;
      readonly id: Buffer;
      readonly plainLength: number;
      readonly codec: CodecName;
      readonly sealed: boolean;
      readonly dataKey: number;
      readonly checksum: bigint;
      readonly stored: Buffer;
    }
  | { readonly type: 'copy'; readonly at: number; readonly parentEntry: number; readonly offset: number; readonly length: number }
  | { readonly type: 'entry-end'; readonly at: number; readonly size: number }
  | { readonly type: 'manifest'; readonly at: number; readonly bytes: Buffer };

/** Largest record accepted: a manifest of a very large backup, not an attacker's 4 GiB length. */
const MAX_RECORD = 1 << 30;

export class BackupStreamDecoder extends Transform {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #offset = 0; // stream offset of the first pending byte
  #headerSeen = false;
  #flags = 0;
  #records = 0;
  #dataKeys = 0;
  #trailerSeen = false;
  readonly #hash = createXxh64();

  constructor() {
    super({ writableObjectMode: false, readableObjectMode: true, readableHighWaterMark: 16 });
  }

  get incremental(): boolean {
    return (this.#flags & FLAG_INCREMENTAL) !== 0;
  }

  #fail(at: number, why: string): AgentvaultError {
    return new AgentvaultError('CORRUPT', `backup stream is corrupt at byte ${at}: ${why}`);
  }

  /** Takes n bytes from the front of the pending buffers. */
  #take(n: number): Buffer {
    let out: Buffer;
    const first = this.#pending[0]!;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.#pending.shift();
      else this.#pending[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const head = this.#pending[0]!;
        const use = Math.min(head.length, n - filled);
        head.copy(out, filled, 0, use);
        filled += use;
        if (use === head.length) this.#pending.shift();
        else this.#pending[0] = head.subarray(use);
      }
    }
    this.#pendingBytes -= n;
    this.#offset += n;
    return out;
  }

  /** The next record's type and length, without consuming them (needs 5 pending bytes). */
  #peekHeader(): { type: number; length: number } {
    const first = this.#pending[0]!;
    const head = first.length >= RECORD_HEADER_LENGTH ? first : Buffer.concat(this.#pending, RECORD_HEADER_LENGTH);
    return { type: head[0]!, length: head.readUInt32LE(1) };
  }

  override _transform(bytes: Buffer, _e: BufferEncoding, callback: TransformCallback): void {
    try {
      if (this.#trailerSeen) {
        if (bytes.length > 0) throw this.#fail(this.#offset, 'data after the end of the stream');
        callback();
        return;
      }
      this.#pending.push(bytes);
      this.#pendingBytes += bytes.length;
      this.#parse();
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  #parse(): void {
    if (!this.#headerSeen) {
      if (this.#pendingBytes < STREAM_HEADER_LENGTH) return;
      const header = this.#take(STREAM_HEADER_LENGTH);
      this.#hash.update(header);
      if (header.toString('latin1', 0, 4) !== STREAM_MAGIC) throw new AgentvaultError('CORRUPT', 'this is not an agentvault backup stream (bad magic at byte 0)');
      const version = header.readUInt16LE(4);
      if (version > STREAM_VERSION) {
        throw new AgentvaultError('NEWER_FORMAT', `the backup stream was written by a newer agentvault (stream format ${version}; this version reads up to ${STREAM_VERSION})`);
      }
      this.#flags = header.readUInt16LE(6);
      this.#headerSeen = true;
    }
    while (!this.#trailerSeen && this.#pendingBytes >= RECORD_HEADER_LENGTH) {
      const at = this.#offset;
      const { type, length } = this.#peekHeader();
      if (length > MAX_RECORD) throw this.#fail(at, `record length ${length} is out of range`);
      if (this.#pendingBytes < RECORD_HEADER_LENGTH + length) return;
      const head = this.#take(RECORD_HEADER_LENGTH);
      const payload = this.#take(length);
      if (type === RecordType.TRAILER) {
        this.#trailer(at, payload);
        continue;
      }
      this.#hash.update(head);
      this.#hash.update(payload);
      this.push(this.#record(type, at, payload));
      this.#records++;
    }
    if (this.#trailerSeen && this.#pendingBytes > 0) throw this.#fail(this.#offset, 'data after the end of the stream');
  }

  #record(type: number, at: number, payload: Buffer): RawStreamRecord {
    const expectFirst = [RecordType.CONFIG, RecordType.KEYS, RecordType.BACKUP][this.#records];
    if (expectFirst !== undefined && type !== expectFirst) throw this.#fail(at, `record ${this.#records + 1} has type ${type}, expected ${expectFirst}`);
    if (this.#records >= 3 && (type === RecordType.CONFIG || type === RecordType.KEYS || type === RecordType.BACKUP)) throw this.#fail(at, `unexpected record type ${type}`);
    switch (type) {
      case RecordType.CONFIG:
        try {
          return { type: 'config', at, config: parseConfig(payload, 'backup stream') };
        } catch (err) {
          if ((err as AgentvaultError).code === 'NEWER_FORMAT') throw err;
          throw this.#fail(at, (err as Error).message);
        }
      case RecordType.KEYS: {
        let list: unknown;
        try {
          list = JSON.parse(payload.toString('utf8'));
        } catch {
          throw this.#fail(at, 'the key record is not valid JSON');
        }
        if (!Array.isArray(list)) throw this.#fail(at, 'the key record is not a list');
        return { type: 'keys', at, keyFiles: list.map((k, i) => parseKeyFile(Buffer.from(JSON.stringify(k)), `#${i} in the stream`)) };
      }
      case RecordType.BACKUP:
        return { type: 'backup', at, payload };
      case RecordType.DATAKEY:
        if (payload.length !== 80) throw this.#fail(at, 'a data key record must be 80 bytes');
        return { type: 'datakey', at, index: this.#dataKeys++, wrapped: Buffer.from(payload) };
      case RecordType.ENTRY:
        return { type: 'entry', at, payload };
      case RecordType.CHUNK: {
        if (payload.length < CHUNK_HEADER_LENGTH) throw this.#fail(at, 'a chunk record is too short');
        const stored = payload.subarray(CHUNK_HEADER_LENGTH);
        const checksum = payload.readBigUInt64LE(40);
        if (xxh64(stored) !== checksum) throw this.#fail(at, 'chunk checksum mismatch');
        let codec: CodecName;
        try {
          codec = codecFromByte(payload[36]!);
        } catch (err) {
          throw this.#fail(at, (err as Error).message);
        }
        const dataKey = payload.readUInt16LE(38);
        const sealed = (payload[37]! & 1) === 1;
        if (sealed && dataKey >= this.#dataKeys) throw this.#fail(at, `chunk refers to data key ${dataKey}, which the stream has not sent`);
        return { type: 'chunk', at, id: Buffer.from(payload.subarray(0, 32)), plainLength: payload.readUInt32LE(32), codec, sealed, dataKey, checksum, stored };
      }
      case RecordType.COPY:
        if (payload.length !== COPY_LENGTH) throw this.#fail(at, 'a copy record must be 20 bytes');
        return { type: 'copy', at, parentEntry: payload.readUInt32LE(0), offset: Number(payload.readBigUInt64LE(4)), length: Number(payload.readBigUInt64LE(12)) };
      case RecordType.ENTRY_END:
        if (payload.length !== 8) throw this.#fail(at, 'an entry-end record must be 8 bytes');
        return { type: 'entry-end', at, size: Number(payload.readBigUInt64LE(0)) };
      case RecordType.MANIFEST:
        return { type: 'manifest', at, bytes: payload };
      default:
        throw this.#fail(at, `unknown record type ${type}`);
    }
  }

  #trailer(at: number, payload: Buffer): void {
    if (payload.length !== TRAILER_LENGTH) throw this.#fail(at, 'the trailer has the wrong length');
    if (Number(payload.readBigUInt64LE(0)) !== at) throw this.#fail(at, `the trailer says the stream has ${payload.readBigUInt64LE(0)} bytes before it, but it has ${at}`);
    if (payload.readBigUInt64LE(8) !== this.#hash.digest()) throw this.#fail(at, 'the stream checksum does not match');
    this.#trailerSeen = true;
  }

  override _flush(callback: TransformCallback): void {
    if (!this.#headerSeen) {
      callback(new AgentvaultError('CORRUPT', this.#pendingBytes === 0 && this.#offset === 0 ? 'the backup stream is empty' : 'the backup stream is truncated inside its header'));
      return;
    }
    if (!this.#trailerSeen) {
      callback(new AgentvaultError('CORRUPT', `the backup stream is truncated: it ends at byte ${this.#offset + this.#pendingBytes} without its trailer`));
      return;
    }
    callback();
  }
}
