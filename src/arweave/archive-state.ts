// What this repository has put on Arweave, kept beside it (docs/FORMAT.md §10.1):
//
//   <repo>/archive/state.json          per gateway: pack id → transaction, archives by manifest tx
//   <repo>/archive/uploads/<tx>.json   one file per transaction being uploaded: its signed header
//                                      and, per gateway, whether the header was accepted and how
//                                      many chunks were acknowledged — rewritten after every
//                                      acknowledged chunk, so a resumed upload never pays twice
//   <repo>/archive/uploads/<tx>.body   the data of a manifest transaction being uploaded (pack
//                                      data is re-read from the pack file)
//   <repo>/archive/lock                held by the archive command that is changing the above
//
// Every file is replaced atomically (temp file, fsync, rename, fsync of the directory).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { syncDirectory } from '../backend/local.js';
import { AgentvaultError, describeIoError } from '../errors.js';
import { isTransactionId, type TransactionHeader } from './client.js';

export const ARCHIVE_STATE_VERSION = 1;

export type TxStatus = 'pending' | 'confirmed' | 'failed';
export type ArchiveStatus = 'uploading' | 'pending' | 'completed' | 'failed';

export interface ArchivedPackState {
  readonly tx: string;
  readonly size: number;
  /** The backup whose archiving created the transaction. */
  readonly backup: string;
  /** The transaction's reward, in winston. */
  readonly reward: string;
  /** Arweave chunk size its data was split at: needed to seed it to another gateway. */
  readonly chunkSize: number;
  status: TxStatus;
  readonly posted: string;
  confirmations?: number;
  height?: number;
}

export interface ArchiveRecord {
  readonly backup: string;
  /** The archive manifest transaction. */
  readonly tx: string;
  status: ArchiveStatus;
  readonly created: string;
  completed?: string;
  confirmations?: number;
  /** Every pack the backup needs, archived by this upload or an earlier one. */
  readonly packIds: readonly string[];
  readonly uploadedPacks: number;
  /** Bytes of data transactions this upload created (new packs + manifest). */
  readonly uploadedBytes: number;
  readonly manifestBytes: number;
  /** Winston paid by this upload. */
  readonly cost: string;
  readonly public: boolean;
}

export interface GatewayState {
  packs: Record<string, ArchivedPackState>;
  archives: Record<string, ArchiveRecord>;
}

interface StateFile {
  version: number;
  repository: string;
  gateways: Record<string, GatewayState>;
}

export interface UploadProgress {
  /** The gateway accepted the header (POST /tx). */
  posted: boolean;
  /** Chunks acknowledged, in order from the first. */
  acked: number;
}

/** A transaction being uploaded. */
export interface UploadEntry {
  readonly version: 1;
  readonly tx: string;
  readonly kind: 'pack' | 'manifest';
  readonly packId?: string;
  readonly backup: string;
  readonly chunkSize: number;
  readonly header: TransactionHeader;
  readonly created: string;
  readonly gateways: Record<string, UploadProgress>;
}

export class ArchiveState {
  readonly #dir: string;
  readonly #uploads: string;
  readonly #writes = new Map<string, Promise<void>>();

  private constructor(
    dir: string,
    readonly file: StateFile,
  ) {
    this.#dir = dir;
    this.#uploads = path.join(dir, 'uploads');
  }

  static directory(repositoryPath: string): string {
    return path.join(repositoryPath, 'archive');
  }

