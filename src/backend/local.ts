// A repository in a local directory. Every file appears by rename after fsync, so a crash at any
// moment leaves either the old state or the new, never a torn file (docs/FORMAT.md §1).
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { AgentvaultError, describeIoError } from '../errors.js';
import { BatchedWriter } from './batched-writer.js';
import { DirectWriter } from './direct-io.js';
import { largeBuffer } from '../large-buffer.js';
import type { FileInfo, FileType, LocalPathStore, PendingFile, PrunableStore, RandomAccessFile } from './backend.js';

const DIRECTORIES: Readonly<Record<FileType, string>> = {
  config: '',
  key: 'keys',
  pack: 'packs',
  index: 'index',
  manifest: 'manifests',
  lock: 'locks',
};

export interface LocalBackendOptions {
  /**
   * Write packs' aligned buffers with O_DIRECT where the filesystem allows it (direct-io.ts).
   * Default off (AGENTVAULT_DIRECT_IO=1 turns it on): a backup is faster and leaves the page
   * cache alone, but a restore soon after must read every pack from the disk (bench/README.md).
   */
  readonly directIo?: boolean;
}

export class LocalBackend implements PrunableStore, LocalPathStore {
  readonly location: string;
  readonly #tmp: string;
  /** Off unless asked for, and from the moment the filesystem refuses a direct write. */
  #directIo: boolean;

  constructor(root: string, options: LocalBackendOptions = {}) {
    this.location = path.resolve(root);
    this.#tmp = path.join(this.location, 'tmp');
    this.#directIo = options.directIo ?? process.env.AGENTVAULT_DIRECT_IO === '1';
  }

  /** Creates the directory skeleton; the config file is written separately. */
  async initialize(): Promise<void> {
    try {
      await fs.mkdir(this.location, { recursive: true });
      for (const dir of ['keys', 'packs', 'index', 'manifests', 'locks', 'tmp']) {
        await fs.mkdir(path.join(this.location, dir), { recursive: true });
      }
      await syncDirectory(this.location);
    } catch (err) {
      throw describeIoError(err, `creating the repository at ${this.location}`);
    }
  }

