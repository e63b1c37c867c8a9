// Reads a backup back out of a repository: entry records and chunk records carrying the stored
// (still sealed, still compressed) bytes, in manifest order, with reads running ahead of the
// consumer. Checksums are checked here so that a damaged copy of a chunk can fall back to
// another copy (a full backup keeps its own); the verify stages check everything again.
import { Readable } from 'node:stream';
import { xxh64 } from '../crypto/checksum.js';
import { AgentvaultError } from '../errors.js';
import { OpenFileCache } from '../backend/file-cache.js';
import type { ChunkIndex, ChunkLocation } from '../repository/chunk-index.js';
import { chunkRefs, type Manifest } from '../repository/manifest.js';
import type { Repository } from '../repository/repository.js';
import type { ChunkRecord, PipelineRecord } from '../types.js';

export interface RepositorySourceOptions {
  /** Stored bytes read ahead of the consumer (default 16 MiB). */
  readonly readAheadBytes?: number;
  /** Only these entry indexes (default: all). */
  readonly entries?: ReadonlySet<number>;
  /** Chunks the consumer does not need the bytes of: emitted with `known: true`, `data: null`, not read. */
  readonly omit?: (id: Buffer) => boolean;
}

export class RepositorySource {
  readonly #packs: OpenFileCache;

  constructor(
    readonly repository: Repository,
    readonly manifest: Manifest,
    readonly index: ChunkIndex,
    readonly options: RepositorySourceOptions = {},
  ) {
    this.#packs = new OpenFileCache(repository.store, 'pack');
  }

  /** Fails before any byte is written when a chunk is not in the index at all. */
  checkComplete(): void {
    for (const [i, entry] of this.manifest.entries.entries()) {
      if (this.options.entries && !this.options.entries.has(i)) continue;
      let offset = 0;
      for (const ref of chunkRefs(entry)) {
        if (!this.index.has(ref.id)) {
          throw new AgentvaultError('MISSING_DATA', `backup ${this.manifest.id}: the chunk at offset ${offset} of entry ${JSON.stringify(entry.name)} is missing from the repository (its pack was deleted or never written)`);
        }
        offset += ref.size;
      }
    }
  }

  records(): Readable {
    const readable = Readable.from(this.#generate(), { objectMode: true, highWaterMark: 16 });
    readable.once('close', () => void this.#closeAll());
    return readable;
  }

  async *#generate(): AsyncGenerator<PipelineRecord> {
    const limit = this.options.readAheadBytes ?? 16 << 20;
    const queue: Array<PipelineRecord | Promise<ChunkRecord>> = [];
    let queuedBytes = 0;
    const sizes = new WeakMap<Promise<ChunkRecord>, number>();
    try {
      for (const [index, entry] of this.manifest.entries.entries()) {
        if (this.options.entries && !this.options.entries.has(index)) continue;
        queue.push({
          type: 'entry',
          entry: {
            index,
            name: entry.name,
            kind: entry.kind,
            size: entry.size,
            ...(entry.mode !== undefined ? { mode: entry.mode } : {}),
            ...(entry.mtime !== undefined ? { mtime: entry.mtime } : {}),
            ...(entry.linkTarget !== undefined ? { linkTarget: entry.linkTarget } : {}),
          },
        });
        let offset = 0;
        for (const ref of chunkRefs(entry)) {
          if (this.options.omit?.(ref.id)) {
            queue.push({ type: 'chunk', entry: index, offset, size: ref.size, id: ref.id, data: null, known: true });
            offset += ref.size;
            continue;
          }
          const promise = this.#fetch(index, entry.name, offset, ref.id, ref.size);
          promise.catch(() => undefined); // surfaced in order below
          sizes.set(promise, ref.size);
          queue.push(promise);
          queuedBytes += ref.size;
          offset += ref.size;
          while (queuedBytes > limit) {
            const next = queue.shift()!;
            if (next instanceof Promise) queuedBytes -= sizes.get(next)!;
            yield await next;
          }
        }
        if (offset !== entry.size) throw new AgentvaultError('CORRUPT', `backup ${this.manifest.id}: entry ${JSON.stringify(entry.name)} lists ${offset} bytes of chunks but ${entry.size} bytes of size`);
        queue.push({ type: 'entry-end', entry: index, size: entry.size });
      }
      while (queue.length > 0) yield await queue.shift()!;
    } finally {
      await this.#closeAll();
    }
  }

  async #fetch(entry: number, entryName: string, offset: number, id: Buffer, size: number): Promise<ChunkRecord> {
    const locations = this.index.locations(id);
    let firstError: Error | undefined;
    for (const location of locations) {
      try {
        const stored = await this.#read(location);
        if (xxh64(stored) !== location.checksum) throw new AgentvaultError('CORRUPT', `checksum mismatch in pack ${location.packId}`);
        return {
          type: 'chunk',
          entry,
          offset,
          size,
          id,
          data: stored,
          codec: location.codec,
          sealed: location.wrappedKey !== undefined,
          checksum: location.checksum,
          ...(location.wrappedKey ? { wrappedKey: location.wrappedKey } : {}),
        };
      } catch (err) {
        if (!(err instanceof AgentvaultError)) throw err;
        firstError ??= err;
      }
    }
    const where = `backup ${this.manifest.id}: the chunk at offset ${offset} of entry ${JSON.stringify(entryName)}`;
    if (!firstError) throw new AgentvaultError('MISSING_DATA', `${where} is missing from the repository`);
    const code = (firstError as AgentvaultError).code;
    throw new AgentvaultError(code === 'MISSING_DATA' ? 'MISSING_DATA' : 'CORRUPT', `${where} cannot be read: ${firstError.message}`, { cause: firstError });
  }

  #read(location: ChunkLocation): Promise<Buffer> {
    return this.#packs.read(location.packId, location.offset, location.storedLength);
  }

  #closeAll(): Promise<void> {
    return this.#packs.closeAll();
  }
}
