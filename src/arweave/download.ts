// `archive download` and `backup restore --arweave`: an archived backup into a local repository.
// With no repository at the path, the repository is recreated from the archive (same id, config
// and key files, so the same password or key file opens it); an existing repository must be the
// one the archive came from. Only packs the repository lacks are fetched. Order as in a backup:
// packs, then the index listing them, then the manifest.
import { LocalBackend } from '../backend/local.js';
import { AgentvaultError } from '../errors.js';
import type { IndexedPack } from '../repository/index-format.js';
import { unlockKeys, type Credentials } from '../repository/keys.js';
import type { Manifest } from '../repository/manifest.js';
import { Repository } from '../repository/repository.js';
import type { ArweaveArchive } from '../sources/arweave.js';
import type { PackRecord } from '../types.js';
import { ArchiveState } from './archive-state.js';
import { DEFAULT_CHUNK_SIZE } from './transaction.js';

export interface DownloadOptions {
  readonly archive: ArweaveArchive;
  /** Repository directory: created from the archive when there is no repository yet. */
  readonly path: string;
  readonly credentials: Credentials;
  /** How to open an existing repository (the CLI asks for a password on a terminal). */
  readonly openExisting?: (store: LocalBackend) => Promise<Repository>;
  /** Record the archive's transactions in the repository's archive state (not for scratch copies). */
  readonly recordState?: boolean;
  readonly readAhead?: number;
  readonly signal?: AbortSignal;
  readonly onPack?: (bytes: number, done: number, total: number) => void;
}

export interface DownloadResult {
  readonly repository: Repository;
  readonly manifest: Manifest;
  readonly created: boolean;
  readonly downloadedPacks: number;
  readonly downloadedBytes: number;
  readonly presentPacks: number;
  readonly manifestWritten: boolean;
}

export async function downloadArchive(options: DownloadOptions): Promise<DownloadResult> {
  const { archive } = options;
  const store = new LocalBackend(options.path);
  let repository: Repository;
  let created = false;
  if (await Repository.exists(store)) {
    repository = options.openExisting ? await options.openExisting(store) : await Repository.open(store, options.credentials);
    if (repository.config.id !== archive.config.id) {
      throw new AgentvaultError(
        'INPUT',
        `the repository at ${store.location} is another repository (${repository.config.id}) than the one archive ${archive.tx} came from (${archive.config.id}); download into an empty --destination`,
      );
    }
  } else {
    // Unlock first, so wrong credentials leave nothing behind; the keys then open the new
    // repository (its key files are the archive's).
    const keys = await unlockKeys(archive.body.keyFiles, options.credentials, archive.config.id);
    await store.initialize();
    for (const file of archive.body.keyFiles) await store.write('key', `${file.id}.json`, Buffer.from(JSON.stringify(file, null, 2)));
    await store.write('config', 'config', archive.body.config, { exclusive: true });
    repository = await Repository.openUnlocked(store, keys);
    created = true;
  }

  const lock = await repository.lock(false);
  try {
    const { manifest, packs } = archive.open(repository.metaKey);
    const index = await repository.loadIndex();
    const missing = packs.filter((p) => !index.hasPack(p.pack.packId));
    const written: IndexedPack[] = [];
    let downloadedBytes = 0;
    try {
      const records = archive.packRecords(missing, repository.metaKey, { ...(options.readAhead ? { readAhead: options.readAhead } : {}), ...(options.signal ? { signal: options.signal } : {}) });
      for await (const record of records as AsyncIterable<PackRecord>) {
        await repository.writePack(record);
        written.push({ packId: record.packId, size: record.size, keys: record.keys, entries: record.entries });
        downloadedBytes += record.size;
        options.onPack?.(record.size, written.length, missing.length);
      }
    } finally {
      // Packs that landed are indexed even when a later one failed: a re-run fetches only the rest.
      if (written.length > 0) await repository.writeIndex(written, []);
    }
    let manifestWritten = false;
    if (!(await repository.store.stat('manifest', manifest.id))) {
      await repository.store.write('manifest', manifest.id, archive.body.manifest, { exclusive: true });
      manifestWritten = true;
    }
    if (options.recordState) await recordArchive(repository, archive, manifest, packs.map((p) => ({ packId: p.pack.packId, tx: p.txId, size: p.pack.size })));
    return { repository, manifest, created, downloadedPacks: written.length, downloadedBytes, presentPacks: packs.length - missing.length, manifestWritten };
  } finally {
    await lock.release();
  }
}

/**
 * Notes in the archive state that the gateway holds these transactions, so a later
 * `archive upload` from this repository reuses them instead of paying again. Their status is
 * left pending until `archive status` asks.
 */
async function recordArchive(repository: Repository, archive: ArweaveArchive, manifest: Manifest, packs: ReadonlyArray<{ packId: string; tx: string; size: number }>): Promise<void> {
  const lock = await ArchiveState.lock(repository.location);
  try {
    const state = await ArchiveState.open(repository.location, repository.config.id);
    const gateway = state.gateway(archive.gateway);
    const now = new Date().toISOString();
    for (const p of packs) {
      if (gateway.packs[p.packId]?.status === 'confirmed' || gateway.packs[p.packId]?.status === 'pending') continue;
      gateway.packs[p.packId] = { tx: p.tx, size: p.size, backup: manifest.id, reward: '0', chunkSize: DEFAULT_CHUNK_SIZE, status: 'pending', posted: now };
    }
    gateway.archives[archive.tx] ??= {
      backup: manifest.id,
      tx: archive.tx,
      status: 'pending',
      created: now,
      packIds: packs.map((p) => p.packId),
      uploadedPacks: 0,
      uploadedBytes: 0,
      manifestBytes: Number(archive.header.data_size),
      cost: '0',
      public: !archive.body.encrypted,
    };
    await state.save();
  } finally {
    await lock.release();
  }
}
