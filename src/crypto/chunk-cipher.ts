// The native batch chunk cipher (native/chunk-cipher.c, in the native module: src/native.ts):
// AES-256-GCM over a whole batch of chunks in one call, in place, with the xxh64 checksums of the
// sealed chunks. The same bytes as sealing chunk by chunk with node:crypto, at ~5x the speed for
// ~8 KiB chunks, where node:crypto's cost per call outweighs the cipher. When the module was not
// built (no compiler at install) or AGENTVAULT_NATIVE=0, callers take the node:crypto path.
import { nativeModule, nativeUnavailable } from '../native.js';

export interface NativeChunkCipher {
  /**
   * Seals chunks laid out back to back in `buffer`: chunk i is 12 bytes of room, its body
   * (bodyLengths[i] bytes), 16 bytes of room. Encrypts each body where it is with its nonce and
   * the associated data "AVC1" ‖ id ‖ codec byte, writes nonce and tag around it, and sets
   * checksums[i] to the stored chunk's xxh64. Returns the bytes used.
   */
  sealInPlace(key: Uint8Array, buffer: Uint8Array, bodyLengths: Int32Array, ids: Uint8Array, codecs: Uint8Array, nonces: Uint8Array, checksums: BigUint64Array): number;
  /**
   * Opens stored chunks laid out back to back in `buffer` (storedLengths[i] bytes each), each body
   * decrypted where it is (from 12 bytes in, 28 bytes shorter). Returns -1 when all opened, else
   * the index of the first that did not: too short, or its tag does not match.
   */
  openInPlace(key: Uint8Array, buffer: Uint8Array, storedLengths: Int32Array, ids: Uint8Array, codecs: Uint8Array): number;
  /** xxh64 with seed 0: the checksum sealInPlace writes. */
  xxh64(bytes: Uint8Array): bigint;
}

/** The native chunk cipher, or undefined: then seal and open chunks with node:crypto. */
export const nativeChunkCipher: NativeChunkCipher | undefined = nativeModule;

/** Why the native chunk cipher is not in use, or undefined when it is. */
export const nativeChunkCipherUnavailable: string | undefined = nativeUnavailable;
