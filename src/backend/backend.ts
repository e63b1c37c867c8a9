// The storage underneath a repository, as small capability interfaces (desync style): a store
// that can be read, one that can be written, one that can be pruned. Permanent stores (Arweave)
// implement only the first two, so the type system forbids pruning them.
//
// Backends move opaque files; they know nothing of packs, keys or encryption.

export type FileType = 'config' | 'key' | 'pack' | 'index' | 'manifest' | 'lock';

export interface FileInfo {
  readonly name: string;
  readonly size: number;
}

/** An open file for many positional reads (restore reads thousands of chunks per pack). */
export interface RandomAccessFile {
  readonly size: number;
  /** Exactly `length` bytes at `offset`, into `allocate(length)` if given; a short read is reported as a truncated file. */
  read(offset: number, length: number, allocate?: (length: number) => Buffer): Promise<Buffer>;
  close(): Promise<void>;
}

export interface ReadableStore {
  /** A readable description for messages, e.g. the repository path. */
  readonly location: string;
  /** Whole file. Throws AgentvaultError NOT_FOUND when absent. */
  read(type: FileType, name: string): Promise<Buffer>;
  /** `length` bytes from `offset`; fewer bytes than asked is reported as corruption. */
  readRange(type: FileType, name: string, offset: number, length: number): Promise<Buffer>;
  /** Opens a file for positional reads. Throws NOT_FOUND / MISSING_DATA when absent. */
  openFile(type: FileType, name: string): Promise<RandomAccessFile>;
  /** Size of a file, or undefined when it does not exist. */
  stat(type: FileType, name: string): Promise<FileInfo | undefined>;
  list(type: FileType): AsyncIterable<FileInfo>;
}

/** A file being written: invisible to readers until `commit()`. */
export interface PendingFile {
  /**
   * Appends `bytes`. The file may hold on to them to gather larger writes: they must not change
   * until `flush`, `commit` or `abort` has resolved.
   */
  write(bytes: Uint8Array): Promise<void>;
  /** Writes out everything handed to `write` so far; from then on the caller may reuse those bytes. */
  flush(): Promise<void>;
  /** Bytes written so far. */
  readonly size: number;
  /** Durably publishes the file under its name. */
  commit(): Promise<void>;
  /** Drops the partial file; safe to call after a failed write. */
  abort(): Promise<void>;
}

export interface WritableStore extends ReadableStore {
  /** Atomically writes a whole file (temp name, fsync, rename, fsync of the directory). */
  write(type: FileType, name: string, bytes: Uint8Array, options?: { exclusive?: boolean }): Promise<void>;
  /** Streams a large file (packs); it appears under its name only on commit. */
  create(type: FileType, name: string): Promise<PendingFile>;
}

export interface PrunableStore extends WritableStore {
  remove(type: FileType, name: string): Promise<void>;
  /** Removes temp files left by crashed writers; only safe under the exclusive lock. */
  removeStaleTemporaryFiles(): Promise<number>;
}

/** A store whose files are on local disk, so another thread can open them by path. */
export interface LocalPathStore {
  localPath(type: FileType, name: string): string;
}

/** The store as a LocalPathStore, when it is one. */
export function localPaths(store: ReadableStore): LocalPathStore | undefined {
  return typeof (store as Partial<LocalPathStore>).localPath === 'function' ? (store as ReadableStore & LocalPathStore) : undefined;
}
