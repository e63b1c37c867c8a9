// The backup stages chunk → hash → dedup → compress → encrypt as one Duplex whose CPU work runs in
// a worker pool, with output identical to the sequential stages (the same chunks, ids and order).
//
// Each entry's bytes are copied into shared-memory segments. A worker finds a segment's candidate
// cuts by chunking it as if a chunk began at its start, and hashes those candidates. The main
// thread stitches: it continues the true chunking from the last true cut of the previous segment
// across the seam until a cut lands on one of the segment's candidate boundaries — from there on
// the candidates are exactly the sequential result, since a content-defined cut depends only on
// the bytes since the previous cut. New chunks then go back to the workers in batches to be
// compressed, sealed and checksummed.
import { Transform, type TransformCallback } from 'node:stream';
import type { FastCdcParams } from '../chunker/fastcdc.js';
import { WasmFastCdc } from '../chunker/fastcdc-wasm.js';
import { codecFromByte } from '../codecs/index.js';
import { createChunkIdHasher, type ChunkIdAlgorithm, type ChunkIdHasher } from '../crypto/chunk-id.js';
import type { BackupTask, BackupTaskResult, CutHashResult, SealResult } from '../workers/backup-worker.js';
import type { WorkerPool } from '../workers/pool.js';
import type { ChunkRecord, PipelineRecord, SourceRecord } from '../types.js';
import type { ChunkLookup } from './dedup.js';
import { STAGE_HIGH_WATER_MARK } from './record-transform.js';
import { IdSet } from '../repository/id-set.js';
import { SharedSlabs } from './shared-slabs.js';
import { SEAL_OVERHEAD } from '../crypto/aead.js';

export interface ParallelBackupOptions {
  readonly pool: WorkerPool<BackupTask, BackupTaskResult>;
  readonly chunker: FastCdcParams;
  readonly chunkId: ChunkIdAlgorithm;
  readonly idKey: Buffer;
  readonly destination: ChunkLookup;
  readonly encrypted: boolean;
  /**
   * Bytes per shared segment (default 2 MiB: against 4 MiB, with the pack writer's buffers halved
   * too, a 4 GiB backup peaked at 237-244 MiB instead of 278-284, at the same speed).
   */
  readonly segmentBytes?: number;
  /** Segments taken in but not yet out, before input waits (default: one per worker + 2). */
  readonly segmentsInFlight?: number;
}

interface Region {
  readonly data: SharedArrayBuffer;
  readonly start: number;
  readonly end: number;
}

interface EntryState {
  readonly index: number;
  /** Entry offset of the next true chunk. */
  offset: number;
  /** Bytes since the last true cut, not yet chunked (from earlier segments). */
  carry: Region[];
}

interface Chunk {
  readonly data: SharedArrayBuffer;
  readonly offset: number;
  readonly length: number;
  readonly id: Buffer;
}

/** Chunks cut on the main thread; `syncedAt` where they met the worker's candidates; `rest` not yet chunked. */
interface SequentialChunks {
  readonly chunks: Chunk[];
  readonly syncedAt?: number;
  readonly rest: Region[];
}

/** A segment's chunk records, resolved once their new chunks are sealed. */
interface Sealing {
  readonly records: Promise<PipelineRecord[]>;
}

/** Seam windows tried in turn, in maximum chunk sizes past the seam, before chunking the whole segment here. */
const SEAM_WINDOWS = [2, 8];
/** Stored bytes go in batches of about this much plaintext to one worker call. */
const SEAL_BATCH_BYTES = 1 << 20;
/** A sealed batch's room: its plaintext, plus nonce and tag per chunk (a larger one gets its own buffer). */
const SEAL_SLAB_BYTES = SEAL_BATCH_BYTES + (64 << 10);

export class ParallelBackupStage extends Transform {
  /** The seam's chunker: WebAssembly, as in the workers (the JavaScript one took ~0.2 s of this thread per GiB). */
  readonly #cdc: WasmFastCdc;
  readonly #hasher: ChunkIdHasher;
  readonly #segmentBytes: number;
  readonly #maxInFlight: number;
  readonly #seen = new IdSet();
  /** Sealed batches are written into these, lent until whoever consumes the records (the repository sink) has copied every chunk out. */
  readonly #slabs: SharedSlabs;
  /** Output in input order: ready records or promises of them. */
  readonly #out: Array<{ records: PipelineRecord[] | Promise<PipelineRecord[]>; segment: boolean }> = [];
  #readWaiter: (() => void) | undefined;
  #draining: Promise<void> | undefined;
  #failed: Error | undefined;
  #segmentsInFlight = 0;
  #waiting: (() => void) | undefined;

