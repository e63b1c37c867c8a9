// The in-memory repository index: chunk id → where its stored bytes are.
//
// Every chunk is one fixed-size record in one growing buffer, found through an open-addressing
// hash table of record numbers: ~80 bytes per chunk. Objects per chunk (a Map entry, a location
// object, a bigint, an id Buffer) cost ~570 bytes each, which made a restore's memory grow with
// the repository (160 MB of index for a 4 GiB backup). Locations and pack entries are built on
// demand; callers see the same values as before.
import { codecByte, codecFromByte } from '../codecs/index.js';
import { largeBuffer, largeInt32Array } from '../large-buffer.js';
import type { CodecName } from '../types.js';
import type { IndexedPack } from './index-format.js';
import { PACK_ENTRY_LENGTH, type PackEntry, type PackEntryTable } from './pack-format.js';

export interface ChunkLocation {
  readonly packId: string;
  readonly offset: number;
  readonly storedLength: number;
  readonly plainLength: number;
  readonly codec: CodecName;
  readonly checksum: bigint;
  /** The wrapped data key of this chunk (80 bytes), or undefined when unencrypted. */
  readonly wrappedKey: Buffer | undefined;
}

// Record layout: id (32) ‖ u32 pack number ‖ u32 offset ‖ u32 stored length ‖ u32 plain length ‖
// u32 key index (NO_KEY: none) ‖ u8 codec byte ‖ 3 bytes unused ‖ u64 checksum.
const RECORD = 64;
const PACK = 32;
const OFFSET = 36;
const STORED = 40;
const PLAIN = 44;
const KEY = 48;
const CODEC = 52;
const CHECKSUM = 56;
const NO_KEY = 0xffff_ffff;

interface PackInfo {
  readonly packId: string;
  readonly size: number;
  readonly keys: readonly Buffer[];
  /** Its entries are records first … first + count - 1. */
  readonly first: number;
  readonly count: number;
}

/**
 * A few bytes copied in a loop: for the 8-32 bytes of an index entry's fields this is ~20x cheaper
 * than Buffer#copy, whose fixed cost per call was most of loading an index (95 of ~130 ms per 73,000 chunks).
 */
function copyBytes(from: Uint8Array, fromAt: number, to: Uint8Array, toAt: number, length: number): void {
  for (let i = 0; i < length; i++) to[toAt + i] = from[fromAt + i]!;
}

export class ChunkIndex {
  #records: Buffer = Buffer.alloc(0);
  #recordCount = 0;
  /** Slots hold record number + 1 (0: empty) of each id's first copy; the size is a power of two. */
  #slots: Int32Array = new Int32Array(1024);
  #chunkCount = 0;
  readonly #packs: PackInfo[] = [];
  readonly #packNumbers = new Map<string, number>();
  // Further copies of a chunk (a full backup stores its own; concurrent writers may race): first
  // copy's record number → the others'.
  readonly #alternates = new Map<number, number[]>();

  get chunkCount(): number {
    return this.#chunkCount;
  }

  get packCount(): number {
    return this.#packs.length;
  }

  has(id: Buffer): boolean {
    return this.#find(id) >= 0;
  }

  get(id: Buffer): ChunkLocation | undefined {
    const r = this.#find(id);
    return r < 0 ? undefined : this.#location(r);
  }

