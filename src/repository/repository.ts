// A repository: config + keys + index + manifests over a storage backend. This layer speaks in
// packs, chunks and manifests; it knows nothing of sources, sinks or the CLI.
import { unwrapWithIdentity, type AgeRecipient } from '../crypto/age-keys.js';
import { AgentvaultError } from '../errors.js';
import type { PrunableStore } from '../backend/backend.js';
import type { PackRecord } from '../types.js';
import { PackWriter } from './pack-writer.js';
import { ChunkIndex } from './chunk-index.js';
import { newConfig, parseConfig, type ChunkerConfig, type RepositoryConfig } from './config.js';
import type { ChunkIdAlgorithm } from '../crypto/chunk-id.js';
import { decodeIndexFile, decodeIndexFileTables, encodeIndexFile, type IndexFile, type IndexedPack, type IndexedPackTable } from './index-format.js';
import { BACKUP_ID_PATTERN, randomHexId } from './ids.js';
import {
  generateKeys,
  makePasswordKeyFile,
  makePlainKeyFile,
  makeRecipientKeyFile,
  parseKeyFile,
  unlockKeys,
  type Credentials,
  type KeyFile,
  type RepositoryKeys,
} from './keys.js';
import { acquireLock, type HeldLock } from './lock.js';
import { decodeManifest, encodeManifest, type Manifest } from './manifest.js';
import {
  PACK_ENTRY_LENGTH,
  PACK_HEADER_LENGTH,
  PACK_TAIL_LENGTH,
  checkPackHeader,
  parsePackTail,
  parsePackTrailerBody,
  type PackContents,
} from './pack-format.js';

export interface InitOptions {
  readonly encryption: 'aes-256-gcm' | 'none';
  readonly password?: string;
  readonly recipients?: readonly AgeRecipient[];
  readonly chunker?: Partial<Omit<ChunkerConfig, 'algorithm'>>;
  readonly chunkId?: ChunkIdAlgorithm;
  readonly packSize?: number;
}

/** Which backups a reference may select (for `latest` and prefixes). */
export interface BackupFilter {
  readonly sourceName?: string;
}

export class Repository {
  readonly #dataKeys = new Map<string, Buffer>();

  private constructor(
    readonly store: PrunableStore,
    readonly config: RepositoryConfig,
    readonly keys: RepositoryKeys,
  ) {}

  get location(): string {
    return this.store.location;
  }

  get encrypted(): boolean {
    return this.config.encryption !== 'none';
  }

  /** metaKey seals manifests, index files and pack trailers; undefined when unencrypted. */
  get metaKey(): Buffer | undefined {
    return this.encrypted ? this.keys.write.metaKey : undefined;
  }

  get repositoryPublicKey(): Buffer | undefined {
    return this.config.repositoryPublicKey ? Buffer.from(this.config.repositoryPublicKey, 'base64') : undefined;
  }

  /** False when opened with an age public key only: such a host may write but not read content. */
  get canReadData(): boolean {
    return !this.encrypted || this.keys.identity !== undefined;
  }

  static async exists(store: PrunableStore): Promise<boolean> {
    return (await store.stat('config', 'config')) !== undefined;
  }