  /** The entry being read; stitching (which runs later) holds on to its own. */
  #entry: EntryState = { index: -1, offset: 0, carry: [] };
  #segment: SharedArrayBuffer | undefined;
  #filled = 0;
  /**
   * Segments are reused rather than left to the garbage collector: a SharedArrayBuffer is freed
   * only once every worker thread's heap has also collected its handle, which in practice let
   * hundreds of MiB pile up. A segment returns here when its chunks are sealed and its unchunked
   * tail (the carry) has been taken by the next segment's stitching.
   */
  readonly #free: SharedArrayBuffer[] = [];
  /** Segments lent to the source to read into (see `allocate`), not yet back in a data record. */
  readonly #lent = new Set<SharedArrayBuffer>();
  readonly #holds = new Map<SharedArrayBuffer, number>();
  /** All output is out: segments are no longer kept for reuse. */
  #finished = false;
  /** Stitching of the entry's segments happens strictly in order. */
  #chain: Promise<void> = Promise.resolve();

  constructor(readonly options: ParallelBackupOptions) {
    // One input object at a time: inputs are data pieces of up to 8 MiB; the stage bounds its own work.
    super({ objectMode: true, readableHighWaterMark: STAGE_HIGH_WATER_MARK, writableHighWaterMark: 1 });
    this.#cdc = new WasmFastCdc(options.chunker);
    this.#hasher = createChunkIdHasher(options.chunkId, options.idKey);
    this.#segmentBytes = Math.max(options.segmentBytes ?? 2 << 20, 4 * options.chunker.max);
    this.#maxInFlight = options.segmentsInFlight ?? options.pool.size + 2;
    this.#slabs = new SharedSlabs(SEAL_SLAB_BYTES, 4 * this.#maxInFlight + 8);
  }

  /**
   * A whole segment for the source to read into (BackupSource.records' `allocate`): when it comes
   * back as a data record it becomes the current segment as it is, so the input is never copied
   * on this thread and no 1 MiB read buffer is left for the garbage collector.
   */
  readonly allocate = (): Uint8Array => {
    const data = this.#free.pop() ?? new SharedArrayBuffer(this.#segmentBytes);
    this.#lent.add(data);
    return new Uint8Array(data);
  };

