// Pack files and the per-pack records shared by pack trailers and index files
// (docs/FORMAT.md §4, §5).
import { codecByte, codecFromByte } from '../codecs/index.js';
import { open, seal, AuthenticationError } from '../crypto/aead.js';
import { xxh64 } from '../crypto/checksum.js';
import { AgentvaultError } from '../errors.js';
import type { ChunkRecord, PackedChunk, PackRecord } from '../types.js';
import { randomHexId } from './ids.js';
import { KeyNumbers } from './key-numbers.js';
import { ByteReader, ByteWriter } from './binary.js';

export const PACK_VERSION = 1;
export const PACK_MAGIC = 'AVPK';
export const PACK_TRAILER_MAGIC = 'AVPT';
export const PACK_HEADER_LENGTH = 8;
/** u32 body length ‖ u64 xxh64(body) ‖ "AVPT" */
export const PACK_TAIL_LENGTH = 16;
export const WRAPPED_KEY_LENGTH = 80;
const ENTRY_LENGTH = 54;

export type PackEntry = PackedChunk;

export interface PackContents {
  /** Data keys wrapped to the repository public key (80 bytes each). */
  readonly keys: readonly Buffer[];
  readonly entries: readonly PackEntry[];
}

export function packHeader(encrypted: boolean): Buffer {
  return new ByteWriter(PACK_HEADER_LENGTH).ascii(PACK_MAGIC).u16(PACK_VERSION).u16(encrypted ? 1 : 0).finish();
}

export function writePackContents(w: ByteWriter, contents: PackContents): void {
  writeKeys(w, contents.keys);
  w.u32(contents.entries.length);
  for (const e of contents.entries) writeEntry(w, e);
}

/** As writePackContents, for entries already laid out as a table. */
export function writePackContentsTable(w: ByteWriter, keys: readonly Buffer[], table: PackEntryTable): void {
  writeKeys(w, keys);
  w.u32(table.count);
  w.bytes(table.bytes);
}

/** Bytes writePackContents / writePackContentsTable write for a pack of `keys` keys and `count` entries. */
export function packContentsLength(keys: number, count: number): number {
  return 2 + keys * WRAPPED_KEY_LENGTH + 4 + count * ENTRY_LENGTH;
}

function writeKeys(w: ByteWriter, keys: readonly Buffer[]): void {
  w.u16(keys.length);
  for (const key of keys) {
    if (key.length !== WRAPPED_KEY_LENGTH) throw new Error('wrapped data key must be 80 bytes');
    w.bytes(key);
  }
}

function writeEntry(w: ByteWriter, e: PackedChunk): void {
  w.bytes(e.id).u32(e.offset).u32(e.storedLength).u32(e.plainLength).u8(codecByte(e.codec)).u8(e.keyIndex).u64(e.checksum);
}

/**
 * A pack's entries as they are stored (ENTRY_LENGTH bytes each, the layout of docs/FORMAT.md §4),
 * checked but not decoded: loading a repository's index copies them straight into the chunk
 * index, without an object, a Buffer and a bigint per chunk.
 */
export interface PackEntryTable {
  readonly count: number;
  /** count × ENTRY_LENGTH bytes: id (32) ‖ u32 offset ‖ u32 stored length ‖ u32 plain length ‖ u8 codec ‖ u8 key index ‖ u64 checksum. */
  readonly bytes: Buffer;
}

export const PACK_ENTRY_LENGTH = ENTRY_LENGTH;

export function readPackContentsTable(r: ByteReader): { keys: Buffer[]; table: PackEntryTable } {
  const keyCount = r.u16();
  const keys: Buffer[] = [];
  for (let i = 0; i < keyCount; i++) keys.push(Buffer.from(r.bytes(WRAPPED_KEY_LENGTH)));
  const count = r.u32();
  if (count * ENTRY_LENGTH > r.remaining) throw new AgentvaultError('CORRUPT', `${r.what} is corrupt: entry count ${count} exceeds its size`);
  const bytes = r.bytes(count * ENTRY_LENGTH);
  for (let at = 0; at < bytes.length; at += ENTRY_LENGTH) {
    const codec = bytes[at + 44]!;
    try {
      codecFromByte(codec);
    } catch {
      throw new AgentvaultError('CORRUPT', `${r.what} is corrupt: unknown compression codec ${codec}`);
    }
    if (keyCount > 0 && bytes[at + 45]! >= keyCount) throw new AgentvaultError('CORRUPT', `${r.what} is corrupt: key index out of range`);
  }
  return { keys, table: { count, bytes } };
}

export function readPackContents(r: ByteReader): PackContents {
  const { keys, table } = readPackContentsTable(r);
  const entries: PackEntry[] = new Array(table.count);
  const b = table.bytes;
  for (let i = 0; i < table.count; i++) {
    const at = i * ENTRY_LENGTH;
    entries[i] = {
      id: Buffer.from(b.subarray(at, at + 32)),
      offset: b.readUInt32LE(at + 32),
      storedLength: b.readUInt32LE(at + 36),
      plainLength: b.readUInt32LE(at + 40),
      codec: codecFromByte(b[at + 44]!),
      keyIndex: b[at + 45]!,
      checksum: b.readBigUInt64LE(at + 46),
    };
  }
  return { keys, entries };
}

function trailerAad(packId: string): Buffer {
  return Buffer.concat([Buffer.from('AVPT1'), Buffer.from(packId, 'hex')]);
}

/** The trailer appended after the blobs: contents (sealed with metaKey when given), then the tail. */
function sealTrailer(packId: string, plain: Buffer, metaKey: Buffer | undefined): Buffer {
  const body = metaKey ? seal(metaKey, plain, trailerAad(packId)) : plain;
  const tail = new ByteWriter(PACK_TAIL_LENGTH).u32(body.length).u64(xxh64(body)).ascii(PACK_TRAILER_MAGIC).finish();
  return Buffer.concat([body, tail]);
}

