// Compresses chunks that need storing; a chunk that does not shrink is stored raw ('none').
import { createCodec, CodecSet, type Codec } from '../codecs/index.js';
import { AgentvaultError } from '../errors.js';
import type { ChunkRecord, CodecName } from '../types.js';
import { ChunkTransform } from './record-transform.js';

export class CompressStage extends ChunkTransform {
  readonly #codec: Codec;

  constructor(codec: CodecName = 'zstd', level?: number) {
    super();
    this.#codec = createCodec(codec, level);
  }

  protected transformChunk(record: ChunkRecord): ChunkRecord {
    if (!record.data || record.known) return record;
    const compressed = this.#codec.compress(record.data);
    if (compressed.byteLength < record.data.byteLength) {
      record.data = compressed;
      record.codec = this.#codec.name;
    } else {
      record.codec = 'none';
    }
    return record;
  }
}

export class DecompressStage extends ChunkTransform {
  readonly #codecs = new CodecSet();

  protected transformChunk(record: ChunkRecord): ChunkRecord {
    if (!record.data) return record;
    const codec = record.codec ?? 'none';
    let plain: Buffer;
    try {
      plain = this.#codecs.get(codec).decompress(record.data, record.size);
    } catch {
      throw new AgentvaultError('CORRUPT', `chunk of ${this.where(record)} does not decompress (${codec})`);
    }
    if (plain.byteLength !== record.size) {
      throw new AgentvaultError('CORRUPT', `chunk of ${this.where(record)} decompressed to ${plain.byteLength} bytes, expected ${record.size}`);
    }
    record.data = plain;
    record.codec = 'none';
    return record;
  }
}
