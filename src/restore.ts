// restore(): a backup out of a repository, every chunk verified before it is used.
//
//   repository source → checksum → decrypt → decompress → verify id → progress → sink
//
// With workers, the middle stages run in the pool (ParallelRestoreStage). When the sink writes
// local files and the repository is on local disk, the workers also read the packs and write
// the files themselves (PositionalRestoreSource): the main thread only plans.
import os from 'node:os';
import { finished, pipeline } from 'node:stream/promises';
import type { Transform, Writable } from 'node:stream';
import { AgentvaultError } from './errors.js';
import type { ChunkIndex } from './repository/chunk-index.js';
import type { Manifest } from './repository/manifest.js';
import type { Repository } from './repository/repository.js';
import { RepositorySource } from './sources/repository.js';
import { DecompressStage } from './stages/compress.js';
import { DecryptStage } from './stages/encrypt.js';
import { ProgressStage, type ProgressListener } from './stages/progress.js';
import { ChecksumVerifyStage, ChunkIdVerifyStage } from './stages/verify.js';
import { ParallelRestoreStage } from './stages/parallel-restore.js';
import { isPositionalTarget } from './sinks/files.js';
import { PositionalRestoreSource } from './sources/positional-restore.js';
import { localPaths } from './backend/backend.js';
import { defaultWorkerCount, workerScript, WorkerPool } from './workers/pool.js';
import type { RestoreResult, RestoreTask } from './workers/restore-protocol.js';

export interface RestoreOptions {
  readonly repository: Repository;
  readonly manifest: Manifest;
  /** Where plaintext records go: FileSink, DirectorySink, ByteStreamSink, or your own Writable. */
  readonly sink: Writable;
  /** A loaded index, when the caller has one already. */
  readonly index?: ChunkIndex;
  readonly entries?: ReadonlySet<number>;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
  /** Worker threads for decryption, decompression and verification (default: one per core when there are at least two; 0 = this thread). */
  readonly workers?: number;
  /**
   * Let the workers read packs and write the sink's files themselves, when the sink offers it
   * (FileSink, DirectorySink) and the repository is on local disk (default: true). False sends
   * every chunk's plaintext through the sink instead.
   */
  readonly positional?: boolean;
}

/** The verify/decode stages, in order, for chunks read from `repository`. */
export function restoreStages(repository: Repository): Transform[] {
  return [
    new ChecksumVerifyStage(),
    new DecryptStage((record) => {
      if (!record.wrappedKey) throw new AgentvaultError('CORRUPT', 'a sealed chunk has no data key');
      return repository.dataKey(record.wrappedKey);
    }),
    new DecompressStage(),
    new ChunkIdVerifyStage(repository.config.chunkId, repository.keys.write.idKey),
  ];
}

export async function restore(options: RestoreOptions): Promise<void> {
  const { repository, manifest } = options;
  if (!repository.canReadData) {
    throw new AgentvaultError('READ_ONLY_KEY', 'restoring needs the age identity file or the password; the public key only allows writing');
  }
  const index = options.index ?? (await repository.loadIndex());
  const source = new RepositorySource(repository, manifest, index, options.entries ? { entries: options.entries } : {});
  source.checkComplete();
  const workers = options.workers ?? (os.availableParallelism() >= 2 ? defaultWorkerCount() : 0);
  const pool = workers > 0 ? new WorkerPool<RestoreTask, RestoreResult>(workerScript('restore-worker'), workers, { chunkId: repository.config.chunkId, idKey: repository.keys.write.idKey }) : undefined;
  const dataKey = (wrapped: Buffer) => repository.dataKey(wrapped);
  const packs = localPaths(repository.store);
  const positional = pool && packs && isPositionalTarget(options.sink) && options.positional !== false;
  const records = positional
    ? new PositionalRestoreSource(source, { pool, dataKey, target: options.sink, packPath: (id) => packs.localPath('pack', id) }).records()
    : source.records();
  const stages: Transform[] = positional ? [] : pool ? [new ParallelRestoreStage({ pool, dataKey })] : restoreStages(repository);
  if (options.onProgress) {
    const total = manifest.entries.reduce((n, e, i) => n + (!options.entries || options.entries.has(i) ? e.size : 0), 0);
    stages.push(new ProgressStage(options.onProgress, { totalBytes: total }));
  }
  try {
    await pipeline([records, ...stages, options.sink], options.signal ? { signal: options.signal } : {});
  } catch (err) {
    // pipeline() rejects as soon as it has destroyed the streams, before a sink's own cleanup
    // (a file sink removes its temp files) has finished: nothing may be left when this rejects.
    await finished(options.sink).catch(() => undefined);
    if (err instanceof AgentvaultError && err.code === 'CORRUPT' && !err.message.startsWith('backup ')) {
      throw new AgentvaultError('CORRUPT', `backup ${manifest.id}: ${err.message}`, { cause: err });
    }
    throw err;
  } finally {
    await pool?.close();
  }
}
