// The in-memory repository index: chunk id → where its stored bytes are.
import type { CodecName } from '../types.js';
import type { IndexedPack } from './index-format.js';
import type { PackEntry } from './pack-format.js';

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

export class ChunkIndex {
  // latin1 strings of the raw 32-byte ids: half the memory of hex keys.
  readonly #chunks = new Map<string, ChunkLocation>();
  readonly #packs = new Map<string, IndexedPack>();
  // Further copies of a chunk (a full backup stores its own; concurrent writers may race).
  readonly #alternates = new Map<string, ChunkLocation[]>();

  get chunkCount(): number {
    return this.#chunks.size;
  }

  get packCount(): number {
    return this.#packs.size;
  }

  has(id: Buffer): boolean {
    return this.#chunks.has(id.toString('latin1'));
  }

  get(id: Buffer): ChunkLocation | undefined {
    return this.#chunks.get(id.toString('latin1'));
  }

  /** Every stored copy of a chunk, the first-indexed first. */
  locations(id: Buffer): ChunkLocation[] {
    const key = id.toString('latin1');
    const first = this.#chunks.get(key);
    if (!first) return [];
    return [first, ...(this.#alternates.get(key) ?? [])];
  }

  hasPack(packId: string): boolean {
    return this.#packs.has(packId);
  }

  pack(packId: string): IndexedPack | undefined {
    return this.#packs.get(packId);
  }

  packs(): IterableIterator<IndexedPack> {
    return this.#packs.values();
  }

  addPack(pack: IndexedPack): void {
    this.#packs.set(pack.packId, pack);
    for (const entry of pack.entries) {
      const key = entry.id.toString('latin1');
      if (!this.#chunks.has(key)) {
        this.#chunks.set(key, locate(pack, entry));
      } else {
        const more = this.#alternates.get(key);
        if (more) more.push(locate(pack, entry));
        else this.#alternates.set(key, [locate(pack, entry)]);
      }
    }
  }
}

function locate(pack: IndexedPack, e: PackEntry): ChunkLocation {
  return {
    packId: pack.packId,
    offset: e.offset,
    storedLength: e.storedLength,
    plainLength: e.plainLength,
    codec: e.codec,
    checksum: e.checksum,
    wrappedKey: pack.keys.length > 0 ? pack.keys[e.keyIndex] : undefined,
  };
}
