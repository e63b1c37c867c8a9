// Counts what passes and reports it, without touching records: put it anywhere in a pipeline.
import { Transform, type TransformCallback } from 'node:stream';
import type { AnyRecord } from '../types.js';

export interface Progress {
  /** Plaintext bytes seen so far. */
  readonly bytes: number;
  /** Expected total, when the source knows it. */
  readonly totalBytes: number | undefined;
  readonly entries: number;
  readonly currentEntry: string | undefined;
  readonly elapsedMs: number;
}

export type ProgressListener = (p: Progress) => void;

export interface ProgressStage {
  on(event: 'progress', listener: ProgressListener): this;
  on(event: string | symbol, listener: (...args: never[]) => void): this;
  once(event: 'progress', listener: ProgressListener): this;
  once(event: string | symbol, listener: (...args: never[]) => void): this;
  emit(event: 'progress', progress: Progress): boolean;
  emit(event: string | symbol, ...args: unknown[]): boolean;
}

/** Emits typed 'progress' events (and calls the listener given, if any) at most every intervalMs. */
export class ProgressStage extends Transform {
  #bytes = 0;
  #total: number | undefined;
  #entries = 0;
  #current: string | undefined;
  readonly #started = Date.now();
  #lastReport = 0;

  constructor(
    readonly listener?: ProgressListener,
    options: { totalBytes?: number; intervalMs?: number } = {},
  ) {
    // Few objects: before the chunker they are data pieces of up to 8 MiB each.
    super({ objectMode: true, highWaterMark: 2 });
    this.#total = options.totalBytes;
    this.intervalMs = options.intervalMs ?? 250;
  }

  readonly intervalMs: number;

  get progress(): Progress {
    return { bytes: this.#bytes, totalBytes: this.#total, entries: this.#entries, currentEntry: this.#current, elapsedMs: Date.now() - this.#started };
  }

  override _transform(record: AnyRecord, _e: BufferEncoding, callback: TransformCallback): void {
    if (record.type === 'data') this.#bytes += record.bytes.byteLength;
    else if (record.type === 'chunk') this.#bytes += record.size;
    else if (record.type === 'entry') {
      this.#entries++;
      this.#current = record.entry.name;
    }
    const now = Date.now();
    if (now - this.#lastReport >= this.intervalMs) {
      this.#lastReport = now;
      this.#report();
    }
    callback(null, record);
  }

  override _flush(callback: TransformCallback): void {
    this.#report();
    callback();
  }

  #report(): void {
    const p = this.progress;
    this.listener?.(p);
    this.emit('progress', p);
  }
}
