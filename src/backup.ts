// backup(): one pass from a source through the standard stages into a repository.
//
//   source → progress → chunk → hash → dedup → compress → encrypt → pack → repository sink
//
// The parent and the dedup scope follow the backup type:
//   full          parent none; stores every chunk it needs anew (independent of older backups'
//                 packs), except chunks no backup references yet: those were left by an
//                 interrupted run and are reused, so re-running a killed backup resumes it
//   incremental   parent = the newest backup of the same source; stores only chunks the
//                 repository does not hold
//   differential  parent = the newest full backup of the same source; stores only chunks that
//                 full backup does not hold
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { finished, pipeline } from 'node:stream/promises';
import type { Transform } from 'node:stream';
import { wrapForRecipient } from './crypto/age-keys.js';
import { AgentvaultError } from './errors.js';
import type { ChunkIndex } from './repository/chunk-index.js';
import { newBackupId } from './repository/ids.js';
import { repositoryRecipient } from './repository/keys.js';
import { chunkRefs, type Manifest } from './repository/manifest.js';
import type { Repository } from './repository/repository.js';
import { RepositorySink } from './sinks/repository.js';
import type { BackupSource } from './sources/source.js';
import { ChunkStage } from './stages/chunk.js';
import { CompressStage } from './stages/compress.js';
import { DedupStage, type ChunkLookup } from './stages/dedup.js';
import { EncryptStage } from './stages/encrypt.js';
import { HashStage } from './stages/hash.js';
import { ParallelBackupStage } from './stages/parallel-backup.js';
import { defaultWorkerCount, workerScript, WorkerPool } from './workers/pool.js';
import type { BackupTask, BackupTaskResult } from './workers/backup-worker.js';
import { ProgressStage, type ProgressListener } from './stages/progress.js';
import type { BackupType, CodecName, SourceDescription } from './types.js';
import { defaultLevel } from './codecs/index.js';
import { IdSet } from './repository/id-set.js';

export interface BackupOptions {
  readonly repository: Repository;
  readonly source: BackupSource;
  /** Default: incremental when the source has an earlier backup, else full. */
  readonly type?: BackupType;
  readonly compression?: { readonly codec: CodecName; readonly level?: number };
  readonly metadata?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
  /** Told about existing backups that cannot be read (e.g. a newer format); they are skipped. */
  readonly onUnreadableBackup?: (id: string, err: Error) => void;
  /**
   * Imports: keep these manifest fields from the original backup instead of choosing new ones.
   * The data is deduplicated against the whole repository whatever the type.
   */
  readonly preserve?: Pick<Manifest, 'id' | 'created' | 'type' | 'parent'>;
  /**
   * Worker threads for chunking, hashing, compression and encryption (default: one per core when
   * there are at least two; 0 runs every stage on this thread). Output is identical either way.
   */
  readonly workers?: number;
}

export interface BackupResult {
  readonly manifest: Manifest;
  /** Packs found on disk without an index (left by an interrupted run) and reused. */
  readonly adoptedPacks: number;
}

