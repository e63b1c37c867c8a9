// Does a pack file's bytes agree with its index record? Checked before a local pack goes to
// Arweave (a damaged pack must not become permanent) and after a pack comes back from a gateway
// (gateways are not trusted): size, header, trailer (authenticated when encrypted), the trailer's
// entries against the record, and the xxh64 of every stored chunk. Decryption and chunk ids are
// checked later by restore's stages.
import { xxh64 } from '../crypto/checksum.js';
import { AgentvaultError } from '../errors.js';
import type { IndexedPack } from '../repository/index-format.js';
import { checkPackHeader, PACK_HEADER_LENGTH, PACK_TAIL_LENGTH, parsePackTail, parsePackTrailerBody, type PackEntry } from '../repository/pack-format.js';

export function verifyPackBytes(bytes: Buffer, pack: IndexedPack, metaKey: Buffer | undefined, where: string): void {
  const bad = (why: string): never => {
    throw new AgentvaultError('CORRUPT', `pack ${pack.packId} ${where} is corrupt: ${why}`);
  };
  if (bytes.length !== pack.size) bad(`it is ${bytes.length} bytes, expected ${pack.size}`);
  let entries: readonly PackEntry[];
  let keys: readonly Buffer[];
  try {
    checkPackHeader(bytes.subarray(0, PACK_HEADER_LENGTH), pack.packId);
    const { bodyLength, checksum } = parsePackTail(bytes.subarray(bytes.length - PACK_TAIL_LENGTH), pack.packId, bytes.length);
    const body = bytes.subarray(bytes.length - PACK_TAIL_LENGTH - bodyLength, bytes.length - PACK_TAIL_LENGTH);
    ({ entries, keys } = parsePackTrailerBody(body, checksum, pack.packId, metaKey));
  } catch (err) {
    if (err instanceof AgentvaultError && err.code === 'CORRUPT') bad(err.message.replace(/^pack \S+ (is corrupt[: ]*)?/, ''));
    throw err;
  }
  if (keys.length !== pack.keys.length || keys.some((k, i) => !k.equals(pack.keys[i]!))) bad('its data keys differ from the index');
  if (entries.length !== pack.entries.length) bad(`its trailer lists ${entries.length} chunks, the index ${pack.entries.length}`);
  for (let i = 0; i < entries.length; i++) {
    const a = entries[i]!;
    const b = pack.entries[i]!;
    if (!a.id.equals(b.id) || a.offset !== b.offset || a.storedLength !== b.storedLength || a.plainLength !== b.plainLength || a.codec !== b.codec || a.keyIndex !== b.keyIndex || a.checksum !== b.checksum) {
      bad(`chunk ${i} of its trailer differs from the index`);
    }
    if (a.offset + a.storedLength > bytes.length - PACK_TAIL_LENGTH) bad(`chunk ${i} lies outside the pack`);
    if (xxh64(bytes.subarray(a.offset, a.offset + a.storedLength)) !== a.checksum) bad(`chunk ${i} (offset ${a.offset}) fails its checksum`);
  }
}
