// Chunk ids: a keyed hash of the plaintext, so equal chunks deduplicate without the repository
// revealing plain content hashes. Registered by the id stored in the repository config.
// blake3-keyed is the default: measured here at 2100 MB/s on 8 KiB chunks against 1160 for
// HMAC-SHA-256 (docs/chunking.md).
import { createHmac } from 'node:crypto';
import { Blake3Hasher } from '@napi-rs/blake-hash';

export type ChunkIdAlgorithm = 'blake3-keyed' | 'hmac-sha256';
export const CHUNK_ID_ALGORITHMS: readonly ChunkIdAlgorithm[] = ['blake3-keyed', 'hmac-sha256'];
export const CHUNK_ID_LENGTH = 32;

/** Computes ids with one key; keeps its hasher between calls (not shareable across threads). */
export interface ChunkIdHasher {
  readonly algorithm: ChunkIdAlgorithm;
  id(plain: Uint8Array): Buffer;
}

export function createChunkIdHasher(algorithm: ChunkIdAlgorithm, key: Uint8Array): ChunkIdHasher {
  if (key.byteLength !== 32) throw new RangeError('chunk id key must be 32 bytes');
  switch (algorithm) {
    case 'blake3-keyed': {
      // A reused keyed hasher with reset() is 3x faster per 8 KiB chunk than a new one.
      const hasher = Blake3Hasher.newKeyed(Buffer.from(key));
      return {
        algorithm,
        id(plain) {
          hasher.reset();
          return hasher.update(plain).digestBuffer();
        },
      };
    }
    case 'hmac-sha256': {
      const hmacKey = Buffer.from(key);
      return { algorithm, id: (plain) => createHmac('sha256', hmacKey).update(plain).digest() };
    }
    default:
      throw new Error(`unknown chunk id algorithm ${String(algorithm)}`);
  }
}

export function isChunkIdAlgorithm(s: string): s is ChunkIdAlgorithm {
  return (CHUNK_ID_ALGORITHMS as readonly string[]).includes(s);
}