export async function backup(options: BackupOptions): Promise<BackupResult> {
  const { repository, source } = options;
  const lock = await repository.lock(false);
  try {
    const index = await repository.loadIndex();
    const adoptedPacks = await repository.adoptUnindexedPacks(index);
    const all = await repository.listBackups({ onUnreadable: options.onUnreadableBackup ?? (() => undefined) });
    const history = all.filter((m) => sameSource(m.source, source.description));
    const preserve = options.preserve;
    const type = preserve?.type ?? options.type ?? (history.length > 0 ? 'incremental' : 'full');
    const parent = preserve ? undefined : chooseParent(type, history);
    if (!preserve && type === 'differential' && !parent) {
      throw new AgentvaultError('USAGE', `a differential backup needs an earlier full backup of ${source.description.name}; make a full one first`);
    }

    await source.prepare?.(options.signal);
    const codec = options.compression?.codec ?? 'zstd';
    const level = options.compression?.level ?? defaultLevel(codec);

    const { config, keys } = repository;
    const chunker = { ...config.chunker, seed: keys.write.chunkerSeed };
    const destination = preserve ? index : dedupScope(type, index, parent, all);
    let dataKey: Buffer | undefined;
    let wrappedKey: Buffer | undefined;
    if (repository.encrypted) {
      dataKey = randomBytes(32);
      const stanza = wrapForRecipient(dataKey, repositoryRecipient(repository.repositoryPublicKey!));
      wrappedKey = Buffer.concat([stanza.ephemeralShare, stanza.body]);
    }
    const sink = new RepositorySink(repository, {
      version: 1,
      id: preserve?.id ?? newBackupId(),
      created: preserve?.created ?? new Date().toISOString(),
      type,
      parent: preserve ? preserve.parent : (parent?.id ?? null),
      source: source.description,
      metadata: options.metadata ?? {},
      compression: { codec, level },
    }, wrappedKey ? { wrappedKey } : {});
    const workers = options.workers ?? (os.availableParallelism() >= 2 ? defaultWorkerCount() : 0);
    let pool: WorkerPool<BackupTask, BackupTaskResult> | undefined;
    let allocate: (() => Uint8Array) | undefined;
    const stages: Transform[] = [];
    if (workers > 0) {
      pool = new WorkerPool(workerScript('backup-worker'), workers, { chunker, chunkId: config.chunkId, idKey: keys.write.idKey, codec, level, ...(dataKey ? { dataKey } : {}) });
      const parallel = new ParallelBackupStage({ pool, chunker, chunkId: config.chunkId, idKey: keys.write.idKey, destination, encrypted: dataKey !== undefined });
      // All its output taken, no task is left: the workers' memory goes before the last pack,
      // the index and the manifest are written (the end of a backup is its memory peak).
      const closing = pool;
      parallel.once('end', () => void closing.close());
      stages.push(parallel);
      allocate = parallel.allocate;
    } else {
      stages.push(new ChunkStage(chunker), new HashStage(config.chunkId, keys.write.idKey), new DedupStage(destination), new CompressStage(codec, level));
      if (dataKey) stages.push(new EncryptStage(dataKey));
    }
    if (options.onProgress) stages.unshift(new ProgressStage(options.onProgress, source.totalBytes !== undefined ? { totalBytes: source.totalBytes } : {}));

    try {
      await pipeline([source.records(options.signal, allocate ? { allocate } : {}), ...stages, sink], options.signal ? { signal: options.signal } : {});
    } catch (err) {
      // pipeline() rejects once it has destroyed the streams, before the sink's pack writes in
      // flight have settled: the lock must not be released while they still write.
      await finished(sink).catch(() => undefined);
      throw err;
    } finally {
      await pool?.close();
    }
    return { manifest: sink.manifest!, adoptedPacks };
  } finally {
    await lock.release();
  }
}

/** A canister backed up live and from a snapshot directory is one source: one history. */
function sameSource(a: SourceDescription, b: SourceDescription): boolean {
  const canisterLike = (k: string) => k === 'canister' || k === 'snapshot-dir';
  return a.name === b.name && (a.kind === b.kind || (canisterLike(a.kind) && canisterLike(b.kind)));
}

function chooseParent(type: BackupType, history: readonly Manifest[]): Manifest | undefined {
  if (type === 'incremental') return history.at(-1);
  if (type === 'differential') return history.filter((m) => m.type === 'full').at(-1);
  return undefined;
}

function dedupScope(type: BackupType, index: ChunkIndex, parent: Manifest | undefined, all: readonly Manifest[]): ChunkLookup {
  if (type === 'incremental') return index;
  if (type === 'full') {
    const referenced = chunkIdSet(all);
    return { has: (id) => index.has(id) && !referenced.has(id) };
  }
  const inParent = chunkIdSet([parent!]);
  return { has: (id) => inParent.has(id) && index.has(id) };
}

function chunkIdSet(manifests: readonly Manifest[]): IdSet {
  const ids = new IdSet();
  for (const m of manifests) for (const entry of m.entries) for (const ref of chunkRefs(entry)) ids.add(ref.id);
  return ids;
}
