// Reads a backup back out of a repository: entry records and chunk records carrying the stored
// (still sealed, still compressed) bytes, in manifest order, with reads running ahead of the
// consumer. Checksums are checked here so that a damaged copy of a chunk can fall back to
// another copy (a full backup keeps its own); the verify stages check everything again.
import { Readable } from 'node:stream';
import { xxh64 } from '../crypto/checksum.js';
import { AgentvaultError } from '../errors.js';
import { OpenFileCache } from '../backend/file-cache.js';
import type { ChunkIndex, ChunkLocation } from '../repository/chunk-index.js';
import { chunkRefs, type Manifest, type ManifestEntry } from '../repository/manifest.js';
import type { Repository } from '../repository/repository.js';
import type { ChunkRecord, EntryRecord, PipelineRecord } from '../types.js';

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
/** Most chunks handed on as one run (a run of repeated zero pages reads nothing). */
const MAX_RUN_CHUNKS = 1024;

/** One chunk of a run: its bytes are in this run's read, or (a repeat) in an earlier run's. */
interface RunSlot {
  readonly entry: number;
  readonly entryName: string;
  readonly offset: number;
  readonly id: Buffer;
  readonly size: number;
  readonly location: ChunkLocation;
  /** Where the stored bytes are: in a run's read (from its start), or a copy of a repeated chunk's. */
  readonly at: RunBytes;
}

type RunBytes = { readonly holder: ReadRun; readonly from: number; readonly length: number } | { readonly copy: Promise<Buffer> };

/** Chunks stored back to back in one pack, read with one call; records are made per run, not per chunk. */
interface ReadRun {
  readonly packId: string;
  readonly start: number;
  end: number;
  readonly slots: RunSlot[];
  bytes?: Promise<Buffer>;
  plainBytes: number;
}

/** A queued run: its records, once read. */
interface PendingRun {
  readonly records: Promise<ChunkRecord[]>;
  readonly plainBytes: number;
}

/** The entry record a restore starts an entry with, from the manifest's entry. */
export function entryRecord(index: number, entry: ManifestEntry): EntryRecord {
  return {
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
  };
}

/** An entry's chunks must add up to its size: a manifest that says otherwise is corrupt. */
export function checkEntrySize(manifest: Manifest, entry: ManifestEntry, chunkBytes: number): void {
  if (chunkBytes !== entry.size) throw new AgentvaultError('CORRUPT', `backup ${manifest.id}: entry ${JSON.stringify(entry.name)} lists ${chunkBytes} bytes of chunks but ${entry.size} bytes of size`);
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
    const queue: Array<PipelineRecord | PendingRun> = [];
    let queuedBytes = 0;
    // Small chunks seen lately, for repeats. Once their run is closed they are kept as copies:
    // a view would keep the whole run's read (up to 4 MiB) alive.
    const recent = new Map<string, RunBytes>();
    let run: ReadRun | undefined;
    const close = () => {
      if (!run) return;
      const closing = run;
      run = undefined;
      // The run is complete once closed: its read starts now.
      if (closing.end > closing.start) {
        const bytes = this.#packs.read(closing.packId, closing.start, closing.end - closing.start);
        closing.bytes = bytes;
        for (const [key, at] of recent) {
          if (!('holder' in at) || at.holder !== closing) continue;
          const copy = bytes.then((b) => Buffer.from(b.subarray(at.from, at.from + at.length)));
          copy.catch(() => undefined);
          recent.set(key, { copy });
        }
      }
      const records = this.#runRecords(closing);
      records.catch(() => undefined); // surfaced in order below
      queue.push({ records, plainBytes: closing.plainBytes });
      queuedBytes += closing.plainBytes;
    };
    try {
      for (const [index, entry] of this.manifest.entries.entries()) {
        if (this.options.entries && !this.options.entries.has(index)) continue;
        close();
        queue.push(entryRecord(index, entry));
        let offset = 0;
        for (const ref of chunkRefs(entry)) {
          if (this.options.omit?.(ref.id)) {
            close();
            queue.push({ type: 'chunk', entry: index, offset, size: ref.size, id: ref.id, data: null, known: true });
            offset += ref.size;
            continue;
          }
          const location = this.index.get(ref.id);
          if (!location) {
            // Not indexed: checkComplete() was skipped. Fails in order, naming the chunk.
            close();
            const at = offset;
            const records = this.fetchChunk(index, entry.name, at, ref.id, ref.size).then((r) => [r]);
            records.catch(() => undefined);
            queue.push({ records, plainBytes: ref.size });
            offset += ref.size;
            continue;
          }
          // A chunk met again (zero pages!) is served from what was read for it before, so it
          // neither costs a read nor breaks the run of chunks stored back to back.
          const key = location.storedLength <= RECENT_MAX_BYTES ? ref.id.toString('latin1') : undefined;
          const earlier = key !== undefined ? recent.get(key) : undefined;
          const full = !run || run.slots.length >= MAX_RUN_CHUNKS;
          if (full || (!earlier && (location.packId !== run!.packId || location.offset !== run!.end || run!.end - run!.start + location.storedLength > MAX_RUN_BYTES))) {
            close();
            while (queuedBytes > limit) {
              const next = queue.shift()!;
              if ('records' in next) {
                queuedBytes -= next.plainBytes;
                for (const r of await next.records) yield r;
              } else yield next;
            }
            run = { packId: location.packId, start: location.offset, end: location.offset, slots: [], plainBytes: 0 };
          }
          let at: RunBytes;
          if (earlier) at = earlier;
          else {
            at = { holder: run!, from: run!.end - run!.start, length: location.storedLength };
            run!.end += location.storedLength;
            if (key !== undefined) {
              recent.set(key, at);
              if (recent.size > RECENT_CHUNKS) recent.delete(recent.keys().next().value!);
            }
          }
          run!.slots.push({ entry: index, entryName: entry.name, offset, id: ref.id, size: ref.size, location, at });
          run!.plainBytes += ref.size;
          offset += ref.size;
        }
        close();
        checkEntrySize(this.manifest, entry, offset);
        queue.push({ type: 'entry-end', entry: index, size: entry.size });
      }
      while (queue.length > 0) {
        const next = queue.shift()!;
        if ('records' in next) for (const r of await next.records) yield r;
        else yield next;
      }
    } finally {
      await this.#closeAll();
    }
  }

  /** A run's records; a chunk whose bytes fail their checksum (or whose read failed) is fetched alone, other copies too. */
  async #runRecords(run: ReadRun): Promise<ChunkRecord[]> {
    const records: ChunkRecord[] = [];
    for (const slot of run.slots) {
      let stored: Buffer | undefined;
      try {
        const { at } = slot;
        stored = 'copy' in at ? await at.copy : (await at.holder.bytes!).subarray(at.from, at.from + at.length);
      } catch (err) {
        if (!(err instanceof AgentvaultError)) throw err;
      }
      if (stored && xxh64(stored) === slot.location.checksum) records.push(this.#record(slot.entry, slot.offset, slot.size, slot.id, stored, slot.location));
      else records.push(await this.fetchChunk(slot.entry, slot.entryName, slot.offset, slot.id, slot.size));
    }
    return records;
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

  /** One chunk's record with its stored bytes, from the first of its copies that reads back with the right checksum. */
  async fetchChunk(entry: number, entryName: string, offset: number, id: Buffer, size: number): Promise<ChunkRecord> {
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

  /** Closes the pack files fetchChunk() opened (records() closes them itself when it ends). */
  close(): Promise<void> {
    return this.#closeAll();
  }

  #closeAll(): Promise<void> {
    return this.#packs.closeAll();
  }
}
