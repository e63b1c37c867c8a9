// AES-256-GCM with a random 96-bit nonce, laid out as nonce ‖ ciphertext ‖ tag.
// Used for chunks (per-pack data keys) and for metadata (metaKey); see docs/FORMAT.md §3-§6.
import { createCipheriv, createDecipheriv, randomBytes, type DecipherGCM } from 'node:crypto';
import { largeBuffer } from '../large-buffer.js';

export const NONCE_LENGTH = 12;
export const TAG_LENGTH = 16;
export const SEAL_OVERHEAD = NONCE_LENGTH + TAG_LENGTH;

/** Thrown when authentication fails: wrong key, or bytes changed since they were sealed. */
export class AuthenticationError extends Error {
  constructor(message = 'authentication failed') {
    super(message);
    this.name = 'AuthenticationError';
  }
}

export function seal(key: Uint8Array, plain: Uint8Array, aad: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(NONCE_LENGTH + plain.byteLength + TAG_LENGTH);
  sealInto(key, plain, aad, out);
  return out;
}

/**
 * Large inputs go through the cipher in slices, so no second copy of the whole output exists; each
 * slice's output stays below malloc's mmap threshold (large-buffer.ts).
 */
const SEAL_SLICE = 64 << 10;

/**
 * Seals into `out`, exactly SEAL_OVERHEAD + plain.byteLength bytes long. `plain` may be `out`'s own
 * body (out[NONCE_LENGTH…]): each slice is read before its ciphertext is copied over it.
 */
export function sealInto(key: Uint8Array, plain: Uint8Array, aad: Uint8Array, out: Buffer): void {
  if (out.length !== NONCE_LENGTH + plain.byteLength + TAG_LENGTH) throw new RangeError('sealInto: output length must be the plaintext length plus SEAL_OVERHEAD');
  const nonce = out.subarray(0, NONCE_LENGTH);
  randomBytes(NONCE_LENGTH).copy(nonce);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  let at = NONCE_LENGTH;
  for (let from = 0; from < plain.byteLength; from += SEAL_SLICE) at += cipher.update(plain.subarray(from, from + SEAL_SLICE)).copy(out, at);
  at += cipher.final().copy(out, at);
  cipher.getAuthTag().copy(out, at);
}

/** Large inputs are opened this much at a time: each slice's output is a small, short-lived allocation. */
const OPEN_SLICE = 64 << 10;

/** A decipher for `sealed` (nonce, tag and associated data set) and the ciphertext it is to open. */
function decipherOf(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): { decipher: DecipherGCM; ciphertext: Uint8Array } {
  if (sealed.byteLength < SEAL_OVERHEAD) throw new AuthenticationError('sealed data is too short');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE_LENGTH));
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.byteLength - TAG_LENGTH));
  return { decipher, ciphertext: sealed.subarray(NONCE_LENGTH, sealed.byteLength - TAG_LENGTH) };
}

/** The decipher's last bytes, or AuthenticationError when the tag does not match. */
function finalOrFail(decipher: DecipherGCM): Buffer {
  try {
    return decipher.final();
  } catch {
    throw new AuthenticationError();
  }
}

/**
 * As `open`, for metadata files of many MiB: opened slice by slice into one buffer from outside
 * malloc (large-buffer.ts says why a large buffer allocated and freed costs memory long after).
 */
export function openLarge(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer {
  const { decipher, ciphertext } = decipherOf(key, sealed, aad);
  const out = largeBuffer(ciphertext.byteLength);
  let at = 0;
  for (let from = 0; from < ciphertext.byteLength; from += OPEN_SLICE) at += decipher.update(ciphertext.subarray(from, from + OPEN_SLICE)).copy(out, at);
  at += finalOrFail(decipher).copy(out, at);
  return out.subarray(0, at);
}

export function open(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer {
  const { decipher, ciphertext } = decipherOf(key, sealed, aad);
  const body = decipher.update(ciphertext);
  const tail = finalOrFail(decipher);
  return tail.length === 0 ? body : Buffer.concat([body, tail]);
}