  override _transform(record: SourceRecord, _e: BufferEncoding, callback: TransformCallback): void {
    if (this.#failed) {
      callback(this.#failed);
      return;
    }
    switch (record.type) {
      case 'entry':
        this.#entry = { index: record.entry.index, offset: 0, carry: [] };
        this.#enqueue([record]);
        break;
      case 'data': {
        let bytes = record.bytes;
        const lent = bytes.buffer instanceof SharedArrayBuffer && this.#lent.delete(bytes.buffer) ? bytes.buffer : undefined;
        if (lent && !this.#segment && bytes.byteOffset === 0) {
          this.#segment = lent;
          this.#filled = bytes.length;
          if (this.#filled === this.#segmentBytes) this.#dispatch(false);
          break;
        }
        while (bytes.length > 0) {
          this.#segment ??= this.#free.pop() ?? new SharedArrayBuffer(this.#segmentBytes);
          const take = Math.min(bytes.length, this.#segmentBytes - this.#filled);
          new Uint8Array(this.#segment, this.#filled, take).set(bytes.subarray(0, take));
          this.#filled += take;
          bytes = bytes.subarray(take);
          if (this.#filled === this.#segmentBytes) this.#dispatch(false);
        }
        if (lent) this.#free.push(lent); // copied: the segment can be lent again
        break;
      }
      case 'entry-end':
        this.#dispatch(true);
        this.#enqueue([record]);
        break;
    }
    // Backpressure: hold the input while too many segments are being worked on.
    if (this.#segmentsInFlight >= this.#maxInFlight) this.#waiting = () => callback();
    else callback();
  }

  override _flush(callback: TransformCallback): void {
    this.#drained().then(() => {
      // Nothing more to read into or seal into: let the shared memory go before the sinks finish
      // (the index and manifest they write last are a backup's memory peak).
      this.#finished = true;
      this.#free.length = 0;
      this.#slabs.close();
      callback(this.#failed);
    }, callback);
  }

  /** Resolves once everything enqueued so far has been pushed. */
  async #drained(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  #enqueue(records: PipelineRecord[] | Promise<PipelineRecord[]>, segment = false): void {
    if (records instanceof Promise) records.catch((err: Error) => this.#fail(err));
    this.#out.push({ records, segment });
    this.#draining ??= this.#drain().finally(() => (this.#draining = undefined));
  }

  /**
   * The one loop that pushes output, in order; started by #enqueue, never run twice at once.
   * It waits when the reader is full, so sealed chunks never pile up in memory.
   */
  async #drain(): Promise<void> {
    while (this.#out.length > 0 && !this.#failed) {
      const item = this.#out[0]!;
      const records = await item.records;
      this.#out.shift();
      let room = true;
      for (const r of records) room = this.push(r);
      if (item.segment) this.#segmentDone();
      if (!room) await new Promise<void>((resolve) => (this.#readWaiter = resolve));
    }
  }

  override _read(size: number): void {
    const waiter = this.#readWaiter;
    this.#readWaiter = undefined;
    waiter?.();
    super._read(size);
  }

  /** A segment's records are out: let more input in. */
  #segmentDone(): void {
    this.#segmentsInFlight--;
    const resume = this.#waiting;
    this.#waiting = undefined;
    resume?.();
  }

  #fail(err: Error): void {
    if (this.#failed) return;
    this.#failed = err;
    this.destroy(err);
  }

  #hold(data: SharedArrayBuffer, count: number): void {
    this.#holds.set(data, (this.#holds.get(data) ?? 0) + count);
  }

  #release(data: SharedArrayBuffer): void {
    const left = (this.#holds.get(data) ?? 0) - 1;
    if (left > 0) {
      this.#holds.set(data, left);
      return;
    }
    this.#holds.delete(data);
    if (data.byteLength === this.#segmentBytes && !this.#finished) this.#free.push(data);
  }

  /** Lets go of the carry's segments once it has been chunked. */
  #releaseCarry(carry: readonly Region[]): void {
    for (const r of carry) if (this.#holds.has(r.data)) this.#release(r.data);
  }

  /** Sends the filled part of the current segment to a worker and chains its stitching. */
  #dispatch(final: boolean): void {
    const entry = this.#entry;
    const data = this.#segment;
    const length = this.#filled;
    this.#segment = undefined;
    this.#filled = 0;
    if (!data || length === 0) {
      // The entry ended on a segment boundary: what is carried is its last chunk(s).
      if (final) this.#enqueue(this.#chainStep(async () => this.#finishCarry(entry)));
      return;
    }
    this.#segmentsInFlight++;
    // Two holds: one until its chunks are sealed, one until its tail (the carry) is chunked.
    this.#hold(data, 2);
    const candidates = this.options.pool.run({ kind: 'cut-hash', data, start: 0, end: length, final }) as Promise<CutHashResult>;
    candidates.catch(() => undefined);
    const records = this.#chainStep(async () => this.#stitch(entry, { data, start: 0, end: length }, await candidates, final));
    records.then(
      () => this.#release(data),
      () => undefined,
    );
    this.#enqueue(records, true);
  }

  /**
   * Runs `step` (stitching) after the previous segment's stitching; the next segment may stitch
   * as soon as this one has, while this one's chunks are still being sealed.
   */
  #chainStep(step: () => Promise<Sealing>): Promise<PipelineRecord[]> {
    const stitched = this.#chain.then(step);
    this.#chain = stitched.then(
      () => undefined,
      () => undefined,
    );
    return stitched.then((s) => s.records);
  }

  /** The true chunks of a segment (sealing starts in the background). */
  #stitch(entry: EntryState, segment: Region, found: CutHashResult, final: boolean): Sealing {
    // Candidate chunk starts (and the end of the last one) → candidate index.
    const starts = new Map<number, number>();
    let at = segment.start;
    for (let i = 0; i < found.lengths.length; i++) {
      starts.set(at, i);
      at += found.lengths[i]!;
    }
    starts.set(at, found.lengths.length);
    const candidatesEnd = at;

    const chunks: Chunk[] = [];
    let adoptFrom = 0;
    const carryLength = entry.carry.reduce((n, r) => n + r.end - r.start, 0);
    // The carry's segments are read by this segment's seam chunks: let them go once those are sealed.
    const carried = entry.carry;
    if (carryLength > 0) {
      // Chunk on from the last true cut, across the seam, until a cut lands on a candidate start:
      // within a chunk or two, except in long runs of zeros (both cut them at the maximum size,
      // out of step). A short window first: the seam's bytes are copied to be chunked.
      const syncAt = (cutEnd: number) => starts.has(cutEnd - carryLength + segment.start);
      let seam: SequentialChunks | undefined;
      let reachedEnd = false;
      for (const maxChunks of SEAM_WINDOWS) {
        const windowEnd = Math.min(segment.end, segment.start + maxChunks * this.options.chunker.max);
        reachedEnd = windowEnd === segment.end;
        seam = this.#sequential([...carried, { ...segment, end: windowEnd }], final && reachedEnd, syncAt, reachedEnd);
        if (seam.syncedAt !== undefined || reachedEnd) break;
      }
      if (seam?.syncedAt === undefined) {
        // No sync near the seam (rare): the whole segment is chunked on this thread (it was already,
        // when the last window reached the segment's end).
        const all = reachedEnd ? seam! : this.#sequential([...carried, segment], final, () => false, true);
        entry.carry = all.rest;
        // The segment's second hold is for its unchunked tail: kept while the new carry is in it.
        if (!all.rest.some((r) => r.data === segment.data)) this.#release(segment.data);
        return this.#sealedThenRelease(this.#records(entry, all.chunks), carried, all.rest);
      }
      chunks.push(...seam.chunks);
      adoptFrom = starts.get(seam.syncedAt - carryLength + segment.start)!;
    }
    let pos = segment.start;
    for (let i = 0; i < found.lengths.length; i++) {
      const length = found.lengths[i]!;
      if (i >= adoptFrom) chunks.push({ data: segment.data, offset: pos, length, id: Buffer.from(found.ids.buffer, found.ids.byteOffset + i * 32, 32) });
      pos += length;
    }
    if (final && candidatesEnd < segment.end) throw new Error('internal: a final segment was left partly unchunked');
    entry.carry = candidatesEnd < segment.end ? [{ data: segment.data, start: candidatesEnd, end: segment.end }] : [];
    if (entry.carry.length === 0) this.#release(segment.data);
    return this.#sealedThenRelease(this.#records(entry, chunks), carried, entry.carry);
  }

  /**
   * The records, once sealed, let go of the old carry's segments (seam chunks lay in them), except
   * those the new carry still lies in: their hold passes on to it.
   */
  #sealedThenRelease(records: Promise<PipelineRecord[]>, carried: readonly Region[], carry: readonly Region[]): Sealing {
    const done = carried.filter((r) => !carry.some((c) => c.data === r.data));
    if (done.length > 0) {
      records.then(
        () => this.#releaseCarry(done),
        () => undefined,
      );
    }
    return { records };
  }

