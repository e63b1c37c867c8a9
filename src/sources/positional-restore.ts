// Restore's positional path, for sinks that write local files (FileSink, DirectorySink) from a
// repository on local disk: the workers read each range of a file from the packs themselves,
// open its chunks (checksum, decrypt, decompress, verify the id) and write it into the sink's
// file at its position. What flows to the sink is entry records and one `written` chunk record
// per range, in order, once the range is in place — so the sink still creates, syncs, commits or
// removes everything, and progress and the order checks see every byte. The main thread only
// plans: no pack reads, no copies, no plaintext to collect (restic's restorer works the same way).
//
// A range whose task fails (a damaged or missing copy, a short pack) is done again on the record
// path: its chunks fetched one by one from the first copy that reads back intact, opened in a
// worker, and sent to the sink as plaintext — with the same errors as the record path when no
// copy is good.
import { Readable } from 'node:stream';
import { AgentvaultError, describeIoError } from '../errors.js';
import type { ChunkIndex } from '../repository/chunk-index.js';
import { chunkRefs, type Manifest } from '../repository/manifest.js';
import { codecByte } from '../codecs/index.js';
import type { PositionalTarget } from '../sinks/files.js';
import { openChunkRecords, TaskKeys } from '../stages/parallel-restore.js';
import type { WorkerPool } from '../workers/pool.js';
import { REF_FIELDS, type RestoreResult, type RestoreTask, type WriteResult, type WriteTask } from '../workers/restore-protocol.js';
import type { ChunkRecord, PipelineRecord } from '../types.js';
import { checkEntrySize, entryRecord, type RepositorySource } from './repository.js';

export interface PositionalRestoreOptions {
  readonly pool: WorkerPool<RestoreTask, RestoreResult>;
  /** Unwraps (and caches) the data key of a sealed chunk. */
  readonly dataKey: (wrapped: Buffer) => Buffer;
  /** Where the files are: the sink. */
  readonly target: PositionalTarget;
  /** A pack's path on local disk. */
  readonly packPath: (packId: string) => string;
  /**
   * Plaintext bytes per worker task (default 1 MiB). Smaller tasks leave the workers less scratch
   * and their allocators less to keep, at the same speed down to 1 MiB: a 4 GiB restore peaked at
   * 205-252 MiB against 242-276 with 2 MiB tasks (and ~60 MiB more with 4 MiB); 512 KiB tasks
   * were ~5% slower at 1 GiB.
   */
  readonly taskBytes?: number;
}

/** One range of a file, handed to a worker. */
interface RangeTask {
  readonly entry: number;
  readonly offset: number;
  readonly size: number;
  /** Ids and plain sizes of its chunks, kept for the fallback (the task gets copies). */
  readonly ids: Uint8Array;
  readonly refs: Float64Array;
  readonly work: Promise<WriteResult>;
}

/** Builds one range task's tables chunk by chunk. */
class RangeBuilder {
  readonly #packs = new Map<string, number>();
  readonly packPaths: string[] = [];
  readonly #keys: TaskKeys;
  refs = new Float64Array(64 * REF_FIELDS);
  checksums = new BigUint64Array(64);
  ids = new Uint8Array(64 * 32);
  count = 0;
  plainBytes = 0;

  constructor(
    readonly entry: number,
    readonly offset: number,
    dataKey: (wrapped: Buffer) => Buffer,
    readonly packPath: (packId: string) => string,
  ) {
    this.#keys = new TaskKeys(dataKey);
  }

  get keys(): Buffer[] {
    return this.#keys.keys;
  }

  add(index: ChunkIndex, id: Buffer, size: number): void {
    const location = index.get(id);
    // restore() checked that every chunk is indexed before it started.
    if (!location) throw new AgentvaultError('MISSING_DATA', 'a chunk is missing from the index');
    if (this.count * REF_FIELDS === this.refs.length) this.#grow();
    let pack = this.#packs.get(location.packId);
    if (pack === undefined) {
      pack = this.packPaths.push(this.packPath(location.packId)) - 1;
      this.#packs.set(location.packId, pack);
    }
    const r = this.count * REF_FIELDS;
    this.refs[r] = pack;
    this.refs[r + 1] = location.offset;
    this.refs[r + 2] = location.storedLength;
    this.refs[r + 3] = size;
    this.refs[r + 4] = codecByte(location.codec);
    this.refs[r + 5] = location.wrappedKey ? this.#keys.number(location.wrappedKey) : -1;
    this.checksums[this.count] = location.checksum;
    this.ids.set(id, this.count * 32);
    this.count++;
    this.plainBytes += size;
  }