  static async init(store: PrunableStore & { initialize(): Promise<void> }, options: InitOptions): Promise<Repository> {
    if (await Repository.exists(store)) throw new AgentvaultError('EXISTS', `a repository already exists at ${store.location}`);
    const keys = generateKeys();
    const encrypted = options.encryption !== 'none';
    if (encrypted && options.password === undefined && !options.recipients?.length) {
      throw new AgentvaultError('NEED_KEY', 'a new encrypted repository needs a password or an age key file (--key-file); use --no-encrypt for an unencrypted one');
    }
    const config = newConfig({
      encryption: options.encryption,
      ...(options.chunker ? { chunker: options.chunker } : {}),
      ...(options.chunkId ? { chunkId: options.chunkId } : {}),
      ...(options.packSize ? { packSize: options.packSize } : {}),
      ...(encrypted ? { repositoryPublicKey: keys.identity.recipient.publicKey } : {}),
    });
    await store.initialize();
    const files: KeyFile[] = [];
    if (!encrypted) files.push(makePlainKeyFile(keys.write));
    if (encrypted && options.password !== undefined) files.push(await makePasswordKeyFile(keys, options.password));
    if (encrypted) for (const r of options.recipients ?? []) files.push(makeRecipientKeyFile(keys, r, config.id));
    for (const file of files) await store.write('key', `${file.id}.json`, Buffer.from(JSON.stringify(file, null, 2)));
    // The config goes last: a repository without a config does not exist yet.
    await store.write('config', 'config', Buffer.from(JSON.stringify(config, null, 2) + '\n'), { exclusive: true });
    return new Repository(store, config, encrypted ? keys : { write: keys.write });
  }

  static async open(store: PrunableStore, credentials: Credentials): Promise<Repository> {
    const config = await readConfig(store);
    const keyFiles: KeyFile[] = [];
    for await (const f of store.list('key')) keyFiles.push(parseKeyFile(await store.read('key', f.name), f.name));
    if (keyFiles.length === 0) throw new AgentvaultError('CORRUPT', `repository at ${store.location} has no key files`);
    const keys = await unlockKeys(keyFiles, credentials, config.id);
    return new Repository(store, config, keys);
  }

  /**
   * Opens a repository with keys the caller has already unlocked from this repository's key
   * files (as a download from an archive does before it writes them): a second scrypt would
   * cost ~0.4 s for nothing.
   */
  static async openUnlocked(store: PrunableStore, keys: RepositoryKeys): Promise<Repository> {
    return new Repository(store, await readConfig(store), keys);
  }

  /** Adds a password or an age recipient to an unlocked repository (full access needed). */
  async addKey(options: { password?: string; recipient?: AgeRecipient }): Promise<string> {
    const identity = this.keys.identity;
    if (!this.encrypted) throw new AgentvaultError('USAGE', 'this repository is not encrypted; it has no keys to add');
    if (!identity) throw new AgentvaultError('READ_ONLY_KEY', 'adding a key needs full access (a password or an age identity), not a public key');
    const full = { write: this.keys.write, identity };
    const file = options.password !== undefined ? await makePasswordKeyFile(full, options.password) : makeRecipientKeyFile(full, options.recipient!, this.config.id);
    await this.store.write('key', `${file.id}.json`, Buffer.from(JSON.stringify(file, null, 2)));
    return file.id;
  }

  lock(exclusive: boolean): Promise<HeldLock> {
    return acquireLock(this.store, exclusive);
  }

  // ---- index -------------------------------------------------------------------------------

  /** Index files that are live: present and not superseded by another index file. */
  async readLiveIndexFiles(): Promise<Array<{ id: string; file: IndexFile }>> {
    const ids: string[] = [];
    for await (const f of this.store.list('index')) ids.push(f.name);
    const files: Array<{ id: string; file: IndexFile }> = [];
    for (const id of ids) files.push({ id, file: decodeIndexFile(id, await this.store.read('index', id), this.metaKey) });
    const superseded = new Set(files.flatMap((f) => f.file.supersedes));
    return files.filter((f) => !superseded.has(f.id));
  }

