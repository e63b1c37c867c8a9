// Metadata stored as zstd, sealed with the metaKey when the repository is encrypted: manifests
// (docs/FORMAT.md §6), index files (§5) and an archive's pack list (§10) are opened the same way.
import { Decompressor } from 'zstd-napi';
import { AuthenticationError, NONCE_LENGTH, openLarge, sealInto, TAG_LENGTH } from '../crypto/aead.js';
import { zstd } from '../codecs/zstd-binding.js';
import { AgentvaultError } from '../errors.js';
import { largeBuffer } from '../large-buffer.js';

const EMPTY = Buffer.alloc(0);

let sealContext: InstanceType<typeof zstd.CCtx> | undefined;

/**
 * `head` ‖ body, where body is the zstd frame (level 3, with its content checksum and size) of
 * the plaintext — given as `pieces` of `length` bytes in all — sealed with `metaKey` when given.
 * The pieces are compressed as they come, into the one output buffer, and sealed there in place:
 * the plaintext is never needed whole, and no second copy of the output is made. (A 4 GiB
 * backup's manifest, made the obvious way — JSON, compressed copy, sealed copy, concatenation —
 * held ~50 MiB at the end of the backup; its index files, ~20 MiB each time one was written.)
 */
export function sealZstd(head: Buffer, pieces: Iterable<Uint8Array>, length: number, metaKey: Buffer | undefined, aad: Buffer): Buffer {
  // One context for the process, reset each time: a level-3 context for a many-MiB input holds a
  // few MiB of workspace, and freeing one each time raised malloc's thresholds (large-buffer.ts).
  const cctx = (sealContext ??= new zstd.CCtx());
  cctx.reset(zstd.ResetDirective.sessionAndParameters);
  cctx.setParameter(zstd.CParameter.compressionLevel, 3);
  // zstd's content checksum: unencrypted files have no other integrity check.
  cctx.setParameter(zstd.CParameter.checksumFlag, 1);
  // The content size goes in the frame header, as a one-shot compression puts it.
  cctx.setPledgedSrcSize(length);
  const bodyAt = head.length + (metaKey ? NONCE_LENGTH : 0);
  // Room for the worst case; only the pages written are ever touched (and, large, outside malloc).
  const out = largeBuffer(bodyAt + zstd.compressBound(length) + (metaKey ? TAG_LENGTH : 0));
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
 * `what`: `${what} ${authFailure}` when the seal does not open, `${what} ${decodeFailure}` when
 * the frame does not decompress. Each step writes into a buffer of the size it knows beforehand,
 * from outside malloc when large (large-buffer.ts).
 */
export function openSealedZstd(body: Buffer, metaKey: Buffer | undefined, aad: Buffer, what: string, authFailure: string, decodeFailure = 'is corrupt (cannot decompress)'): Buffer {
  let compressed = body;
  if (metaKey) {
    try {
      compressed = openLarge(metaKey, body, aad);
    } catch (err) {
      if (err instanceof AuthenticationError) throw new AgentvaultError('CORRUPT', `${what} ${authFailure}`);
      throw err;
    }
  }
  try {
    const size = zstd.getFrameContentSize(compressed);
    if (size === null) return new Decompressor().decompress(compressed);
    const plain = largeBuffer(size);
    if (new zstd.DCtx().decompress(plain, compressed) !== size) throw new Error('short frame');
    return plain;
  } catch {
    throw new AgentvaultError('CORRUPT', `${what} ${decodeFailure}`);
  }
}
