// Restore sinks that write plaintext records to the file system. Nothing half-written ever
// takes the target's place: data goes to a temp name beside it, renamed in at the very end.
import fs from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { BatchedWriter } from '../backend/batched-writer.js';
import { AgentvaultError, describeIoError } from '../errors.js';
import type { EntryInfo, PipelineRecord } from '../types.js';
import { ChunkOrderCheck } from './order-check.js';
import { safeRelativePath, temporarySibling } from './restore-target.js';

export interface FileTargetOptions {
  /** Replace an existing target. */
  readonly force?: boolean;
  /**
   * Make sparse files: whole 4 KiB blocks of zeros are left as holes (they read back as zeros).
   * Less disk and less time for mostly-zero images such as canister memory; off by default, as in
   * restic, borg and kopia, since filling a hole later can fail on a full disk.
   */
  readonly sparse?: boolean;
}

/** Refuses an existing target unless forced; call before any work starts. */
export async function checkTarget(target: string, force: boolean | undefined): Promise<void> {
  const st = await fs.lstat(target).catch(() => undefined);
  if (st && !force) throw new AgentvaultError('EXISTS', `${target} already exists; use --force to replace it`);
  const parent = await fs.stat(path.dirname(path.resolve(target))).catch(() => undefined);
  if (!parent?.isDirectory()) throw new AgentvaultError('INPUT', `cannot restore to ${target}: ${path.dirname(target)} is not a directory`);
}

/** Bytes written between background syncs of a restored file. */
const EARLY_SYNC_BYTES = 64 << 20;

/**
 * A restore sink whose files other threads may write into directly, at positions: restore()
 * then has its workers write each range of a file where it belongs and sends the sink only
 * `written` chunk records (the sink still creates, syncs, commits or removes everything).
 */
export interface PositionalTarget {
  /** The path of entry `index`'s file, once this sink has created it; rejects if the sink fails first. */
  entryPath(index: number): Promise<string>;
  /** Writers leave whole file blocks of zeros unwritten (the sink sets each file's length at its end). */
  readonly sparse: boolean;
}

export function isPositionalTarget(sink: object): sink is PositionalTarget {
  return typeof (sink as Partial<PositionalTarget>).entryPath === 'function';
}

interface Opened {
  readonly promise: Promise<string>;
  resolve(path: string): void;
  reject(err: Error): void;
}

function opened(): Opened {
  let resolve!: (path: string) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<string>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined); // the waiter sees it; nobody waiting is fine too
  return { promise, resolve, reject };
}

abstract class FileSystemSink extends Writable implements PositionalTarget {
  protected current: { info: EntryInfo; handle?: fs.FileHandle; writer?: BatchedWriter; path: string; synced: number; syncing?: Promise<void> } | undefined;
  protected readonly temp: string;
  #committed = false;
  readonly #order = new ChunkOrderCheck(true, true);
  /** Entry index → its file's path, for positional writers waiting on it. */
  readonly #opened = new Map<number, Opened>();

  constructor(
    readonly target: string,
    readonly options: FileTargetOptions = {},
  ) {
    super({ objectMode: true, highWaterMark: 16 });
    this.target = path.resolve(target);
    this.temp = temporarySibling(this.target);
  }

  get sparse(): boolean {
    return this.options.sparse === true;
  }

  entryPath(index: number): Promise<string> {
    return this.#opening(index).promise;
  }

