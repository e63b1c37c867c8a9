// agentvault's native module (native/*.c, built by `npm install` with node-gyp; see
// scripts/build-native.mjs). It does faster what Node also does, slower: a batch chunk cipher
// (crypto/chunk-cipher.ts) and scrypt (crypto/kdf.ts) that node:crypto has per call, keyed BLAKE3
// chunk ids for a batch (crypto/chunk-id.ts) where @napi-rs/blake-hash takes calls per chunk, and
// zeroing a file range without writing it (workers/restore-worker.ts), where Node writes the
// zeros. When it was not built (no C compiler at install) or AGENTVAULT_NATIVE=0, callers take
// Node's way: the same bytes, more CPU.
import { createRequire } from 'node:module';
import type { NativeChunkCipher } from './crypto/chunk-cipher.js';
import type { NativeChunkIds } from './crypto/chunk-id.js';

export interface NativeModule extends NativeChunkCipher, NativeChunkIds {
  /**
   * scrypt (RFC 7914) on a libuv thread, its large array in huge pages; the key node:crypto's
   * scrypt derives. The password bytes are copied and the copy wiped; the caller wipes its own.
   */
  scrypt(password: Uint8Array, salt: Uint8Array, N: number, r: number, p: number, keyLength: number): Promise<Buffer>;
  /**
   * Makes bytes [offset, offset + length) of an open file read as zeros, allocated but not written
   * (fallocate FALLOC_FL_ZERO_RANGE). Returns 0, or the errno: EOPNOTSUPP where the file system
   * cannot (write the zeros instead).
   */
  zeroRange(fd: number, offset: number, length: number): number;
}

/** Where the module is, relative to this file in src/ or dist/. */
const MODULE_PATH = '../build/Release/agentvault_native.node';

function load(): { module?: NativeModule; reason?: string } {
  if (process.env['AGENTVAULT_NATIVE'] === '0') return { reason: 'turned off by AGENTVAULT_NATIVE=0' };
  try {
    return { module: createRequire(import.meta.url)(MODULE_PATH) as NativeModule };
  } catch (err) {
    return { reason: `not built (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
}

const loaded = load();

/** The native module, or undefined: then use node:crypto. */
export const nativeModule: NativeModule | undefined = loaded.module;

/** Why the native module is not in use, or undefined when it is. */
export const nativeUnavailable: string | undefined = loaded.reason;
