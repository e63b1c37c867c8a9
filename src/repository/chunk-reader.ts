// Reads single chunks by id as verified plaintext: checksum, then decryption (the chunk id and
// codec are authenticated), decompression and the keyed id. For random access into backups
// (incremental stream imports); bulk restore uses the streaming stages instead.
import { OpenFileCache } from '../backend/file-cache.js';
import { CodecSet } from '../codecs/index.js';
import { AuthenticationError, open } from '../crypto/aead.js';
import { createChunkIdHasher, type ChunkIdHasher } from '../crypto/chunk-id.js';
import { xxh64 } from '../crypto/checksum.js';
import { AgentvaultError } from '../errors.js';
import { chunkAad } from '../stages/encrypt.js';
import type { ChunkIndex, ChunkLocation } from './chunk-index.js';
import type { Repository } from './repository.js';

const CACHED_CHUNKS = 8;

export class ChunkReader {
  readonly #packs: OpenFileCache;
  readonly #codecs = new CodecSet();
  readonly #hasher: ChunkIdHasher;
  readonly #recent = new Map<string, Buffer>();

  constructor(
    readonly repository: Repository,
    readonly index: ChunkIndex,
  ) {
    this.#packs = new OpenFileCache(repository.store, 'pack');
    this.#hasher = createChunkIdHasher(repository.config.chunkId, repository.keys.write.idKey);
  }

  /** Verified plaintext of a chunk; tries every stored copy before giving up. */
  async plaintext(id: Buffer): Promise<Buffer> {
    const key = id.toString('latin1');
    const cached = this.#recent.get(key);
    if (cached) return cached;
    const locations = this.index.locations(id);
    if (locations.length === 0) throw new AgentvaultError('MISSING_DATA', `chunk ${id.toString('hex').slice(0, 16)}… is missing from the repository`);
    let firstError: Error | undefined;
    for (const location of locations) {
      try {
        const plain = await this.#read(id, location);
        this.#recent.set(key, plain);
        if (this.#recent.size > CACHED_CHUNKS) this.#recent.delete(this.#recent.keys().next().value!);
        return plain;
      } catch (err) {
        if (!(err instanceof AgentvaultError)) throw err;
        firstError ??= err;
      }
    }
    throw firstError!;
  }

  async #read(id: Buffer, location: ChunkLocation): Promise<Buffer> {
    const stored = await this.#packs.read(location.packId, location.offset, location.storedLength);
    if (xxh64(stored) !== location.checksum) throw new AgentvaultError('CORRUPT', `chunk in pack ${location.packId} at ${location.offset} is corrupt (checksum mismatch)`);
    let compressed = stored;
    if (location.wrappedKey) {
      try {
        compressed = open(this.repository.dataKey(location.wrappedKey), stored, chunkAad(id, location.codec));
      } catch (err) {
        if (err instanceof AuthenticationError) throw new AgentvaultError('CORRUPT', `chunk in pack ${location.packId} at ${location.offset} fails authentication`);
        throw err;
      }
    }
    let plain: Buffer;
    try {
      plain = this.#codecs.get(location.codec).decompress(compressed, location.plainLength);
    } catch {
      throw new AgentvaultError('CORRUPT', `chunk in pack ${location.packId} at ${location.offset} does not decompress`);
    }
    if (plain.length !== location.plainLength || !this.#hasher.id(plain).equals(id)) {
      throw new AgentvaultError('CORRUPT', `chunk in pack ${location.packId} at ${location.offset} does not match its id`);
    }
    return plain;
  }

  close(): Promise<void> {
    return this.#packs.closeAll();
  }
}
