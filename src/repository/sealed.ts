// Metadata stored as zstd, sealed with the metaKey when the repository is encrypted: index files
// (docs/FORMAT.md §5) and an archive's pack list (§10) are opened the same way.
import { Decompressor } from 'zstd-napi';
import { AuthenticationError, open } from '../crypto/aead.js';
import { AgentvaultError } from '../errors.js';

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