  #grow(): void {
    const refs = new Float64Array(this.refs.length * 2);
    refs.set(this.refs);
    this.refs = refs;
    const checksums = new BigUint64Array(this.checksums.length * 2);
    checksums.set(this.checksums);
    this.checksums = checksums;
    const ids = new Uint8Array(this.ids.length * 2);
    ids.set(this.ids);
    this.ids = ids;
  }
}

export class PositionalRestoreSource {
  constructor(
    readonly source: RepositorySource,
    readonly options: PositionalRestoreOptions,
  ) {}

  get manifest(): Manifest {
    return this.source.manifest;
  }

  records(): Readable {
    return Readable.from(this.#generate(), { objectMode: true, highWaterMark: 16 });
  }

  async *#generate(): AsyncGenerator<PipelineRecord> {
    try {
      yield* this.#ranges();
    } finally {
      await this.source.close(); // the fallback's pack files
    }
  }

  async *#ranges(): AsyncGenerator<PipelineRecord> {
    const { pool } = this.options;
    const taskBytes = this.options.taskBytes ?? 1 << 20;
    // Enough to keep every worker's inbox full while the main thread waits on the oldest.
    const inFlight = pool.size * 2 + 2;
    const names = new Map<number, string>();
    const pending: RangeTask[] = [];
    const entries = this.source.options.entries;
    for (const [index, entry] of this.manifest.entries.entries()) {
      if (entries && !entries.has(index)) continue;
      names.set(index, entry.name);
      yield entryRecord(index, entry);
      let offset = 0;
      if (entry.chunks.length > 0) {
        const path = await this.options.target.entryPath(index);
        let range: RangeBuilder | undefined;
        const submit = () => {
          if (!range || range.count === 0) return;
          pending.push(this.#submit(range, path));
          range = undefined;
        };
        for (const ref of chunkRefs(entry)) {
          range ??= new RangeBuilder(index, offset, this.options.dataKey, this.options.packPath);
          range.add(this.source.index, ref.id, ref.size);
          offset += ref.size;
          if (range.plainBytes >= taskBytes) {
            submit();
            while (pending.length >= inFlight) yield* this.#settle(pending.shift()!, names, path);
          }
        }
        submit();
        // The sink syncs and closes the file at entry-end: every range must be in place first.
        while (pending.length > 0) yield* this.#settle(pending.shift()!, names, path);
      }
      checkEntrySize(this.manifest, entry, offset);
      yield { type: 'entry-end', entry: index, size: entry.size };
    }
  }

  #submit(range: RangeBuilder, path: string): RangeTask {
    const n = range.count;
    const refs = range.refs.subarray(0, n * REF_FIELDS);
    const ids = range.ids.subarray(0, n * 32);
    const task: WriteTask = {
      kind: 'write',
      packs: range.packPaths,
      refs,
      checksums: range.checksums.subarray(0, n),
      ids,
      keys: range.keys,
      target: path,
      position: range.offset,
      sparse: this.options.target.sparse,
    };
    // The worker answers a write task with a WriteResult. Nothing is transferred: the tables are
    // small, and this side keeps them for the fallback.
    const work = this.options.pool.run(task) as Promise<WriteResult>;
    work.catch(() => undefined); // awaited in order by #settle; a restore that fails first leaves it
    return { entry: range.entry, offset: range.offset, size: range.plainBytes, ids, refs, work };
  }

  async *#settle(range: RangeTask, names: ReadonlyMap<number, string>, path: string): AsyncGenerator<PipelineRecord> {
    let result: WriteResult;
    try {
      result = await range.work;
    } catch (err) {
      throw describeIoError(err, `restoring to ${path}`);
    }
    if (result.ok) {
      if (result.written !== range.size) throw new AgentvaultError('CORRUPT', `internal error: a worker wrote ${result.written} bytes of a ${range.size}-byte range`);
      const record: ChunkRecord = { type: 'chunk', entry: range.entry, offset: range.offset, size: range.size, data: null, written: true };
      yield record;
      return;
    }
    // The record path for this range: each chunk from its first good copy, opened in a worker.
    const name = names.get(range.entry)!;
    const records: PipelineRecord[] = [];
    let offset = range.offset;
    for (let i = 0; i < range.refs.length / REF_FIELDS; i++) {
      const size = range.refs[i * REF_FIELDS + 3]!;
      records.push(await this.source.fetchChunk(range.entry, name, offset, Buffer.from(range.ids.subarray(i * 32, i * 32 + 32)), size));
      offset += size;
    }
    yield* await openChunkRecords(records, { pool: this.options.pool, dataKey: this.options.dataKey }, names);
  }
}