  /**
   * Sequential chunking of the regions, on this thread. Stops after the first cut whose end
   * `syncAt` accepts; with `final`, chunks to the end. `rest` is what is left unchunked. Unless
   * `keep`, a result without a sync is not wanted (a wider window comes next): no chunk is made.
   * Chunks lie where their bytes are; only one that spans two regions is copied, to be sealed.
   */
  #sequential(parts: readonly Region[], final: boolean, syncAt: (cutEnd: number) => boolean, keep: boolean): SequentialChunks {
    const lengths = this.#cdc.cutParts(
      parts.map((r) => new Uint8Array(r.data, r.start, r.end - r.start)),
      final,
    );
    let count = 0;
    let end = 0;
    let syncedAt: number | undefined;
    while (count < lengths.length && syncedAt === undefined) {
      end += lengths[count++]!;
      if (syncAt(end)) syncedAt = end;
    }
    if (syncedAt === undefined && !keep) return { chunks: [], rest: [] };
    const chunks: Chunk[] = [];
    const cursor = new RegionCursor(parts);
    for (let i = 0; i < count; i++) {
      const length = lengths[i]!;
      const { data, offset } = cursor.take(length);
      chunks.push({ data, offset, length, id: this.#hasher.id(Buffer.from(data, offset, length)) });
    }
    return syncedAt !== undefined ? { chunks, syncedAt, rest: [] } : { chunks, rest: cursor.rest() };
  }

  /** At an entry's end with bytes carried and no new segment: chunk them to the end. */
  #finishCarry(entry: EntryState): Sealing {
    const carry = entry.carry;
    entry.carry = [];
    if (carry.length === 0) return { records: Promise.resolve([]) };
    const { chunks } = this.#sequential(carry, true, () => false, true);
    return this.#sealedThenRelease(this.#records(entry, chunks), carry, []);
  }

  /** Dedup in order, then seal the new chunks in batches on the workers. */
  #records(entry: EntryState, chunks: Chunk[]): Promise<PipelineRecord[]> {
    const records: ChunkRecord[] = [];
    const fresh: Array<{ chunk: Chunk; record: ChunkRecord }> = [];
    for (const chunk of chunks) {
      const record: ChunkRecord = { type: 'chunk', entry: entry.index, offset: entry.offset, size: chunk.length, data: null, id: chunk.id };
      entry.offset += chunk.length;
      if (this.#seen.has(chunk.id) || this.options.destination.has(chunk.id)) record.known = true;
      else {
        this.#seen.add(chunk.id);
        fresh.push({ chunk, record });
      }
      records.push(record);
    }
    const batches: Array<Promise<void>> = [];
    for (let i = 0; i < fresh.length; ) {
      let bytes = 0;
      let j = i;
      while (j < fresh.length && (j === i || bytes + fresh[j]!.chunk.length <= SEAL_BATCH_BYTES)) bytes += fresh[j++]!.chunk.length;
      batches.push(this.#seal(fresh.slice(i, j)));
      i = j;
    }
    return Promise.all(batches).then(() => records);
  }

  async #seal(batch: Array<{ chunk: Chunk; record: ChunkRecord }>): Promise<void> {
    const ids = new Uint8Array(batch.length * 32);
    const buffers: SharedArrayBuffer[] = [];
    const refs = new Int32Array(batch.length * 3);
    let bound = 0;
    batch.forEach(({ chunk }, i) => {
      ids.set(chunk.id, i * 32);
      let b = buffers.indexOf(chunk.data);
      if (b < 0) b = buffers.push(chunk.data) - 1;
      refs[i * 3] = b;
      refs[i * 3 + 1] = chunk.offset;
      refs[i * 3 + 2] = chunk.length;
      bound += chunk.length + SEAL_OVERHEAD;
    });
    // Without a slab (an odd size, or a consumer that does not release) the worker returns a fresh buffer.
    const slab = this.#slabs.lend(bound, batch.length);
    const task = { kind: 'seal' as const, buffers, refs, ids, ...(slab ? { out: slab.buffer } : {}) };
    const result = (await this.options.pool.run(task, [refs.buffer as ArrayBuffer, ids.buffer as ArrayBuffer])) as SealResult;
    const stored = Buffer.from(slab ? slab.buffer : result.stored!);
    let at = 0;
    batch.forEach(({ record }, i) => {
      const length = result.lengths[i]!;
      if (slab) record.release = slab.release;
      record.data = stored.subarray(at, at + length);
      record.codec = codecFromByte(result.codecs[i]!);
      record.sealed = this.options.encrypted;
      record.checksum = result.checksums[i]!;
      at += length;
    });
  }
}

