// Cuts each entry's bytes into content-defined chunks (FastCDC-2020 with the repository's seed).
// Input: entry / data / entry-end records. Output: entry / chunk / entry-end records.
//
// Bytes are gathered until at least `max` are buffered (or the entry ends), so every cut is
// decided exactly once and the output is the same however the input was split.
import { Transform, type TransformCallback } from 'node:stream';
import { FastCdc2020, type FastCdcParams } from '../chunker/fastcdc.js';
import type { ChunkRecord, SourceRecord, PipelineRecord } from '../types.js';
import { STAGE_HIGH_WATER_MARK } from './record-transform.js';

export class ChunkStage extends Transform {
  readonly #cdc: FastCdc2020;
  readonly #max: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #entry = -1;
  #offset = 0;

  constructor(params: FastCdcParams) {
    super({ objectMode: true, readableHighWaterMark: STAGE_HIGH_WATER_MARK, writableHighWaterMark: 16 });
    this.#cdc = new FastCdc2020(params);
    this.#max = params.max;
  }

  override _transform(record: SourceRecord, _e: BufferEncoding, callback: TransformCallback): void {
    switch (record.type) {
      case 'entry':
        this.#entry = record.entry.index;
        this.#offset = 0;
        this.push(record satisfies PipelineRecord);
        break;
      case 'data':
        if (record.bytes.byteLength === 0) break;
        this.#pending.push(record.bytes);
        this.#pendingBytes += record.bytes.byteLength;
        if (this.#pendingBytes >= this.#max) this.#cut(false);
        break;
      case 'entry-end':
        this.#cut(true);
        this.push(record satisfies PipelineRecord);
        break;
    }
    callback();
  }

  #cut(final: boolean): void {
    if (this.#pendingBytes === 0) return;
    const data = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes);
    let start = 0;
    while (start < data.length) {
      const length = this.#cdc.cut(data, start, data.length, final);
      if (length < 0) break;
      const chunk: ChunkRecord = {
        type: 'chunk',
        entry: this.#entry,
        offset: this.#offset,
        size: length,
        data: data.subarray(start, start + length),
      };
      this.push(chunk);
      this.#offset += length;
      start += length;
      if (!final && data.length - start < this.#max) break;
    }
    const rest = data.subarray(start);
    this.#pending = rest.length > 0 ? [rest] : [];
    this.#pendingBytes = rest.length;
  }
}
