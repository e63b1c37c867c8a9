// A directory written by `dfx canister snapshot download` / `icp canister snapshot download`
// (metadata.json, wasm_module.bin, wasm_memory.bin, stable_memory.bin, wasm_chunk_store/<hash>.bin)
// as a backup with the same entries a live canister backup has.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { AgentvaultError, describeIoError } from '../errors.js';
import { decodeSnapshotMetadata } from '../ic/snapshot-metadata.js';
import type { SnapshotMetadata } from '../ic/management.js';
import type { EntryKind, SourceDescription, SourceRecord } from '../types.js';
import { SNAPSHOT_ENTRY_NAMES } from '../ic/constants.js';
import { fileRecords, readFilePieces } from './read-file.js';
import type { BackupSource, RecordsOptions } from './source.js';

interface DirEntry {
  readonly name: string;
  readonly kind: EntryKind;
  readonly file: string;
  readonly size: number;
}

export class SnapshotDirSource implements BackupSource {
  private constructor(
    readonly dir: string,
    readonly metadata: SnapshotMetadata,
    readonly entries: readonly DirEntry[],
    readonly canisterId: string | undefined,
  ) {}

  static async open(dir: string, options: { canisterId?: string } = {}): Promise<SnapshotDirSource> {
    const root = path.resolve(dir);
    const metaFile = path.join(root, SNAPSHOT_ENTRY_NAMES.metadata);
    let metaBytes: Buffer;
    try {
      metaBytes = await fs.readFile(metaFile);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new AgentvaultError('INPUT', `${dir} is not a snapshot directory (no ${SNAPSHOT_ENTRY_NAMES.metadata})`);
      throw describeIoError(err, `reading ${metaFile}`);
    }
    const metadata = decodeSnapshotMetadata(metaBytes, metaFile);
    const entries: DirEntry[] = [{ name: SNAPSHOT_ENTRY_NAMES.metadata, kind: 'metadata', file: metaFile, size: metaBytes.length }];
    const regions: Array<[EntryKind, string, bigint]> = [
      ['wasm_module', SNAPSHOT_ENTRY_NAMES.wasm_module, metadata.wasmModuleSize],
      ['wasm_memory', SNAPSHOT_ENTRY_NAMES.wasm_memory, metadata.wasmMemorySize],
      ['stable_memory', SNAPSHOT_ENTRY_NAMES.stable_memory, metadata.stableMemorySize],
    ];
    for (const [kind, name, expected] of regions) {
      const file = path.join(root, name);
      const st = await fs.stat(file).catch(() => undefined);
      // dfx leaves out stable_memory.bin when it is empty.
      const size = st?.size ?? 0;
      if (!st && expected !== 0n) throw new AgentvaultError('INPUT', `${dir} is missing ${name} (${expected} bytes by its metadata)`);
      if (BigInt(size) !== expected) throw new AgentvaultError('INPUT', `${name} in ${dir} has ${size} bytes but metadata.json says ${expected}`);
      entries.push({ name, kind, file, size });
    }
    for (const { hash } of metadata.wasmChunkStore) {
      const hex = Buffer.from(hash).toString('hex');
      const name = `${SNAPSHOT_ENTRY_NAMES.chunkDir}/${hex}.bin`;
      const file = path.join(root, SNAPSHOT_ENTRY_NAMES.chunkDir, `${hex}.bin`);
      const st = await fs.stat(file).catch(() => undefined);
      if (!st) throw new AgentvaultError('INPUT', `${dir} is missing ${name}, listed in its metadata`);
      entries.push({ name, kind: 'wasm_chunk', file, size: st.size });
    }
    return new SnapshotDirSource(root, metadata, entries, options.canisterId);
  }

  get description(): SourceDescription {
    return {
      kind: 'snapshot-dir',
      name: this.canisterId ?? path.basename(this.dir),
      path: this.dir,
      host: os.hostname(),
      ...(this.canisterId ? { canisterId: this.canisterId } : {}),
    };
  }

  get totalBytes(): number {
    return this.entries.reduce((n, e) => n + e.size, 0);
  }

  records(signal?: AbortSignal, options: RecordsOptions = {}): Readable {
    return fileRecords(this.#generate(signal, options.allocate), options);
  }

  async *#generate(signal?: AbortSignal, allocate?: () => Uint8Array): AsyncGenerator<SourceRecord> {
    for (const [index, e] of this.entries.entries()) {
      yield { type: 'entry', entry: { index, name: e.name, kind: e.kind, size: e.size } };
      let size = 0;
      if (e.size > 0) {
        try {
          for await (const bytes of readFilePieces(e.file, allocate, signal)) {
            size += bytes.byteLength;
            yield { type: 'data', entry: index, bytes };
          }
        } catch (err) {
          throw describeIoError(err, `reading ${e.file}`);
        }
      }
      if (size !== e.size) throw new AgentvaultError('INPUT', `${e.file} changed while it was read`);
      yield { type: 'entry-end', entry: index, size };
    }
  }
}