  path(type: FileType, name: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) {
      throw new AgentvaultError('INPUT', `invalid ${type} name: ${JSON.stringify(name)}`);
    }
    if (type === 'pack') return path.join(this.location, 'packs', name.slice(0, 2), name);
    return path.join(this.location, DIRECTORIES[type], name);
  }

  localPath(type: FileType, name: string): string {
    return this.path(type, name);
  }

  /** Whole file; a large one (a manifest, an index file) into a buffer from outside malloc (large-buffer.ts). */
  async read(type: FileType, name: string): Promise<Buffer> {
    const file = await this.openFile(type, name);
    try {
      return await file.read(0, file.size, largeBuffer);
    } catch (err) {
      throw err instanceof AgentvaultError ? err : notFoundOr(err, type, name);
    } finally {
      await file.close();
    }
  }

  async readRange(type: FileType, name: string, offset: number, length: number): Promise<Buffer> {
    const file = await this.openFile(type, name);
    try {
      return await file.read(offset, length);
    } finally {
      await file.close();
    }
  }

  async openFile(type: FileType, name: string): Promise<RandomAccessFile> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.path(type, name), 'r');
    } catch (err) {
      throw notFoundOr(err, type, name);
    }
    const { size } = await handle.stat();
    return {
      size,
      async read(offset: number, length: number, allocate?: (length: number) => Buffer): Promise<Buffer> {
        const out = allocate ? allocate(length) : Buffer.allocUnsafe(length);
        let done = 0;
        while (done < length) {
          const { bytesRead } = await handle.read(out, done, length - done, offset + done);
          if (bytesRead === 0) {
            throw new AgentvaultError('CORRUPT', `${type} ${name} is truncated: wanted bytes ${offset}..${offset + length}, file ends at ${offset + done}`);
          }
          done += bytesRead;
        }
        return out;
      },
      close: () => handle.close(),
    };
  }

  async stat(type: FileType, name: string): Promise<FileInfo | undefined> {
    try {
      const st = await fs.stat(this.path(type, name));
      return { name, size: st.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async *list(type: FileType): AsyncIterable<FileInfo> {
    const dirs =
      type === 'pack'
        ? (await readdirOrEmpty(path.join(this.location, 'packs'))).filter((d) => /^[0-9a-f]{2}$/.test(d)).map((d) => path.join(this.location, 'packs', d))
        : [path.join(this.location, DIRECTORIES[type])];
    for (const dir of dirs) {
      for (const name of await readdirOrEmpty(dir)) {
        if (name.startsWith('.')) continue;
        try {
          const st = await fs.stat(path.join(dir, name));
          if (st.isFile()) yield { name, size: st.size };
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
    }
  }

  async write(type: FileType, name: string, bytes: Uint8Array, options: { exclusive?: boolean } = {}): Promise<void> {
    const pending = await this.create(type, name);
    try {
      await pending.write(bytes);
      if (options.exclusive && (await this.stat(type, name))) {
        throw new AgentvaultError('EXISTS', `${type} ${name} already exists`);
      }
      await pending.commit();
    } catch (err) {
      await pending.abort();
      throw err;
    }
  }

  async create(type: FileType, name: string): Promise<LocalPendingFile> {
    const finalPath = this.path(type, name);
    const tmpPath = path.join(this.#tmp, `${name}.${randomBytes(6).toString('hex')}.tmp`);
    let handle: fs.FileHandle;
    try {
      await fs.mkdir(this.#tmp, { recursive: true });
      handle = await fs.open(tmpPath, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
    } catch (err) {
      throw describeIoError(err, `writing ${type} ${name}`);
    }
    const direct = this.#directIo ? new DirectWriter(tmpPath, () => (this.#directIo = false)) : undefined;
    return new LocalPendingFile(handle, tmpPath, finalPath, `${type} ${name}`, direct);
  }

  async remove(type: FileType, name: string): Promise<void> {
    try {
      await fs.unlink(this.path(type, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  /** Removes temp files left by crashed writers (called under the exclusive lock). */
  async removeStaleTemporaryFiles(): Promise<number> {
    let removed = 0;
    for (const name of await readdirOrEmpty(this.#tmp)) {
      await fs.rm(path.join(this.#tmp, name), { force: true });
      removed++;
    }
    return removed;
  }
}

export class LocalPendingFile implements PendingFile {
  readonly #writer: BatchedWriter;
  readonly #direct: DirectWriter | undefined;
  #closed = false;

  constructor(
    readonly handle: fs.FileHandle,
    readonly tmpPath: string,
    readonly finalPath: string,
    readonly what: string,
    direct?: DirectWriter,
  ) {
    this.#direct = direct;
    this.#writer = new BatchedWriter(handle, undefined, direct);
  }

  get size(): number {
    return this.#writer.size;
  }

  /** Bytes written around the page cache (O_DIRECT) so far. */
  get directBytes(): number {
    return this.#direct?.bytes ?? 0;
  }

  async write(bytes: Uint8Array): Promise<void> {
    try {
      await this.#writer.write(bytes);
    } catch (err) {
      throw describeIoError(err, `writing ${this.what}`);
    }
  }

  async flush(): Promise<void> {
    try {
      await this.#writer.flush();
    } catch (err) {
      throw describeIoError(err, `writing ${this.what}`);
    }
  }

  async commit(): Promise<void> {
    try {
      await this.#writer.flush();
      // fsync covers the direct writes too: it is per file, and flushes the device's cache.
      await this.handle.sync();
      await this.#direct?.close();
      await this.handle.close();
      this.#closed = true;
      await fs.mkdir(path.dirname(this.finalPath), { recursive: true });
      await fs.rename(this.tmpPath, this.finalPath);
      await syncDirectory(path.dirname(this.finalPath));
    } catch (err) {
      await this.abort();
      throw describeIoError(err, `writing ${this.what}`);
    }
  }

  async abort(): Promise<void> {
    this.#writer.discard();
    if (!this.#closed) {
      this.#closed = true;
      await this.#direct?.close().catch(() => undefined);
      await this.handle.close().catch(() => undefined);
    }
    await fs.rm(this.tmpPath, { force: true }).catch(() => undefined);
  }
}

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

function notFoundOr(err: unknown, type: FileType, name: string): Error {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
    return new AgentvaultError(type === 'pack' ? 'MISSING_DATA' : 'NOT_FOUND', `${type} ${name} is missing from the repository`, { cause: err });
  }
  return describeIoError(err, `reading ${type} ${name}`);
}
