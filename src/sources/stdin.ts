// A pipe (stdin by default) as a one-entry backup. With an expected size, a stream that ends
// early is an error rather than a silently short backup.
import os from 'node:os';
import { Readable } from 'node:stream';
import { AgentvaultError } from '../errors.js';
import type { SourceRecord } from '../types.js';
import type { BackupSource } from './source.js';

export interface StdinSourceOptions {
  /** Entry and source name (default `stdin`). */
  readonly name?: string;
  /** When given, fewer bytes is an error ("closed early"), more is an error too. */
  readonly expectedSize?: number;
}

export class StdinSource implements BackupSource {
  readonly name: string;
  readonly expectedSize: number | undefined;

  constructor(
    readonly input: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin,
    options: StdinSourceOptions = {},
  ) {
    if (input.isTTY) throw new AgentvaultError('USAGE', 'stdin is a terminal: pipe the data in (e.g. `tar c dir | agentvault backup create --stdin`)');
    this.name = options.name ?? 'stdin';
    this.expectedSize = options.expectedSize;
  }

  get description() {
    return { kind: 'stdin' as const, name: this.name, host: os.hostname() };
  }

  get totalBytes(): number | undefined {
    return this.expectedSize;
  }

  records(): Readable {
    return Readable.from(this.#generate(), { objectMode: true, highWaterMark: 4 });
  }

  async *#generate(): AsyncGenerator<SourceRecord> {
    yield { type: 'entry', entry: { index: 0, name: this.name, kind: 'stdin', ...(this.expectedSize !== undefined ? { size: this.expectedSize } : {}), mtime: Date.now() } };
    let size = 0;
    try {
      for await (const piece of this.input) {
        const bytes = typeof piece === 'string' ? Buffer.from(piece) : (piece as Buffer);
        size += bytes.byteLength;
        if (this.expectedSize !== undefined && size > this.expectedSize) {
          throw new AgentvaultError('INPUT', `stdin carried more than the expected ${this.expectedSize} bytes; no backup was written`);
        }
        yield { type: 'data', entry: 0, bytes };
      }
    } catch (err) {
      if (err instanceof AgentvaultError) throw err;
      throw new AgentvaultError('INPUT', `reading stdin failed after ${size} bytes (${(err as Error).message}); no backup was written`, { cause: err });
    }
    if (this.expectedSize !== undefined && size < this.expectedSize) {
      throw new AgentvaultError('INPUT', `stdin closed early: got ${size} of ${this.expectedSize} expected bytes; no backup was written`);
    }
    yield { type: 'entry-end', entry: 0, size };
  }
}