  /** The entry's path as promised to positional writers, whoever asks first. */
  #opening(index: number): Opened {
    let entry = this.#opened.get(index);
    if (!entry) this.#opened.set(index, (entry = opened()));
    return entry;
  }

  /** Path the entry's bytes go to (inside the temp area). */
  protected abstract pathFor(info: EntryInfo): Promise<string>;
  /** Moves the temp area into place. */
  protected abstract commit(): Promise<void>;

  override _write(record: PipelineRecord, _e: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.#handle(record).then(
      () => callback(),
      (err) => callback(describeIoError(err, `restoring to ${this.target}`)),
    );
  }

  async #handle(record: PipelineRecord): Promise<void> {
    this.#order.check(record);
    switch (record.type) {
      case 'entry': {
        const info = record.entry;
        const dest = await this.pathFor(info);
        if (info.kind === 'directory') {
          await fs.mkdir(dest, { recursive: true });
          this.current = { info, path: dest, synced: 0 };
        } else if (info.kind === 'symlink') {
          await fs.symlink(info.linkTarget ?? '', dest);
          this.current = { info, path: dest, synced: 0 };
        } else {
          const handle = await fs.open(dest, 'wx', 0o600);
          this.current = { info, handle, writer: new BatchedWriter(handle), path: dest, synced: 0 };
          this.#opening(info.index).resolve(dest);
        }
        break;
      }
      case 'chunk': {
        const current = this.current!;
        if (record.written) await current.writer!.skip(record.size);
        else if (this.sparse) await current.writer!.writeSparse(record.data!);
        else await current.writer!.write(record.data!);
        // Flush to disk as we go (in the background, one at a time): the fsync at the end of a
        // 1 GiB file otherwise waited ~0.3 s for all of it.
        if (current.writer!.size - current.synced >= EARLY_SYNC_BYTES && !current.syncing) {
          current.synced = current.writer!.size;
          const syncing = current.handle!.datasync().finally(() => {
            if (current.syncing === syncing) current.syncing = undefined;
          });
          syncing.catch(() => undefined); // a failing disk fails the final sync too
          current.syncing = syncing;
        }
        break;
      }
      case 'entry-end': {
        const { info, handle, writer, path: dest } = this.current!;
        this.#opened.delete(info.index);
        if (writer && handle) {
          await this.current!.syncing?.catch(() => undefined);
          await writer.flush();
          // Holes at the end are not written: the length says where the file ends.
          if (this.sparse) await handle.truncate(writer.size);
          await handle.sync();
          await handle.close();
        }
        if (info.kind !== 'symlink') {
          if (info.mode !== undefined && info.kind !== 'directory') await fs.chmod(dest, info.mode & 0o7777);
          if (info.mtime !== undefined) await fs.utimes(dest, new Date(), new Date(info.mtime));
        }
        this.current = undefined;
        break;
      }
    }
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.commit().then(
      () => {
        this.#committed = true;
        callback();
      },
      (err) => callback(describeIoError(err, `restoring to ${this.target}`)),
    );
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    for (const waiting of this.#opened.values()) waiting.reject(err ?? new Error(`the restore to ${this.target} was stopped`));
    this.#opened.clear();
    const cleanup = async () => {
      await this.current?.handle?.close().catch(() => undefined);
      if (!this.#committed) await fs.rm(this.temp, { recursive: true, force: true });
    };
    cleanup().then(
      () => callback(err),
      () => callback(err),
    );
  }
}

/** Restores a one-entry backup (a file, a stdin stream) to a file. */
export class FileSink extends FileSystemSink {
  #entries = 0;

  protected async pathFor(info: EntryInfo): Promise<string> {
    if (++this.#entries > 1) throw new AgentvaultError('USAGE', 'this backup has several entries: restore it to a directory');
    if (info.kind === 'directory' || info.kind === 'symlink') throw new AgentvaultError('USAGE', `entry ${info.name} is a ${info.kind}: restore it to a directory`);
    return this.temp;
  }

  protected async commit(): Promise<void> {
    if (this.#entries === 0) throw new AgentvaultError('CORRUPT', 'the backup has no entries to restore');
    await fs.rename(this.temp, this.target);
  }
}

/** Restores a multi-entry backup (a project) into a directory tree. */
export class DirectorySink extends FileSystemSink {
  #created = false;
  readonly #directories: Array<{ path: string; info: EntryInfo }> = [];

  protected async pathFor(info: EntryInfo): Promise<string> {
    if (!this.#created) {
      await fs.mkdir(this.temp, { mode: 0o700 });
      this.#created = true;
    }
    const dest = path.join(this.temp, safeRelativePath(info.name));
    await fs.mkdir(path.dirname(dest), { recursive: true });
    if (info.kind === 'directory') this.#directories.push({ path: dest, info });
    return dest;
  }

  protected async commit(): Promise<void> {
    if (!this.#created) await fs.mkdir(this.temp, { mode: 0o700 });
    // Directory modes last: a read-only directory would block writing its children.
    for (const { path: dir, info } of this.#directories) if (info.mode !== undefined) await fs.chmod(dir, info.mode & 0o7777);
    await fs.chmod(this.temp, 0o755);
    const old = (await fs.lstat(this.target).catch(() => undefined)) ? temporarySibling(this.target) : undefined;
    if (old) await fs.rename(this.target, old);
    await fs.rename(this.temp, this.target);
    if (old) await fs.rm(old, { recursive: true, force: true });
  }
}
