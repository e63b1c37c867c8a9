// Manifests (docs/FORMAT.md §6): the record of one backup. Written last; a backup without a
// manifest does not exist.
import { Compressor, Decompressor } from 'zstd-napi';
import { open, seal, AuthenticationError } from '../crypto/aead.js';
import { AgentvaultError } from '../errors.js';
import { ENTRY_KINDS, type BackupType, type CodecName, type EntryInfo, type EntryKind, type SourceDescription } from '../types.js';
import { ByteReader, ByteWriter, readHeader, writeHeader } from './binary.js';

export const MANIFEST_VERSION = 1;
const MANIFEST_MAGIC = 'AVMF';
export const CHUNK_REF_LENGTH = 36;

export interface ManifestEntry {
  readonly name: string;
  readonly kind: EntryKind;
  readonly size: number;
  readonly mode?: number;
  readonly mtime?: number;
  readonly linkTarget?: string;
  /** n × (id (32) ‖ u32 plain length): every chunk of the entry, in order. */
  readonly chunks: Buffer;
}

export interface BackupStats {
  readonly logicalSize: number;
  /** Bytes this backup added to packs. */
  readonly storedSize: number;
  readonly chunks: number;
  readonly newChunks: number;
}

export interface Manifest {
  readonly version: number;
  readonly id: string;
  readonly created: string;
  readonly type: BackupType;
  readonly parent: string | null;
  readonly source: SourceDescription;
  readonly metadata: Readonly<Record<string, string>>;
  readonly compression: { readonly codec: CodecName; readonly level: number };
  readonly entries: readonly ManifestEntry[];
  readonly stats: BackupStats;
}

/** A finished entry's manifest record: its description, real size and chunk table. */
export function manifestEntry(info: EntryInfo, size: number, chunks: Buffer): ManifestEntry {
  return {
    name: info.name,
    kind: info.kind,
    size,
    ...(info.mode !== undefined ? { mode: info.mode } : {}),
    ...(info.mtime !== undefined ? { mtime: info.mtime } : {}),
    ...(info.linkTarget !== undefined ? { linkTarget: info.linkTarget } : {}),
    chunks,
  };
}

export interface ChunkRef {
  readonly id: Buffer;
  readonly size: number;
}

export function* chunkRefs(entry: ManifestEntry): Generator<ChunkRef> {
  for (let at = 0; at < entry.chunks.length; at += CHUNK_REF_LENGTH) {
    yield { id: entry.chunks.subarray(at, at + 32), size: entry.chunks.readUInt32LE(at + 32) };
  }
}

export function chunkCount(entry: ManifestEntry): number {
  return entry.chunks.length / CHUNK_REF_LENGTH;
}

/** Builds an entry's chunk table as chunks arrive. */
export class ChunkTableBuilder {
  #w = new ByteWriter(CHUNK_REF_LENGTH * 64);
  add(id: Buffer, size: number): void {
    this.#w.bytes(id).u32(size);
  }
  finish(): Buffer {
    return Buffer.from(this.#w.finish());
  }
}

function aad(backupId: string): Buffer {
  return Buffer.concat([Buffer.from('AVMF1'), Buffer.from(backupId, 'utf8')]);
}

export function encodeManifest(m: Manifest, metaKey: Buffer | undefined): Buffer {
  const json = JSON.stringify({ ...m, entries: m.entries.map((e) => ({ ...e, chunks: e.chunks.toString('base64') })) });
  const compressor = new Compressor();
  // zstd's content checksum: unencrypted files have no other integrity check.
  compressor.setParameters({ compressionLevel: 3, checksumFlag: true });
  const compressed = compressor.compress(Buffer.from(json, 'utf8'));
  const body = metaKey ? seal(metaKey, compressed, aad(m.id)) : compressed;
  const header = new ByteWriter(8);
  writeHeader(header, MANIFEST_MAGIC, MANIFEST_VERSION, metaKey ? 1 : 0);
  return Buffer.concat([header.finish(), body]);
}

export function decodeManifest(backupId: string, bytes: Buffer, metaKey: Buffer | undefined): Manifest {
  const what = `manifest of backup ${backupId}`;
  const r = new ByteReader(bytes, what);
  const { flags } = readHeader(r, MANIFEST_MAGIC, MANIFEST_VERSION, 'manifest');
  let compressed = r.bytes(r.remaining);
  if (flags & 1) {
    if (!metaKey) throw new AgentvaultError('CORRUPT', `${what} is encrypted but the repository is not`);
    try {
      compressed = open(metaKey, compressed, aad(backupId));
    } catch (err) {
      if (err instanceof AuthenticationError) throw new AgentvaultError('CORRUPT', `${what} is corrupt (fails authentication)`);
      throw err;
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new Decompressor().decompress(compressed).toString('utf8'));
  } catch {
    throw new AgentvaultError('CORRUPT', `${what} is corrupt (cannot decode)`);
  }
  return validateManifest(parsed, backupId, what);
}

function validateManifest(parsed: unknown, backupId: string, what: string): Manifest {
  const m = parsed as Record<string, unknown>;
  const bad = (why: string): never => {
    throw new AgentvaultError('CORRUPT', `${what} is corrupt: ${why}`);
  };
  if (typeof m !== 'object' || m === null) bad('not an object');
  if (typeof m.version === 'number' && m.version > MANIFEST_VERSION) {
    throw new AgentvaultError('NEWER_FORMAT', `${what} was written by a newer agentvault (manifest format ${m.version}; this version reads up to ${MANIFEST_VERSION})`);
  }
  if (m.version !== MANIFEST_VERSION) bad(`invalid version ${String(m.version)}`);
  if (m.id !== backupId) bad('its id does not match its file name');
  if (!Array.isArray(m.entries)) bad('no entries');
  const entries = (m.entries as Record<string, unknown>[]).map((e) => {
    if (typeof e.name !== 'string' || !ENTRY_KINDS.includes(e.kind as EntryKind) || typeof e.size !== 'number' || typeof e.chunks !== 'string') bad('malformed entry');
    const chunks = Buffer.from(e.chunks as string, 'base64');
    if (chunks.length % CHUNK_REF_LENGTH !== 0) bad(`entry ${String(e.name)} has a malformed chunk list`);
    return { ...e, chunks } as unknown as ManifestEntry;
  });
  return { ...(m as unknown as Manifest), entries };
}
