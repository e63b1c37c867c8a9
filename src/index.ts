// agentvault's library API: sources, stages and sinks that compose with
// `node:stream/promises` pipeline(), the repository they read and write, and two helpers,
// backup() and restore(), that wire the standard pipeline.
export type {
  AnyRecord,
  BackupType,
  ChunkRecord,
  CodecName,
  DataRecord,
  EntryEndRecord,
  EntryInfo,
  EntryKind,
  EntryRecord,
  PackRecord,
  PackedChunk,
  PackedRecord,
  PipelineRecord,
  SourceDescription,
  SourceRecord,
} from './types.js';
export { AgentvaultError, UsageError, type ErrorCode } from './errors.js';

export { backup, type BackupOptions, type BackupResult } from './backup.js';
export { restore, restoreStages, type RestoreOptions } from './restore.js';

export type { BackupSource, RecordsOptions } from './sources/source.js';
export { FileSource } from './sources/file.js';
export { StdinSource, type StdinSourceOptions } from './sources/stdin.js';
export { ProjectSource } from './sources/project.js';
export { RepositorySource, type RepositorySourceOptions } from './sources/repository.js';

export { ChunkStage } from './stages/chunk.js';
export { HashStage } from './stages/hash.js';
export { DedupStage, type ChunkLookup } from './stages/dedup.js';
export { CompressStage, DecompressStage } from './stages/compress.js';
export { EncryptStage, DecryptStage, type DataKeyResolver } from './stages/encrypt.js';
export { PackStage, type PackOptions } from './stages/pack.js';
export { ChecksumVerifyStage, ChunkIdVerifyStage } from './stages/verify.js';
export { ProgressStage, type Progress, type ProgressListener } from './stages/progress.js';
export { ChunkTransform } from './stages/record-transform.js';

export { RepositorySink, type ManifestDraft } from './sinks/repository.js';
export { VerifySink } from './sinks/verify.js';
export { FileSink, DirectorySink, checkTarget, isPositionalTarget, type FileTargetOptions, type PositionalTarget } from './sinks/files.js';
export { ByteStreamSink } from './sinks/stream.js';

export { Repository, type InitOptions, type BackupFilter } from './repository/repository.js';
export type { Credentials, RepositoryKeys } from './repository/keys.js';
export type { Manifest, ManifestEntry, BackupStats, ChunkRef } from './repository/manifest.js';
export { chunkRefs } from './repository/manifest.js';
export { ChunkIndex, type ChunkLocation } from './repository/chunk-index.js';
export { checkRepository, type CheckReport, type CheckOptions } from './repository/check.js';
export { collectGarbage, type GcOptions, type GcReport } from './repository/prune.js';
export { applyRetention, type RetentionPolicy } from './repository/retention.js';
export { diffBackups, type BackupDiff } from './repository/diff.js';
export type { RepositoryConfig, ChunkerConfig } from './repository/config.js';
export { DEFAULT_CHUNKER } from './repository/config.js';

export type { ReadableStore, WritableStore, PrunableStore, FileType, PendingFile, RandomAccessFile } from './backend/backend.js';
export { LocalBackend } from './backend/local.js';

export { FastCdc2020, chunkLengths, type FastCdcParams } from './chunker/fastcdc.js';
export { createCodec, CODEC_NAMES, type Codec } from './codecs/index.js';
export { parseKeyFile as parseAgeKeyFile, generateIdentity, formatIdentityFile, type AgeIdentity, type AgeRecipient } from './crypto/age-keys.js';

export { BackupStreamEncoder, type StreamEncoderOptions } from './stream/encoder.js';
export { BackupStreamDecoder, type RawStreamRecord } from './stream/decoder.js';
export { BackupStreamReader, type CopyResolver } from './stream/reader.js';
export type { StreamBackupInfo, CopyRecord } from './stream/format.js';
export {
  createBackupStream,
  exportBackupStream,
  importBackupStream,
  restoreBackupStream,
  type CreateStreamOptions,
  type ExportOptions,
  type ImportOptions,
  type RestoreStreamOptions,
} from './stream/operations.js';

export { archiveBackup, planArchive, estimateArchive, type ArchiveUploadOptions, type ArchiveUploadResult, type ArchivePlan, type ArchiveEstimate } from './arweave/archiver.js';
export { downloadArchive, type DownloadOptions, type DownloadResult } from './arweave/download.js';
export { ArweaveArchive, type OpenedArchive } from './sources/arweave.js';
export { ArweaveSink, type ArweaveSinkOptions, type ArchivedPackResult } from './sinks/arweave.js';
export { GatewayClient, type ClientOptions, type TransactionStatus } from './arweave/client.js';
export { ArweaveError, type ArweaveErrorCode } from './arweave/errors.js';
export { ArweaveWallet } from './arweave/wallet.js';
export { ArchiveState, type ArchiveRecord, type ArchiveStatus } from './arweave/archive-state.js';
export { waitForArchives, refreshArchive, type ArchiveCheck } from './arweave/confirm.js';
export { Uploader, type UploaderOptions } from './arweave/uploader.js';
export { winstonToAr, parseSize, priceOf, checkBalance } from './arweave/pricing.js';
export type { ArweaveSettings } from './arweave/gateways.js';