  static async open(repositoryPath: string, repositoryId: string): Promise<ArchiveState> {
    const dir = ArchiveState.directory(repositoryPath);
    const file = path.join(dir, 'state.json');
    let text: string | undefined;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw describeIoError(err, `reading ${file}`);
    }
    if (text === undefined) return new ArchiveState(dir, { version: ARCHIVE_STATE_VERSION, repository: repositoryId, gateways: {} });
    let parsed: StateFile;
    try {
      parsed = JSON.parse(text) as StateFile;
    } catch {
      throw new AgentvaultError('CORRUPT', `${file} is not valid JSON`);
    }
    if (typeof parsed.version === 'number' && parsed.version > ARCHIVE_STATE_VERSION) {
      throw new AgentvaultError('NEWER_FORMAT', `${file} was written by a newer agentvault (archive state format ${parsed.version}; this version reads up to ${ARCHIVE_STATE_VERSION})`);
    }
    if (parsed.repository !== repositoryId || typeof parsed.gateways !== 'object' || parsed.gateways === null) {
      throw new AgentvaultError('CORRUPT', `${file} does not belong to this repository`);
    }
    return new ArchiveState(dir, parsed);
  }

  get gateways(): string[] {
    return Object.keys(this.file.gateways);
  }

  gateway(url: string): GatewayState {
    return (this.file.gateways[url] ??= { packs: {}, archives: {} });
  }

  /** The transaction holding `packId` at `gateway`, unless it failed. */
  packAt(gateway: string, packId: string): ArchivedPackState | undefined {
    const pack = this.file.gateways[gateway]?.packs[packId];
    return pack && pack.status !== 'failed' ? pack : undefined;
  }

  /** Every record of the archive whose manifest transaction is `tx`, by gateway. */
  archivesByTx(tx: string): Array<{ gateway: string; archive: ArchiveRecord }> {
    const out: Array<{ gateway: string; archive: ArchiveRecord }> = [];
    for (const [gateway, g] of Object.entries(this.file.gateways)) if (g.archives[tx]) out.push({ gateway, archive: g.archives[tx] });
    return out;
  }

  archivesOfBackup(gateway: string, backupId: string): ArchiveRecord[] {
    return Object.values(this.file.gateways[gateway]?.archives ?? {}).filter((a) => a.backup === backupId);
  }

  async save(): Promise<void> {
    await this.#write(path.join(this.#dir, 'state.json'), () => Buffer.from(JSON.stringify(this.file, null, 1) + '\n'));
  }

  // ---- uploads in progress -----------------------------------------------------------------

  async uploads(): Promise<UploadEntry[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.#uploads);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: UploadEntry[] = [];
    for (const name of names.sort()) {
      if (!name.endsWith('.json')) continue;
      const file = path.join(this.#uploads, name);
      try {
        const entry = JSON.parse(await fs.readFile(file, 'utf8')) as UploadEntry;
        if (entry.version !== 1 || !isTransactionId(entry.tx)) throw new Error('bad entry');
        out.push(entry);
      } catch {
        throw new AgentvaultError('CORRUPT', `${file} is damaged; move it away to upload that transaction anew (its cost is paid again)`);
      }
    }
    return out;
  }

  /** Writes an upload's progress; resolves once it is durable. */
  saveUpload(entry: UploadEntry): Promise<void> {
    return this.#write(path.join(this.#uploads, `${entry.tx}.json`), () => Buffer.from(JSON.stringify(entry)));
  }

  saveUploadBody(tx: string, body: Buffer): Promise<void> {
    return this.#write(path.join(this.#uploads, `${tx}.body`), () => body);
  }

  async uploadBody(tx: string): Promise<Buffer | undefined> {
    try {
      return await fs.readFile(path.join(this.#uploads, `${tx}.body`));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async removeUpload(tx: string): Promise<void> {
    await this.#writes.get(path.join(this.#uploads, `${tx}.json`));
    for (const ext of ['.json', '.body']) await fs.rm(path.join(this.#uploads, `${tx}${ext}`), { force: true });
  }

  /**
   * Atomic replace, one write per file at a time: the content is taken when the write starts,
   * so the last write to start carries the newest state and also lands last.
   */
  #write(file: string, content: () => Buffer): Promise<void> {
    const previous = this.#writes.get(file) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => writeAtomically(file, content()));
    this.#writes.set(file, next);
    void next.finally(() => {
      if (this.#writes.get(file) === next) this.#writes.delete(file);
    }).catch(() => undefined);
    return next;
  }

  // ---- lock --------------------------------------------------------------------------------

  /** Held by a command that changes the archive state; another one running is an error. */
  static async lock(repositoryPath: string): Promise<{ release(): Promise<void> }> {
    const dir = ArchiveState.directory(repositoryPath);
    const file = path.join(dir, 'lock');
    await fs.mkdir(dir, { recursive: true });
    const mine = JSON.stringify({ pid: process.pid, host: os.hostname(), created: new Date().toISOString() });
    for (let attempt = 0; ; attempt++) {
      try {
        await fs.writeFile(file, mine, { flag: 'wx', mode: 0o600 });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw describeIoError(err, `locking ${dir}`);
        const holder = await readHolder(file);
        if (attempt < 3 && holder && holder.host === os.hostname() && !processAlive(holder.pid)) {
          await fs.rm(file, { force: true }); // its process is gone: the lock is ours to take
          continue;
        }
        throw new AgentvaultError(
          'LOCKED',
          holder ? `another archive command is running (pid ${holder.pid} on ${holder.host}); if it is not, remove ${file}` : `${file} exists; if no archive command is running, remove it`,
        );
      }
    }
    let released = false;
    return {
      async release() {
        if (released) return;
        released = true;
        await fs.rm(file, { force: true });
      },
    };
  }
}

async function readHolder(file: string): Promise<{ pid: number; host: string } | undefined> {
  try {
    const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as { pid?: unknown; host?: unknown };
    return typeof parsed.pid === 'number' && typeof parsed.host === 'string' ? { pid: parsed.pid, host: parsed.host } : undefined;
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

export async function writeAtomically(file: string, bytes: Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await fs.mkdir(dir, { recursive: true });
    const handle = await fs.open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
    await syncDirectory(dir);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw describeIoError(err, `writing ${file}`);
  }
}