  async loadIndex(): Promise<ChunkIndex> {
    // One decoded index file at a time (all of them decoded at once were the peak of a restore).
    // Which files are superseded is only known once every file is read: when some are (after a
    // prune that was interrupted), the index is built again from the live ones.
    const ids: string[] = [];
    let bytes = 0;
    for await (const f of this.store.list('index')) {
      ids.push(f.name);
      bytes += f.size;
    }
    let index = new ChunkIndex();
    // Room for every record up front, estimated from the files' sizes (entries are 54 bytes and
    // random ids do not compress): growing as packs arrive copied the records again and again.
    index.reserve(Math.ceil((bytes / PACK_ENTRY_LENGTH) * 1.1));
    // Entries go from the decoded file straight into the index (no object per chunk).
    const load = async (into: ChunkIndex, id: string): Promise<readonly string[]> => {
      const file = decodeIndexFileTables(id, await this.store.read('index', id), this.metaKey);
      for (const pack of file.packs) into.addPackTable(pack.packId, pack.size, pack.keys, pack.table);
      return file.supersedes;
    };
    const superseded = new Set<string>();
    for (const id of ids) for (const old of await load(index, id)) superseded.add(old);
    if (ids.some((id) => superseded.has(id))) {
      index = new ChunkIndex();
      for (const id of ids) if (!superseded.has(id)) await load(index, id);
    }
    return index;
  }

  /**
   * Packs on disk that no index lists: left by a backup that died between writing a pack and
   * writing its index. Reads their trailers and indexes them, so a re-run does not store their
   * chunks again. Returns how many packs were adopted.
   */
  async adoptUnindexedPacks(index: ChunkIndex): Promise<number> {
    const orphans: IndexedPack[] = [];
    for await (const f of this.store.list('pack')) {
      if (index.hasPack(f.name)) continue;
      try {
        const contents = await this.readPackTrailer(f.name, f.size);
        orphans.push({ packId: f.name, size: f.size, ...contents });
      } catch (err) {
        // A pack torn by a crash never got renamed into place; anything else unreadable is left
        // for `verify` to report rather than blocking a backup.
        if (!(err instanceof AgentvaultError)) throw err;
      }
    }
    if (orphans.length === 0) return 0;
    await this.writeIndex(orphans, []);
    for (const pack of orphans) index.addPack(pack);
    return orphans.length;
  }

  /** Streams stored chunks into new packs, as a backup does (pack-writer.ts). */
  packWriter(): PackWriter {
    return new PackWriter(this.store, { packSize: this.config.packSize, ...(this.metaKey ? { metaKey: this.metaKey } : {}) });
  }

  /** Stores a pack assembled in memory durably (temp name, fsync, rename): prune, imports from Arweave. */
  async writePack(pack: PackRecord): Promise<void> {
    const file = await this.store.create('pack', pack.packId);
    try {
      for (const part of pack.parts) await file.write(part);
      await file.commit();
    } catch (err) {
      await file.abort();
      throw err;
    }
  }

  async writeIndex(packs: ReadonlyArray<IndexedPack | IndexedPackTable>, supersedes: readonly string[]): Promise<string> {
    const id = randomHexId(16);
    await this.store.write('index', id, encodeIndexFile(id, { packs, supersedes }, this.metaKey));
    return id;
  }

  async readPackTrailer(packId: string, packSize: number): Promise<PackContents> {
    if (packSize < PACK_HEADER_LENGTH + PACK_TAIL_LENGTH) throw new AgentvaultError('CORRUPT', `pack ${packId} is truncated`);
    checkPackHeader(await this.store.readRange('pack', packId, 0, PACK_HEADER_LENGTH), packId);
    const tail = await this.store.readRange('pack', packId, packSize - PACK_TAIL_LENGTH, PACK_TAIL_LENGTH);
    const { bodyLength, checksum } = parsePackTail(tail, packId, packSize);
    const body = await this.store.readRange('pack', packId, packSize - PACK_TAIL_LENGTH - bodyLength, bodyLength);
    return parsePackTrailerBody(body, checksum, packId, this.metaKey);
  }

  // ---- chunks ------------------------------------------------------------------------------

