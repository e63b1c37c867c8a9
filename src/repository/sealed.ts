// Metadata stored as zstd, sealed with the metaKey when the repository is encrypted: manifests
// (docs/FORMAT.md §6), index files (§5) and an archive's pack list (§10) are opened the same way.
import { Decompressor } from 'zstd-napi';
import { AuthenticationError, NONCE_LENGTH, open, sealInto, TAG_LENGTH } from '../crypto/aead.js';
import { zstd } from '../codecs/zstd-binding.js';
import { AgentvaultError } from '../errors.js';

const EMPTY = Buffer.alloc(0);

/**
 * `head` ‖ body, where body is the zstd frame (level 3, with its content checksum and size) of
 * the plaintext — given as `pieces` of `length` bytes in all — sealed with `metaKey` when given.
 * The pieces are compressed as they come, into the one output buffer, and sealed there in place:
 * the plaintext is never needed whole, and no second copy of the output is made. (A 4 GiB
 * backup's manifest, made the obvious way — JSON, compressed copy, sealed copy, concatenation —
 * held ~50 MiB at the end of the backup; its index files, ~20 MiB each time one was written.)
 */
export function sealZstd(head: Buffer, pieces: Iterable<Uint8Array>, length: number, metaKey: Buffer | undefined, aad: Buffer): Buffer {
  const cctx = new zstd.CCtx();
  cctx.setParameter(zstd.CParameter.compressionLevel, 3);
  // zstd's content checksum: unencrypted files have no other integrity check.
  cctx.setParameter(zstd.CParameter.checksumFlag, 1);
  // The content size goes in the frame header, as a one-shot compression puts it.
  cctx.setPledgedSrcSize(length);
  const bodyAt = head.length + (metaKey ? NONCE_LENGTH : 0);
  // Room for the worst case; only the pages written are ever touched.
  const out = Buffer.allocUnsafeSlow(bodyAt + zstd.compressBound(length) + (metaKey ? TAG_LENGTH : 0));
  head.copy(out);
  let at = bodyAt;
  for (const piece of pieces) {
    for (let from = 0; from < piece.length; ) {
      const [, written, consumed] = cctx.compressStream2(out.subarray(at), piece.subarray(from), zstd.EndDirective.continue);
      at += written;
      from += consumed;
    }
  }
  for (;;) {
    const [left, written] = cctx.compressStream2(out.subarray(at), EMPTY, zstd.EndDirective.end);
    at += written;
    if (left === 0) break;
  }
  if (!metaKey) return out.subarray(0, at);
  const sealed = out.subarray(head.length, at + TAG_LENGTH);
  sealInto(metaKey, sealed.subarray(NONCE_LENGTH, at - head.length), aad, sealed);
  return out.subarray(0, at + TAG_LENGTH);
}

/**
 * Opens (with `metaKey`, when given) and decompresses `body`; any failure is CORRUPT, naming
 * `what`: `${what} ${authFailure}` when the seal does not open, "cannot decompress" otherwise.
 */
export function openSealedZstd(body: Buffer, metaKey: Buffer | undefined, aad: Buffer, what: string, authFailure: string): Buffer {
  let compressed = body;
  if (metaKey) {
    try {
      compressed = open(metaKey, body, aad);
    } catch (err) {
      if (err instanceof AuthenticationError) throw new AgentvaultError('CORRUPT', `${what} ${authFailure}`);
      throw err;
    }
  }
  try {
    return new Decompressor().decompress(compressed);
  } catch {
    throw new AgentvaultError('CORRUPT', `${what} is corrupt (cannot decompress)`);
  }
}
