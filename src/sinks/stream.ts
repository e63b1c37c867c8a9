// Writes the plaintext bytes of a restore, in order, to any byte stream (stdout, a socket, a
// child process). Honours the stream's backpressure.
import { Writable } from 'node:stream';
import type { PipelineRecord } from '../types.js';
import { ChunkOrderCheck } from './order-check.js';

export class ByteStreamSink extends Writable {
  constructor(readonly output: NodeJS.WritableStream) {
    super({ objectMode: true, highWaterMark: 16 });
  }

  readonly #order = new ChunkOrderCheck(true);

  override _write(record: PipelineRecord, _e: BufferEncoding, callback: (err?: Error | null) => void): void {
    try {
      this.#order.check(record);
    } catch (err) {
      callback(err as Error);
      return;
    }
    if (record.type !== 'chunk' || !record.data || record.data.byteLength === 0) {
      callback();
      return;
    }
    if (this.output.write(record.data)) callback();
    else this.output.once('drain', () => callback());
  }

  override _final(callback: (err?: Error | null) => void): void {
    // Do not end the caller's stream (it may be process.stdout); just let pending writes drain.
    if ((this.output as NodeJS.WritableStream & { writableNeedDrain?: boolean }).writableNeedDrain) this.output.once('drain', () => callback());
    else callback();
  }
}