  /** The data key of a sealed chunk (80-byte wrapped form), unwrapped once per key. */
  dataKey(wrappedKey: Buffer): Buffer {
    const identity = this.keys.identity;
    if (!identity) throw new AgentvaultError('READ_ONLY_KEY', 'reading backup data needs the age identity file or the password; the public key only allows writing');
    const cacheKey = wrappedKey.toString('latin1');
    let key = this.#dataKeys.get(cacheKey);
    if (!key) {
      const unwrapped = unwrapWithIdentity({ ephemeralShare: wrappedKey.subarray(0, 32), body: wrappedKey.subarray(32) }, identity);
      if (!unwrapped) throw new AgentvaultError('CORRUPT', "a pack's data key does not open with this repository's key");
      key = unwrapped;
      this.#dataKeys.set(cacheKey, key);
    }
    return key;
  }

  // ---- manifests ---------------------------------------------------------------------------

  async listBackupIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const f of this.store.list('manifest')) if (BACKUP_ID_PATTERN.test(f.name)) ids.push(f.name);
    return ids.sort();
  }

  async readManifest(id: string): Promise<Manifest> {
    return decodeManifest(id, await this.store.read('manifest', id), this.metaKey);
  }

  /**
   * All manifests, oldest first (by creation time, then id). A manifest that cannot be read (a
   * newer format, damage) is an error — unless `onUnreadable` is given, which is told and the
   * backup skipped. Never skip when deciding what data is unreferenced (prune).
   */
  async listBackups(options: { onUnreadable?: (id: string, err: Error) => void } = {}): Promise<Manifest[]> {
    const out: Manifest[] = [];
    for (const id of await this.listBackupIds()) {
      try {
        out.push(await this.readManifest(id));
      } catch (err) {
        if (!options.onUnreadable || !(err instanceof AgentvaultError)) throw err;
        options.onUnreadable(id, err);
      }
    }
    return out.sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
  }

  async writeManifest(m: Manifest): Promise<void> {
    await this.store.write('manifest', m.id, encodeManifest(m, this.metaKey), { exclusive: true });
  }

  async deleteManifest(id: string): Promise<void> {
    await this.store.remove('manifest', id);
  }

  /**
   * Resolves `latest`, a full id, or a unique prefix (as in git) to a backup id. `latest` and
   * prefixes consider only backups of `filter.sourceName` when given.
   */
  async resolveBackupId(ref: string, filter: BackupFilter = {}): Promise<string> {
    const wanted = ref.trim().toLowerCase();
    if (wanted === '') throw new AgentvaultError('USAGE', 'a backup id is required');
    let ids = await this.listBackupIds();
    if (wanted === 'latest' || filter.sourceName !== undefined) {
      const backups = (await this.listBackups({ onUnreadable: () => undefined })).filter((m) => filter.sourceName === undefined || m.source.name === filter.sourceName);
      ids = backups.map((m) => m.id);
    }
    if (wanted === 'latest') {
      const last = ids.at(-1);
      if (!last) {
        throw new AgentvaultError('NOT_FOUND', filter.sourceName !== undefined ? `no backups of ${filter.sourceName} in ${this.location}` : `no backups in ${this.location}`);
      }
      return last;
    }
    const hits = ids.filter((id) => id.startsWith(wanted));
    if (hits.length === 1) return hits[0]!;
    if (hits.length === 0) throw new AgentvaultError('NOT_FOUND', `no backup ${ref} in ${this.location}`);
    throw new AgentvaultError('AMBIGUOUS', `backup id prefix ${ref} is ambiguous: it matches ${hits.slice(0, 5).join(', ')}${hits.length > 5 ? ', …' : ''}`);
  }
}

async function readConfig(store: PrunableStore): Promise<RepositoryConfig> {
  let bytes: Buffer;
  try {
    bytes = await store.read('config', 'config');
  } catch (err) {
    if ((err as AgentvaultError).code === 'NOT_FOUND') {
      throw new AgentvaultError('NO_REPOSITORY', `no repository at ${store.location} (a backup creates one; or give --destination / AGENTVAULT_REPO)`);
    }
    throw err;
  }
  return parseConfig(bytes, store.location);
}
