// A single file as a one-entry backup.
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { AgentvaultError, describeIoError } from '../errors.js';
import type { SourceRecord } from '../types.js';
import { READ_PIECE_BYTES, type BackupSource } from './source.js';

export class FileSource implements BackupSource {
  private constructor(
    readonly filePath: string,
    readonly stat: { size: number; mode: number; mtimeMs: number },
    readonly name: string,
  ) {}

  static async open(filePath: string, options: { name?: string } = {}): Promise<FileSource> {
    const absolute = path.resolve(filePath);
    let st;
    try {
      st = await fs.stat(absolute);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new AgentvaultError('INPUT', `no such file: ${filePath}`);
      throw describeIoError(err, `reading ${filePath}`);
    }
    if (st.isDirectory()) throw new AgentvaultError('INPUT', `${filePath} is a directory; back it up with --project`);
    if (!st.isFile()) throw new AgentvaultError('INPUT', `${filePath} is not a regular file`);
    return new FileSource(absolute, { size: st.size, mode: st.mode & 0o7777, mtimeMs: st.mtimeMs }, options.name ?? path.basename(absolute));
  }

  get description() {
    return { kind: 'file' as const, name: this.name, path: this.filePath, host: os.hostname() };
  }

  get totalBytes(): number {
    return this.stat.size;
  }

  records(signal?: AbortSignal): Readable {
    return Readable.from(this.#generate(signal), { objectMode: true, highWaterMark: 4 });
  }

  async *#generate(signal?: AbortSignal): AsyncGenerator<SourceRecord> {
    yield { type: 'entry', entry: { index: 0, name: this.name, kind: 'file', size: this.stat.size, mode: this.stat.mode, mtime: Math.floor(this.stat.mtimeMs) } };
    let size = 0;
    try {
      for await (const bytes of createReadStream(this.filePath, { highWaterMark: READ_PIECE_BYTES, ...(signal ? { signal } : {}) })) {
        size += (bytes as Buffer).byteLength;
        yield { type: 'data', entry: 0, bytes: bytes as Buffer };
      }
    } catch (err) {
      throw describeIoError(err, `reading ${this.filePath}`);
    }
    yield { type: 'entry-end', entry: 0, size };
  }
}
