// The restore-side checks and decoding (checksum → decrypt → decompress → verify id) as one Duplex whose
// work runs in a worker pool, batch by batch, with the output in input order and the same
// errors the sequential stages give.
import { Transform, type TransformCallback } from 'node:stream';
import { codecByte } from '../codecs/index.js';
import { AgentvaultError } from '../errors.js';
import { KeyNumbers } from '../repository/key-numbers.js';
import { REF_FIELDS, type OpenResult, type OpenTask, type RestoreResult, type RestoreTask } from '../workers/restore-protocol.js';
import type { WorkerPool } from '../workers/pool.js';
import type { ChunkRecord, PipelineRecord } from '../types.js';
import { STAGE_HIGH_WATER_MARK } from './record-transform.js';

export interface ParallelRestoreOptions {
  readonly pool: WorkerPool<RestoreTask, RestoreResult>;
  /** Unwraps (and caches) the data key of a sealed chunk. */
  readonly dataKey: (wrapped: Buffer) => Buffer;
  /** Plaintext bytes per worker call (default 1 MiB). */
  readonly batchBytes?: number;
}

const BATCHES_IN_FLIGHT = 8;

export class ParallelRestoreStage extends Transform {
  #batch: PipelineRecord[] = [];
  #batchBytes = 0;
  readonly #out: Array<Promise<PipelineRecord[]>> = [];
  #draining: Promise<void> | undefined;
  #failed: Error | undefined;
  #waiting: (() => void) | undefined;
  #readWaiter: (() => void) | undefined;
  readonly #names = new Map<number, string>();

  constructor(readonly options: ParallelRestoreOptions) {
    super({ objectMode: true, readableHighWaterMark: STAGE_HIGH_WATER_MARK, writableHighWaterMark: 16 });
  }

  override _transform(record: PipelineRecord, _e: BufferEncoding, callback: TransformCallback): void {
    if (this.#failed) {
      callback(this.#failed);
      return;
    }
    if (record.type === 'entry') this.#names.set(record.entry.index, record.entry.name);
    this.#batch.push(record);
    if (record.type === 'chunk' && record.data) this.#batchBytes += record.size;
    if (this.#batchBytes >= (this.options.batchBytes ?? 1 << 20)) this.#send();
    if (this.#out.length >= BATCHES_IN_FLIGHT) this.#waiting = () => callback();
    else callback();
  }

  override _flush(callback: TransformCallback): void {
    this.#send();
    (async () => {
      while (this.#draining) await this.#draining;
    })().then(() => callback(this.#failed), callback);
  }

  override _read(size: number): void {
    const waiter = this.#readWaiter;
    this.#readWaiter = undefined;
    waiter?.();
    super._read(size);
  }

  #send(): void {
    const records = this.#batch;
    this.#batch = [];
    this.#batchBytes = 0;
    if (records.length === 0) return;
    const work = openChunkRecords(records, this.options, this.#names);
    work.catch((err: Error) => this.#fail(err));
    this.#out.push(work);
    this.#draining ??= this.#drain().finally(() => (this.#draining = undefined));
  }

  async #drain(): Promise<void> {
    while (this.#out.length > 0 && !this.#failed) {
      const records = await this.#out[0]!;
      this.#out.shift();
      const resume = this.#waiting;
      this.#waiting = undefined;
      resume?.();
      let room = true;
      for (const r of records) room = this.push(r);
      if (!room) await new Promise<void>((resolve) => (this.#readWaiter = resolve));
    }
  }

  #fail(err: Error): void {
    if (this.#failed) return;
    this.#failed = err;
    this.destroy(err);
  }
}

/** The data keys of one task, each unwrapped once (and cached by the repository) and numbered in the order met. */
export class TaskKeys {
  readonly keys: Buffer[] = [];
  readonly #numbers = new KeyNumbers();

  constructor(readonly dataKey: (wrapped: Buffer) => Buffer) {}

  /** The key's number in `keys`. */
  number(wrapped: Buffer): number {
    const n = this.#numbers.number(wrapped);
    if (n === this.keys.length) this.keys.push(this.dataKey(wrapped));
    return n;
  }
}

/**
 * Opens the stored chunks among `records` in one worker task and gives the records back with
 * their plaintext (errors name the entry, from `names`, and the offset).
 */
export async function openChunkRecords(records: PipelineRecord[], options: ParallelRestoreOptions, names: ReadonlyMap<number, string>): Promise<PipelineRecord[]> {
  const chunks = records.filter((r): r is ChunkRecord => r.type === 'chunk' && r.data !== null);
  if (chunks.length === 0) return records;
  const keys = new TaskKeys(options.dataKey);
  const ids = new Uint8Array(chunks.length * 32);
  // The batch's stored bytes, copied once into one buffer that is transferred: posting the
  // buffers they sit in would clone a whole 4 MiB run for every batch that touches it.
  const storedTotal = chunks.reduce((n, c) => n + c.data!.length, 0);
  const packed = Buffer.from(new ArrayBuffer(storedTotal));
  let packedAt = 0;
  const refs = new Int32Array(chunks.length * REF_FIELDS);
  const checksums = new BigUint64Array(chunks.length);
  chunks.forEach((c, i) => {
    ids.set(c.id!, i * 32);
    let key = -1;
    if (c.sealed) {
      if (!c.wrappedKey) throw new AgentvaultError('CORRUPT', 'a sealed chunk has no data key');
      key = keys.number(c.wrappedKey);
    }
    const data = c.data!;
    data.copy(packed, packedAt);
    const r = i * REF_FIELDS;
    refs[r] = 0;
    refs[r + 1] = packedAt;
    refs[r + 2] = data.length;
    refs[r + 3] = c.size;
    refs[r + 4] = codecByte(c.codec ?? 'none');
    refs[r + 5] = key;
    packedAt += data.length;
    if (c.checksum === undefined) throw new AgentvaultError('CORRUPT', 'a stored chunk has no checksum');
    checksums[i] = c.checksum;
  });
  const task: OpenTask = { kind: 'open', buffers: [packed.buffer], refs, checksums, ids, keys: keys.keys };
  // The worker answers an open task with an OpenResult.
  const result = (await options.pool.run(task, [packed.buffer, refs.buffer as ArrayBuffer, checksums.buffer as ArrayBuffer, ids.buffer as ArrayBuffer])) as OpenResult;
  if (!result.ok) {
    const bad = chunks[result.index]!;
    const name = names.get(bad.entry);
    throw new AgentvaultError('CORRUPT', `chunk of ${name !== undefined ? `entry ${JSON.stringify(name)}` : `entry #${bad.entry}`} at offset ${bad.offset} ${result.reason}`);
  }
  const plain = Buffer.from(result.plain);
  let at = 0;
  chunks.forEach((c, i) => {
    c.data = plain.subarray(at, at + result.lengths[i]!);
    c.sealed = false;
    c.codec = 'none';
    at += result.lengths[i]!;
  });
  return records;
}
