// The four things a backup stream is for: create one straight from a source (no repository),
// export a repository's backup, import one into a repository, restore one without a repository.
import { randomBytes } from 'node:crypto';
import { Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { backup } from '../backup.js';
import { defaultLevel } from '../codecs/index.js';
import { wrapForRecipient, type AgeRecipient } from '../crypto/age-keys.js';
import { AgentvaultError } from '../errors.js';
import { ChunkReader } from '../repository/chunk-reader.js';
import { newConfig } from '../repository/config.js';
import { BackupEntryReader } from '../repository/entry-reader.js';
import { newBackupId } from '../repository/ids.js';
import {
  generateKeys,
  makePasswordKeyFile,
  makePlainKeyFile,
  makeRecipientKeyFile,
  parseKeyFile,
  repositoryRecipient,
  type Credentials,
  type KeyFile,
} from '../repository/keys.js';
import { chunkRefs, type Manifest } from '../repository/manifest.js';
import type { Repository } from '../repository/repository.js';
import type { BackupSource } from '../sources/source.js';
import { RepositorySource } from '../sources/repository.js';
import { ChunkStage } from '../stages/chunk.js';
import { CompressStage } from '../stages/compress.js';
import { EncryptStage } from '../stages/encrypt.js';
import { HashStage } from '../stages/hash.js';
import { ProgressStage, type ProgressListener } from '../stages/progress.js';
import type { CodecName, PipelineRecord, SourceRecord } from '../types.js';
import { BackupStreamEncoder } from './encoder.js';
import { BackupStreamReader } from './reader.js';
import type { CopyRecord, StreamBackupInfo } from './format.js';

export interface CreateStreamOptions {
  readonly source: BackupSource;
  readonly output: NodeJS.WritableStream;
  /** Protects the stream: a password and/or age recipients; `encrypt: false` for none. */
  readonly password?: string;
  readonly recipients?: readonly AgeRecipient[];
  readonly encrypt?: boolean;
  readonly compression?: { readonly codec: CodecName; readonly level?: number };
  readonly metadata?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
}

/** `backup create --stdout`: a full backup written as a stream, with keys of its own. */
export async function createBackupStream(options: CreateStreamOptions): Promise<StreamBackupInfo> {
  const encrypt = options.encrypt !== false;
  if (encrypt && options.password === undefined && !options.recipients?.length) {
    throw new AgentvaultError('NEED_KEY', 'an encrypted stream needs a password or an age key file (--key-file); or use --no-encrypt');
  }
  const keys = generateKeys();
  const config = newConfig({ encryption: encrypt ? 'aes-256-gcm' : 'none', ...(encrypt ? { repositoryPublicKey: keys.identity.recipient.publicKey } : {}) });
  const keyFiles: KeyFile[] = [];
  if (!encrypt) keyFiles.push(makePlainKeyFile(keys.write));
  if (encrypt && options.password !== undefined) keyFiles.push(await makePasswordKeyFile(keys, options.password));
  if (encrypt) for (const r of options.recipients ?? []) keyFiles.push(makeRecipientKeyFile(keys, r, config.id));
  await options.source.prepare?.(options.signal);
  const codec = options.compression?.codec ?? 'zstd';
  const level = options.compression?.level ?? defaultLevel(codec);
  const info: StreamBackupInfo = {
    id: newBackupId(),
    created: new Date().toISOString(),
    type: 'full',
    parent: null,
    source: options.source.description,
    metadata: options.metadata ?? {},
    compression: { codec, level },
  };
  const stages: Transform[] = [new ChunkStage({ ...config.chunker, seed: keys.write.chunkerSeed }), new HashStage(config.chunkId, keys.write.idKey), new CompressStage(codec, level)];
  let wrappedKey: Buffer | undefined;
  if (encrypt) {
    const dataKey = randomBytes(32);
    const stanza = wrapForRecipient(dataKey, repositoryRecipient(keys.identity.recipient.publicKey));
    wrappedKey = Buffer.concat([stanza.ephemeralShare, stanza.body]);
    stages.push(new EncryptStage(dataKey));
  }
  if (options.onProgress) stages.unshift(new ProgressStage(options.onProgress, options.source.totalBytes !== undefined ? { totalBytes: options.source.totalBytes } : {}));
  const encoder = new BackupStreamEncoder({ config, keyFiles, metaKey: encrypt ? keys.write.metaKey : undefined, backup: info, ...(wrappedKey ? { wrappedKey } : {}) });
  await pipeline([options.source.records(options.signal), ...stages, encoder, options.output as Writable], { ...(options.signal ? { signal: options.signal } : {}), end: false });
  return info;
}

export interface ExportOptions {
  readonly repository: Repository;
  readonly manifest: Manifest;
  /** Incremental stream: chunks this backup shares with `since` travel as references. */
  readonly since?: Manifest;
  readonly output: NodeJS.WritableStream;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
}

/** `backup export <id> --stdout [--since <parent>]`. Needs no read key: chunks travel sealed. */
export async function exportBackupStream(options: ExportOptions): Promise<void> {
  const { repository, manifest, since } = options;
  const keyFiles: KeyFile[] = [];
  for await (const f of repository.store.list('key')) keyFiles.push(parseKeyFile(await repository.store.read('key', f.name), f.name));
  const index = await repository.loadIndex();
  const inParent = new Map<string, { entry: number; offset: number }>();
  if (since) {
    since.entries.forEach((e, entry) => {
      let offset = 0;
      for (const ref of chunkRefs(e)) {
        inParent.set(ref.id.toString('latin1'), { entry, offset });
        offset += ref.size;
      }
    });
  }
  const source = new RepositorySource(repository, manifest, index, since ? { omit: (id) => inParent.has(id.toString('latin1')) } : {});
  source.checkComplete();
  const toCopies = new Transform({
    objectMode: true,
    transform(record: PipelineRecord, _e: BufferEncoding, callback: TransformCallback) {
      if (record.type === 'chunk' && record.known) {
        const at = inParent.get(record.id!.toString('latin1'))!;
        const copy: CopyRecord = { type: 'copy', entry: record.entry, parentEntry: at.entry, offset: at.offset, length: record.size };
        callback(null, copy);
      } else callback(null, record);
    },
  });
  const encoder = new BackupStreamEncoder({
    config: repository.config,
    keyFiles,
    metaKey: repository.metaKey,
    backup: { id: manifest.id, created: manifest.created, type: since ? 'incremental' : manifest.type, parent: since ? since.id : manifest.parent, source: manifest.source, metadata: manifest.metadata, compression: manifest.compression },
    manifest: since ? { ...manifest, type: 'incremental', parent: since.id } : manifest,
    incremental: since !== undefined,
  });
  const stages: Transform[] = since ? [toCopies] : [];
  if (options.onProgress) stages.push(new ProgressStage(options.onProgress, { totalBytes: manifest.stats.logicalSize }));
  await pipeline([source.records(), ...stages, encoder, options.output as Writable], { ...(options.signal ? { signal: options.signal } : {}), end: false });
}

export interface ImportOptions {
  readonly repository: Repository;
  readonly input: NodeJS.ReadableStream;
  /** Unlocks the stream (often the same as the repository's). */
  readonly credentials: Credentials;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
}

/** `backup import --stdin`: re-chunks the stream's plaintext with the repository's own keys. */
export async function importBackupStream(options: ImportOptions): Promise<Manifest> {
  const { repository } = options;
  const reader = await BackupStreamReader.open(options.input, options.credentials);
  const info = reader.info;
  if ((await repository.listBackupIds()).includes(info.id)) throw new AgentvaultError('EXISTS', `backup ${info.id} is already in ${repository.location}`);
  let resolveCopy;
  let chunkReader: ChunkReader | undefined;
  if (reader.incremental) {
    if (!info.parent) throw new AgentvaultError('CORRUPT', 'the incremental stream names no parent backup');
    let parent: Manifest;
    try {
      parent = await repository.readManifest(info.parent);
    } catch (err) {
      if ((err as AgentvaultError).code === 'NOT_FOUND') {
        throw new AgentvaultError('MISSING_DATA', `this incremental stream needs its parent backup ${info.parent}, which ${repository.location} does not have; import that backup first`);
      }
      throw err;
    }
    chunkReader = new ChunkReader(repository, await repository.loadIndex());
    const entries = new BackupEntryReader(parent, chunkReader);
    resolveCopy = (entry: number, offset: number, length: number) => entries.read(entry, offset, length);
  }
  const records = reader.records(resolveCopy ? { resolveCopy } : {});
  const toData = new Transform({
    objectMode: true,
    transform(record: PipelineRecord, _e: BufferEncoding, callback: TransformCallback) {
      callback(null, record.type === 'chunk' ? ({ type: 'data', entry: record.entry, bytes: record.data! } satisfies SourceRecord) : record);
    },
  });
  const source: BackupSource = {
    description: info.source as BackupSource['description'],
    totalBytes: undefined,
    records: () => records.pipe(toData),
  };
  records.once('error', (err) => toData.destroy(err));
  try {
    const { manifest } = await backup({
      repository,
      source,
      preserve: { id: info.id, created: info.created, type: info.type, parent: info.parent },
      compression: info.compression,
      metadata: info.metadata,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    return manifest;
  } finally {
    await chunkReader?.close();
  }
}

export interface RestoreStreamOptions {
  readonly input: NodeJS.ReadableStream;
  readonly credentials: Credentials;
  /** FileSink, DirectorySink, ByteStreamSink, or your own Writable of plaintext records. */
  readonly sink: Writable | ((reader: BackupStreamReader) => Writable | Promise<Writable>);
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
}

/** `backup restore --stdin`: a full stream straight to a target, no repository involved. */
export async function restoreBackupStream(options: RestoreStreamOptions): Promise<BackupStreamReader> {
  const reader = await BackupStreamReader.open(options.input, options.credentials);
  const records = reader.records();
  const sink = typeof options.sink === 'function' ? await options.sink(reader) : options.sink;
  const stages: Transform[] = options.onProgress ? [new ProgressStage(options.onProgress)] : [];
  await pipeline([records, ...stages, sink], options.signal ? { signal: options.signal } : {});
  return reader;
}