/** Walks regions in order, handing out where each next chunk's bytes lie. */
class RegionCursor {
  #part = 0;
  /** Offset into the current region. */
  #at = 0;

  constructor(readonly parts: readonly Region[]) {}

  /** The next `length` bytes: in place when one region holds them, else copied into a buffer of their own. */
  take(length: number): { data: SharedArrayBuffer; offset: number } {
    this.#skipSpent();
    const part = this.parts[this.#part]!;
    const offset = part.start + this.#at;
    if (offset + length <= part.end) {
      this.#at += length;
      return { data: part.data, offset };
    }
    const joined = new Uint8Array(new SharedArrayBuffer(length));
    for (let filled = 0; filled < length; ) {
      this.#skipSpent();
      const r = this.parts[this.#part]!;
      const take = Math.min(length - filled, r.end - r.start - this.#at);
      joined.set(new Uint8Array(r.data, r.start + this.#at, take), filled);
      filled += take;
      this.#at += take;
    }
    return { data: joined.buffer as SharedArrayBuffer, offset: 0 };
  }

  /** The bytes not taken. */
  rest(): Region[] {
    this.#skipSpent();
    const rest: Region[] = [];
    for (let i = this.#part; i < this.parts.length; i++) {
      const r = this.parts[i]!;
      const start = i === this.#part ? r.start + this.#at : r.start;
      if (start < r.end) rest.push({ data: r.data, start, end: r.end });
    }
    return rest;
  }

  #skipSpent(): void {
    while (this.#part < this.parts.length && this.#at >= this.parts[this.#part]!.end - this.parts[this.#part]!.start) {
      this.#part++;
      this.#at = 0;
    }
  }
}