/** Parses the tail of a pack: how long the trailer body is. */
export function parsePackTail(tail: Buffer, packId: string, packSize: number): { bodyLength: number; checksum: bigint } {
  const r = new ByteReader(tail, `pack ${packId}`);
  const bodyLength = r.u32();
  const checksum = r.u64();
  if (r.bytes(4).toString('latin1') !== PACK_TRAILER_MAGIC || bodyLength + PACK_TAIL_LENGTH + PACK_HEADER_LENGTH > packSize) {
    throw new AgentvaultError('CORRUPT', `pack ${packId} is corrupt or truncated (no valid trailer)`);
  }
  return { bodyLength, checksum };
}

export function parsePackTrailerBody(body: Buffer, checksum: bigint, packId: string, metaKey: Buffer | undefined): PackContents {
  if (xxh64(body) !== checksum) throw new AgentvaultError('CORRUPT', `pack ${packId} is corrupt: trailer checksum mismatch`);
  let plain = body;
  if (metaKey) {
    try {
      plain = open(metaKey, body, trailerAad(packId));
    } catch (err) {
      if (err instanceof AuthenticationError) throw new AgentvaultError('CORRUPT', `pack ${packId} is corrupt: trailer fails authentication`);
      throw err;
    }
  }
  const r = new ByteReader(plain, `pack ${packId}`);
  const contents = readPackContents(r);
  r.expectEnd();
  return contents;
}

export function checkPackHeader(header: Buffer, packId: string): void {
  const r = new ByteReader(header, `pack ${packId}`);
  if (r.bytes(4).toString('latin1') !== PACK_MAGIC) throw new AgentvaultError('CORRUPT', `pack ${packId} is corrupt (bad magic)`);
  const version = r.u16();
  if (version < 1) throw new AgentvaultError('CORRUPT', `pack ${packId} has invalid format version ${version}`);
  if (version > PACK_VERSION) {
    throw new AgentvaultError('NEWER_FORMAT', `pack ${packId} was written by a newer agentvault (pack format ${version}; this version reads up to ${PACK_VERSION})`);
  }
}

/** One stored chunk on its way into a pack. */
export interface PackItem {
  readonly id: Buffer;
  readonly stored: Buffer;
  readonly plainLength: number;
  readonly codec: PackedChunk['codec'];
  readonly checksum: bigint;
  /** Its data key wrapped to the repository key; undefined when unencrypted. */
  readonly wrappedKey: Buffer | undefined;
}

/** A new chunk's record as a pack blob (its checksum computed here if the stage that sealed it did not). */
export function packItemOf(record: ChunkRecord, wrappedKey: Buffer | undefined): PackItem {
  const stored = record.data;
  if (!stored) throw new Error(`internal: new chunk ${record.id?.toString('hex')} reached the packer without its bytes`);
  return { id: record.id!, stored, plainLength: record.size, codec: record.codec ?? 'none', checksum: record.checksum ?? xxh64(stored), wrappedKey };
}

/**
 * Where each blob of a pack goes and which data key it uses, placed one after another: the header
 * comes first, the trailer (a key table of the distinct data keys, and every entry) last. Entries
 * are kept as the bytes the trailer and the index store (a PackEntryTable), not as an object per
 * chunk: a backup holds those of up to 32 packs until it writes their index file.
 */
export class PackLayout {
  readonly packId = randomHexId(16);
  readonly keys: Buffer[] = [];
  readonly #keyNumbers = new KeyNumbers();
  readonly #entries = new ByteWriter(ENTRY_LENGTH * 1024);
  #count = 0;
  #size = PACK_HEADER_LENGTH;

  constructor(readonly metaKey: Buffer | undefined) {}

  /** Bytes placed so far, header included. */
  get size(): number {
    return this.#size;
  }

  /** The entries placed so far. */
  get table(): PackEntryTable {
    return { count: this.#count, bytes: this.#entries.finish() };
  }

  header(): Buffer {
    return packHeader(this.metaKey !== undefined);
  }

  /** Places a blob after the previous one. */
  place(item: PackItem): PackedChunk {
    let keyIndex = 0;
    if (item.wrappedKey) {
      keyIndex = this.#keyNumbers.number(item.wrappedKey);
      if (keyIndex === this.keys.length) {
        if (keyIndex > 255) throw new Error('a pack can hold at most 256 data keys');
        this.keys.push(item.wrappedKey);
      }
    }
    const entry: PackedChunk = { id: item.id, offset: this.#size, storedLength: item.stored.byteLength, plainLength: item.plainLength, codec: item.codec, keyIndex, checksum: item.checksum };
    writeEntry(this.#entries, entry);
    this.#count++;
    this.#size += item.stored.byteLength;
    return entry;
  }

  trailer(): Buffer {
    const w = new ByteWriter(packContentsLength(this.keys.length, this.#count));
    writePackContentsTable(w, this.keys, this.table);
    return sealTrailer(this.packId, w.finish(), this.metaKey);
  }
}

/** Lays out a whole pack file in memory: header, blobs, trailer. */
export function assemblePack(items: readonly PackItem[], metaKey: Buffer | undefined): PackRecord {
  const layout = new PackLayout(metaKey);
  const parts: Buffer[] = [layout.header()];
  const entries: PackedChunk[] = [];
  for (const item of items) {
    entries.push(layout.place(item));
    parts.push(item.stored);
  }
  const trailer = layout.trailer();
  parts.push(trailer);
  return { type: 'pack', packId: layout.packId, parts, size: layout.size + trailer.length, keys: layout.keys, entries };
}
