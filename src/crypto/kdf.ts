// Password → key. scrypt with parameters stored beside the wrapped key, so they can be raised
// for new key files without breaking old ones.
import { randomBytes, scrypt } from 'node:crypto';
import { nativeModule } from '../native.js';

export interface ScryptParams {
  readonly algorithm: 'scrypt';
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
}

/** 2^17 × 8 × 128 bytes = 128 MiB and ~0.4 s here: costly to guess, bearable once per command. */
export const DEFAULT_SCRYPT_LOG_N = 17;
const MIN_SCRYPT_LOG_N = 10;

/**
 * AGENTVAULT_SCRYPT_LOG_N lowers the cost for new key files on small hosts (and in the test
 * suite, which creates hundreds of repositories); existing key files keep their own parameters.
 */
export function newScryptParams(env: NodeJS.ProcessEnv = process.env): ScryptParams {
  const raw = env.AGENTVAULT_SCRYPT_LOG_N;
  let logN = DEFAULT_SCRYPT_LOG_N;
  if (raw !== undefined && raw !== '') {
    logN = Number(raw);
    if (!Number.isInteger(logN) || logN < MIN_SCRYPT_LOG_N || logN > 22) {
      throw new RangeError(`AGENTVAULT_SCRYPT_LOG_N must be an integer from ${MIN_SCRYPT_LOG_N} to 22`);
    }
  }
  return { algorithm: 'scrypt', N: 2 ** logN, r: 8, p: 1, salt: randomBytes(16) };
}

export function deriveKey(password: string, params: ScryptParams): Promise<Buffer> {
  const { N, r, p } = params;
  if (!Number.isInteger(Math.log2(N)) || N < 2 ** MIN_SCRYPT_LOG_N || N > 2 ** 22 || r < 1 || r > 32 || p < 1 || p > 16) {
    return Promise.reject(new Error('key file has unsupported scrypt parameters'));
  }
  // The native scrypt derives the same key with its 128 MiB in huge pages: ~0.3 s less per command
  // (native/scrypt.c). Its array is capped at 2 GiB; larger parameters go to node:crypto.
  if (nativeModule && 128 * N * r <= 2 ** 31) return nativeScrypt(password, params);
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), params.salt, 32, { N, r, p, maxmem: 256 * N * r + (1 << 20) }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

async function nativeScrypt(password: string, { salt, N, r, p }: ScryptParams): Promise<Buffer> {
  // The bytes node:crypto would hash for the string (UTF-8), wiped once derived.
  const bytes = Buffer.from(password.normalize('NFC'), 'utf8');
  try {
    return await nativeModule!.scrypt(bytes, salt, N, r, p, 32);
  } finally {
    bytes.fill(0);
  }
}