  /** Every stored copy of a chunk, the first-indexed first. */
  locations(id: Buffer): ChunkLocation[] {
    const r = this.#find(id);
    if (r < 0) return [];
    return [r, ...(this.#alternates.get(r) ?? [])].map((n) => this.#location(n));
  }

  hasPack(packId: string): boolean {
    return this.#packNumbers.has(packId);
  }

  pack(packId: string): IndexedPack | undefined {
    const p = this.#packNumbers.get(packId);
    return p === undefined ? undefined : this.#indexedPack(this.#packs[p]!);
  }

  *packs(): IterableIterator<IndexedPack> {
    for (const info of this.#packs) yield this.#indexedPack(info);
  }

  addPack(pack: IndexedPack): void {
    const number = this.#newPack(pack.packId, pack.size, pack.keys, pack.entries.length);
    if (number < 0) return;
    const hasKeys = pack.keys.length > 0;
    for (const entry of pack.entries) {
      const at = this.#recordCount * RECORD;
      const b = this.#records;
      entry.id.copy(b, at, 0, 32);
      b.writeUInt32LE(entry.offset, at + OFFSET);
      b.writeUInt32LE(entry.storedLength, at + STORED);
      b.writeUInt32LE(entry.plainLength, at + PLAIN);
      b[at + CODEC] = codecByte(entry.codec);
      b.writeBigUInt64LE(entry.checksum, at + CHECKSUM);
      this.#addRecord(number, hasKeys ? entry.keyIndex : NO_KEY);
    }
  }

  /** As addPack, from the entries as stored (loading an index: no object per chunk). */
  addPackTable(packId: string, size: number, keys: readonly Buffer[], table: PackEntryTable): void {
    const number = this.#newPack(packId, size, keys, table.count);
    if (number < 0) return;
    const hasKeys = keys.length > 0;
    const from = table.bytes;
    for (let i = 0; i < table.count; i++) {
      const e = i * PACK_ENTRY_LENGTH;
      const at = this.#recordCount * RECORD;
      const b = this.#records;
      // Stored: id ‖ offset ‖ stored ‖ plain ‖ codec ‖ key index ‖ checksum (see PackEntryTable).
      copyBytes(from, e, b, at, 32);
      copyBytes(from, e + 32, b, at + OFFSET, 12);
      b[at + CODEC] = from[e + 44]!;
      copyBytes(from, e + 46, b, at + CHECKSUM, 8);
      this.#addRecord(number, hasKeys ? from[e + 45]! : NO_KEY);
    }
  }

  /** Makes room for this many more records at once (a hint: growing as packs arrive copies the records each time). */
  reserve(records: number): void {
    this.#reserve(records);
  }

  /** Registers a pack and makes room for its records; -1 when it is indexed already. */
  #newPack(packId: string, size: number, packKeys: readonly Buffer[], count: number): number {
    if (this.#packNumbers.has(packId)) return -1;
    const number = this.#packs.length;
    // Copies: a key is often a view of its whole decoded index file, which it would keep alive.
    const keys = packKeys.map((k) => Buffer.from(k));
    this.#packs.push({ packId, size, keys, first: this.#recordCount, count });
    this.#packNumbers.set(packId, number);
    this.#reserve(count);
    return number;
  }

  /** Completes the record being written (id, offsets, codec, checksum in place) and indexes it. */
  #addRecord(pack: number, key: number): void {
    const r = this.#recordCount++;
    const at = r * RECORD;
    this.#records.writeUInt32LE(pack, at + PACK);
    this.#records.writeUInt32LE(key, at + KEY);
    const first = this.#find(this.#records, at);
    if (first < 0) this.#insert(r);
    else {
      const more = this.#alternates.get(first);
      if (more) more.push(r);
      else this.#alternates.set(first, [r]);
    }
  }

  /** Record number of the first copy of the id at `from` in `id` (32 bytes), or -1. */
  #find(id: Buffer, from = 0): number {
    const mask = this.#slots.length - 1;
    for (let s = id.readUInt32LE(from) & mask; ; s = (s + 1) & mask) {
      const held = this.#slots[s]!;
      if (held === 0) return -1;
      const at = (held - 1) * RECORD;
      if (this.#records.compare(id, from, from + 32, at, at + 32) === 0) return held - 1;
    }
  }

  #insert(r: number): void {
    if ((this.#chunkCount + 1) * 2 > this.#slots.length) this.#rehash(this.#slots.length * 2);
    this.#place(r);
    this.#chunkCount++;
  }

  #place(r: number): void {
    const mask = this.#slots.length - 1;
    let s = this.#records.readUInt32LE(r * RECORD) & mask;
    while (this.#slots[s] !== 0) s = (s + 1) & mask;
    this.#slots[s] = r + 1;
  }

  #rehash(size: number): void {
    const old = this.#slots;
    this.#slots = largeInt32Array(size);
    for (const held of old) if (held !== 0) this.#place(held - 1);
  }

  #reserve(more: number): void {
    // The slots too, sized once for them all: doubling as records arrive rehashed every id ~8 times
    // for a GiB's 73,000, each time into fresh memory.
    let slots = this.#slots.length;
    while ((this.#chunkCount + more) * 2 > slots) slots *= 2;
    if (slots > this.#slots.length) this.#rehash(slots);
    const needed = (this.#recordCount + more) * RECORD;
    if (needed <= this.#records.length) return;
    // Each growth frees the old table: large ones from outside malloc (large-buffer.ts).
    const grown = largeBuffer(Math.max(needed, Math.ceil(this.#records.length * 1.5), 64 * RECORD));
    this.#records.copy(grown, 0, 0, this.#recordCount * RECORD);
    this.#records = grown;
  }

  #location(r: number): ChunkLocation {
    const b = this.#records;
    const at = r * RECORD;
    const pack = this.#packs[b.readUInt32LE(at + PACK)]!;
    const key = b.readUInt32LE(at + KEY);
    return {
      packId: pack.packId,
      offset: b.readUInt32LE(at + OFFSET),
      storedLength: b.readUInt32LE(at + STORED),
      plainLength: b.readUInt32LE(at + PLAIN),
      codec: codecFromByte(b[at + CODEC]!),
      checksum: b.readBigUInt64LE(at + CHECKSUM),
      wrappedKey: key === NO_KEY ? undefined : pack.keys[key],
    };
  }

  #indexedPack(info: PackInfo): IndexedPack {
    const entries: PackEntry[] = [];
    const b = this.#records;
    for (let r = info.first; r < info.first + info.count; r++) {
      const at = r * RECORD;
      const key = b.readUInt32LE(at + KEY);
      entries.push({
        id: Buffer.from(b.subarray(at, at + 32)),
        offset: b.readUInt32LE(at + OFFSET),
        storedLength: b.readUInt32LE(at + STORED),
        plainLength: b.readUInt32LE(at + PLAIN),
        codec: codecFromByte(b[at + CODEC]!),
        keyIndex: key === NO_KEY ? 0 : key,
        checksum: b.readBigUInt64LE(at + CHECKSUM),
      });
    }
    return { packId: info.packId, size: info.size, keys: info.keys, entries };
  }
}
