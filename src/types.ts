// The records that flow through a backup or restore pipeline.
//
// A source emits, for each entry: one EntryRecord, any number of DataRecords with the entry's
// bytes, then one EntryEndRecord. The chunker turns DataRecords into ChunkRecords; every later
// stage transforms ChunkRecords and passes the other records through untouched, so stages never
// need to know where records came from or where they go.

/** What an entry is: a file-system object, a piped stream, or one part of a canister's state. */
export type EntryKind =
  | 'file'
  | 'directory'
  | 'symlink'
  | 'stdin'
  | 'wasm_module'
  | 'wasm_memory'
  | 'stable_memory'
  | 'wasm_chunk'
  | 'metadata';

export const ENTRY_KINDS: readonly EntryKind[] = [
  'file',
  'directory',
  'symlink',
  'stdin',
  'wasm_module',
  'wasm_memory',
  'stable_memory',
  'wasm_chunk',
  'metadata',
];

export interface EntryInfo {
  /** Position of the entry in the backup, from 0. */
  readonly index: number;
  /** Path-like name, posix separators (a file's relative path, `stdin`, `wasm_memory`, …). */
  readonly name: string;
  readonly kind: EntryKind;
  /** Expected size in bytes when the source knows it (used for progress); the real size is counted. */
  readonly size?: number;
  readonly mode?: number;
  /** Modification time, milliseconds since the epoch. */
  readonly mtime?: number;
  readonly linkTarget?: string;
}

export interface EntryRecord {
  readonly type: 'entry';
  readonly entry: EntryInfo;
}

export interface DataRecord {
  readonly type: 'data';
  readonly entry: number;
  readonly bytes: Buffer;
}

export interface EntryEndRecord {
  readonly type: 'entry-end';
  readonly entry: number;
  /** Bytes the entry really had. */
  readonly size: number;
}

/** Compression codec of one stored chunk; the number is what the formats store. */
export type CodecName = 'none' | 'zstd' | 'brotli' | 'gzip';

/**
 * One content-defined chunk. Stages fill in the fields in pipeline order:
 * chunk (entry, offset, size, data) → hash (id) → dedup (known) → compress (codec) → encrypt
 * (sealed data) → checksum. Restore runs the other way and fills `data` with verified plaintext.
 */
export interface ChunkRecord {
  readonly type: 'chunk';
  readonly entry: number;
  /** Offset of the chunk in its entry. */
  readonly offset: number;
  /** Plaintext length. */
  readonly size: number;
  /** The bytes as they are at this point of the pipeline; null once a chunk needs no storing. */
  data: Buffer | null;
  /** Keyed hash of the plaintext (32 bytes). */
  id?: Buffer;
  /** True when the destination already holds this chunk: it is referenced, not stored again. */
  known?: boolean;
  /** Codec of `data` once compressed. */
  codec?: CodecName;
  /** True once `data` is sealed (encrypted) for the destination. */
  sealed?: boolean;
  /** xxh64 of the stored bytes (set when packed; on restore, the value the index expects). */
  checksum?: bigint;
  /** On restore: the data key of a sealed chunk, wrapped to the repository key. */
  wrappedKey?: Buffer;
  /**
   * On restore: the plaintext is already in the sink's file at this offset (`data` is null). Only
   * a sink that offered positional writes (a PositionalTarget) is ever sent such records.
   */
  written?: boolean;
  /**
   * Lets whoever produced `data` reuse its memory: call once the bytes have been copied or
   * written and nothing reads them any more. Optional both ways: a consumer that never calls it
   * leaves the memory to the garbage collector, and `data` stays valid until it is called.
   */
  release?: () => void;
}

/** A finished pack file, ready for a sink to store (docs/FORMAT.md §4). */
export interface PackRecord {
  readonly type: 'pack';
  readonly packId: string;
  /** Header, blobs and trailer, in file order. */
  readonly parts: readonly Buffer[];
  readonly size: number;
  /** Wrapped data keys and chunk entries, as in the trailer and the index. */
  readonly keys: readonly Buffer[];
  readonly entries: readonly PackedChunk[];
}

export interface PackedChunk {
  readonly id: Buffer;
  readonly offset: number;
  readonly storedLength: number;
  readonly plainLength: number;
  readonly codec: CodecName;
  readonly keyIndex: number;
  readonly checksum: bigint;
}

export type SourceRecord = EntryRecord | DataRecord | EntryEndRecord;
export type PipelineRecord = EntryRecord | EntryEndRecord | ChunkRecord;
/** What leaves the pack stage: the pipeline records plus finished packs. */
export type PackedRecord = PipelineRecord | PackRecord;
export type AnyRecord = SourceRecord | ChunkRecord | PackRecord;

export type BackupType = 'full' | 'incremental' | 'differential';

/** Where a backup came from, as recorded in its manifest. */
export interface SourceDescription {
  readonly kind: 'file' | 'stdin' | 'project' | 'canister' | 'snapshot-dir';
  /** What the user calls it: a file's base name, a project's directory name, a canister id. */
  readonly name: string;
  readonly host?: string;
  readonly path?: string;
  readonly [key: string]: unknown;
}
