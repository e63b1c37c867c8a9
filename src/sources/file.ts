// A single file as a one-entry backup.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { AgentvaultError, describeIoError } from '../errors.js';
import type { SourceRecord } from '../types.js';
import { fileRecords, readFilePieces } from './read-file.js';
import type { BackupSource, RecordsOptions } from './source.js';

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

  records(signal?: AbortSignal, options: RecordsOptions = {}): Readable {
    return fileRecords(this.#generate(signal, options.allocate), options);
  }

  async *#generate(signal?: AbortSignal, allocate?: () => Uint8Array): AsyncGenerator<SourceRecord> {
    yield { type: 'entry', entry: { index: 0, name: this.name, kind: 'file', size: this.stat.size, mode: this.stat.mode, mtime: Math.floor(this.stat.mtimeMs) } };
    let size = 0;
    try {
      for await (const bytes of readFilePieces(this.filePath, allocate, signal)) {
        size += bytes.byteLength;
        yield { type: 'data', entry: 0, bytes };
      }
    } catch (err) {
      throw describeIoError(err, `reading ${this.filePath}`);
    }
    yield { type: 'entry-end', entry: 0, size };
  }
}
