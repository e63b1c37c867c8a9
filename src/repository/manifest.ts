// Manifests (docs/FORMAT.md §6): the record of one backup. Written last; a backup without a
// manifest does not exist.
import { AgentvaultError } from '../errors.js';
import { largeBuffer } from '../large-buffer.js';
import { ENTRY_KINDS, type BackupType, type CodecName, type EntryInfo, type EntryKind, type SourceDescription } from '../types.js';
import { ByteReader, ByteWriter, readHeader, writeHeader } from './binary.js';
import { openSealedZstd, sealZstd } from './sealed.js';

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
    return this.#w.finish();
  }
}

function aad(backupId: string): Buffer {
  return Buffer.concat([Buffer.from('AVMF1'), Buffer.from(backupId, 'utf8')]);
}

/** The manifest file: header ‖ zstd JSON, sealed with `metaKey` when given (see sealZstd). */
export function encodeManifest(m: Manifest, metaKey: Buffer | undefined): Buffer {
  const json = manifestJson(m);
  const header = new ByteWriter(8);
  writeHeader(header, MANIFEST_MAGIC, MANIFEST_VERSION, metaKey ? 1 : 0);
  return sealZstd(header.finish(), json.pieces(), json.length, metaKey, aad(m.id));
}

/**
 * The JSON's chunk tables are base64-encoded this many table bytes at a time (a multiple of 3: the
 * pieces join up), small enough that each slice's string dies young.
 */
const BASE64_SLICE = 3 << 14;

/** The manifest's JSON (chunk tables as base64): its byte length, and its bytes piece by piece. */
function manifestJson(m: Manifest): { readonly length: number; pieces(): Generator<Buffer> } {
  const { entries, ...rest } = m;
  const outer = JSON.stringify({ ...rest, entries: [] });
  const open = outer.slice(0, -2); // `…,"entries":[`; entries is the last key
  const parts: Array<string | Buffer> = [open];
  entries.forEach((e, i) => {
    const { chunks, ...fields } = e;
    const object = JSON.stringify(fields);
    parts.push(`${i > 0 ? ',' : ''}${object.slice(0, -1)}${object.length > 2 ? ',' : ''}"chunks":"`, chunks, '"}');
  });
  parts.push(']}');
  let length = 0;
  for (const p of parts) length += typeof p === 'string' ? Buffer.byteLength(p, 'utf8') : 4 * Math.ceil(p.length / 3);
  return {
    length,
    /** Each piece is valid only until the next is asked for (the base64 ones share a buffer). */
    *pieces() {
      let made = 0;
      const base64 = Buffer.allocUnsafe(4 * (BASE64_SLICE / 3));
      for (const p of parts) {
        if (typeof p === 'string') {
          const piece = Buffer.from(p, 'utf8');
          made += piece.length;
          yield piece;
        } else {
          for (let from = 0; from < p.length; from += BASE64_SLICE) {
            const n = base64.write(p.subarray(from, from + BASE64_SLICE).toString('base64'), 'latin1');
            made += n;
            yield base64.subarray(0, n);
          }
        }
      }
      if (made !== length) throw new Error(`internal error: manifest JSON is ${made} bytes, expected ${length}`);
    },
  };
}

export function decodeManifest(backupId: string, bytes: Buffer, metaKey: Buffer | undefined): Manifest {
  const what = `manifest of backup ${backupId}`;
  const r = new ByteReader(bytes, what);
  const { flags } = readHeader(r, MANIFEST_MAGIC, MANIFEST_VERSION, 'manifest');
  if (flags & 1 && !metaKey) throw new AgentvaultError('CORRUPT', `${what} is encrypted but the repository is not`);
  const json = openSealedZstd(r.bytes(r.remaining), flags & 1 ? metaKey : undefined, aad(backupId), what, 'is corrupt (fails authentication)', 'is corrupt (cannot decode)');
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.toString('utf8'));
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
    const chunks = decodeBase64(e.chunks as string);
    if (chunks.length % CHUNK_REF_LENGTH !== 0) bad(`entry ${String(e.name)} has a malformed chunk list`);
    return { ...e, chunks } as unknown as ManifestEntry;
  });
  return { ...(m as unknown as Manifest), entries };
}

/** Base64 characters decoded per call (a multiple of 4). */
const BASE64_DECODE_SLICE = 64 << 10;

/**
 * A chunk table's base64, decoded slice by slice into one buffer from outside malloc: decoded
 * whole, a 4 GiB backup's table went through a 14 MiB temporary (large-buffer.ts says what that costs).
 */
function decodeBase64(text: string): Buffer {
  const out = largeBuffer(Math.floor((text.length * 3) / 4));
  let at = 0;
  for (let from = 0; from < text.length; from += BASE64_DECODE_SLICE) at += out.write(text.slice(from, from + BASE64_DECODE_SLICE), at, 'base64');
  return out.subarray(0, at);
}
