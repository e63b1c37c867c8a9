// AES-256-GCM per chunk, with the chunk id and codec bound as associated data (FORMAT.md §3).
import { codecByte } from '../codecs/index.js';
import { AuthenticationError, open, seal } from '../crypto/aead.js';
import { AgentvaultError } from '../errors.js';
import type { ChunkRecord, CodecName } from '../types.js';
import { ChunkTransform } from './record-transform.js';

export function chunkAad(id: Buffer, codec: CodecName): Buffer {
  const aad = Buffer.allocUnsafe(4 + 32 + 1);
  aad.write('AVC1', 0, 'latin1');
  id.copy(aad, 4);
  aad[36] = codecByte(codec);
  return aad;
}

export class EncryptStage extends ChunkTransform {
  constructor(readonly dataKey: Buffer) {
    super();
  }

  protected transformChunk(record: ChunkRecord): ChunkRecord {
    if (!record.data || record.known) return record;
    if (!record.id) throw new AgentvaultError('INPUT', 'encrypt stage needs chunk ids: put the hash stage before it');
    record.data = seal(this.dataKey, record.data, chunkAad(record.id, record.codec ?? 'none'));
    record.sealed = true;
    return record;
  }
}

/** Resolves the data key of a sealed chunk (the repository unwraps and caches it). */
export type DataKeyResolver = (record: ChunkRecord) => Buffer;

export class DecryptStage extends ChunkTransform {
  constructor(readonly resolveKey: DataKeyResolver) {
    super();
  }

  protected transformChunk(record: ChunkRecord): ChunkRecord {
    if (!record.data || !record.sealed) return record;
    try {
      record.data = open(this.resolveKey(record), record.data, chunkAad(record.id!, record.codec ?? 'none'));
    } catch (err) {
      if (err instanceof AuthenticationError) throw new AgentvaultError('CORRUPT', `chunk of ${this.where(record)} fails authentication (corrupt or tampered)`);
      throw err;
    }
    record.sealed = false;
    return record;
  }
}
