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

/** Small stored chunks remembered by id (a zero page's chunk compresses to a few bytes). */
const RECENT_CHUNKS = 64;
const RECENT_MAX_BYTES = 4096;

/** Largest single read of consecutive chunks. */
const MAX_RUN_BYTES = 4 << 20;

interface ReadRun {
  readonly packId: string;
  readonly start: number;
  end: number;
  bytes: Promise<Buffer> | undefined;
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
    // Stored bytes, not records: a record is handed on and decoded in place downstream, so a later
    // repeat must not read its (by then plaintext) `data`.
    const recent = new Map<string, Promise<Buffer>>();
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
        let run: ReadRun | undefined;
        for (const ref of chunkRefs(entry)) {
          if (this.options.omit?.(ref.id)) {
            run = undefined;
            queue.push({ type: 'chunk', entry: index, offset, size: ref.size, id: ref.id, data: null, known: true });
            offset += ref.size;
            continue;
          }
          const location = this.index.get(ref.id);
          // A chunk met again (zero pages!) is served from what was read for it before, so it
          // neither costs a read nor breaks the run of chunks stored back to back.
          const key = ref.id.toString('latin1');
          const earlier = location ? recent.get(key) : undefined;
          if (earlier && location) {
            const at = offset; // `offset` moves on before the promise settles
            const repeat = earlier.then((stored) => this.#record(index, at, ref.size, ref.id, stored, location));
            repeat.catch(() => undefined);
            sizes.set(repeat, ref.size);
            queue.push(repeat);
            queuedBytes += ref.size;
            offset += ref.size;
            continue;
          }
          // Chunks stored back to back in one pack are read with one call. Records are handed on
          // only between runs: a run's read starts once we wait, so it must be complete by then.
          if (!run || !location || run.bytes !== undefined || location.packId !== run.packId || location.offset !== run.end || run.end - run.start + location.storedLength > MAX_RUN_BYTES) {
            while (queuedBytes > limit) {
              const next = queue.shift()!;
              if (next instanceof Promise) queuedBytes -= sizes.get(next)!;
              yield await next;
            }
            run = location ? { packId: location.packId, start: location.offset, end: location.offset, bytes: undefined } : undefined;
          }
          let promise: Promise<ChunkRecord>;
          if (run && location) {
            const from = run.end - run.start;
            run.end += location.storedLength;
            promise = this.#fromRun(run, from, location, index, entry.name, offset, ref.id, ref.size);
          } else promise = this.#fetch(index, entry.name, offset, ref.id, ref.size);
          promise.catch(() => undefined); // surfaced in order below
          if (location && location.storedLength <= RECENT_MAX_BYTES) {
            const stored = promise.then((r) => r.data!);
            stored.catch(() => undefined);
            recent.set(key, stored);
            if (recent.size > RECENT_CHUNKS) recent.delete(recent.keys().next().value!);
          }
          sizes.set(promise, ref.size);
          queue.push(promise);
          queuedBytes += ref.size;
          offset += ref.size;
        }
        if (offset !== entry.size) throw new AgentvaultError('CORRUPT', `backup ${this.manifest.id}: entry ${JSON.stringify(entry.name)} lists ${offset} bytes of chunks but ${entry.size} bytes of size`);
        queue.push({ type: 'entry-end', entry: index, size: entry.size });
      }
      while (queue.length > 0) yield await queue.shift()!;
    } finally {
      await this.#closeAll();
    }
  }

  /** A chunk out of a coalesced read; on any trouble, the chunk is fetched alone (other copies too). */
  async #fromRun(run: ReadRun, from: number, location: ChunkLocation, entry: number, entryName: string, offset: number, id: Buffer, size: number): Promise<ChunkRecord> {
    // The run's read starts on the first wait of the generator, which happens only between runs.
    await Promise.resolve();
    run.bytes ??= this.#readRun(run);
    try {
      const bytes = await run.bytes;
      const stored = bytes.subarray(from, from + location.storedLength);
      if (xxh64(stored) === location.checksum) return this.#record(entry, offset, size, id, stored, location);
    } catch (err) {
      if (!(err instanceof AgentvaultError)) throw err;
    }
    return this.#fetch(entry, entryName, offset, id, size);
  }

  #readRun(run: ReadRun): Promise<Buffer> {
    // Plain memory: a fresh SharedArrayBuffer costs a page fault per 4 KiB on first touch (reading
    // into one was 5x slower here); handing a run to a worker copies it once, at memcpy speed.
    return this.#packs.read(run.packId, run.start, run.end - run.start);
  }

  #record(entry: number, offset: number, size: number, id: Buffer, stored: Buffer, location: ChunkLocation): ChunkRecord {
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
  }

  async #fetch(entry: number, entryName: string, offset: number, id: Buffer, size: number): Promise<ChunkRecord> {
    const locations = this.index.locations(id);
    let firstError: Error | undefined;
    for (const location of locations) {
      try {
        const stored = await this.#read(location);
        if (xxh64(stored) !== location.checksum) throw new AgentvaultError('CORRUPT', `checksum mismatch in pack ${location.packId}`);
        return this.#record(entry, offset, size, id, stored, location);
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
