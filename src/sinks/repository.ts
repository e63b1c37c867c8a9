// Stores a backup in a local repository: packs as they arrive, then the index file that lists
// them, then the manifest — each durable before the next (docs/FORMAT.md §1). If anything fails
// the manifest is never written, so the backup does not exist; packs and index files that did
// land are reused by the next run.
import { Writable } from 'node:stream';
import type { IndexedPack } from '../repository/index-format.js';
import { ChunkTableBuilder, manifestEntry, type BackupStats, type Manifest, type ManifestEntry } from '../repository/manifest.js';
import type { Repository } from '../repository/repository.js';
import type { EntryInfo, PackedRecord } from '../types.js';
import { ChunkOrderCheck } from './order-check.js';

/** Everything a manifest holds except what the sink counts. */
export type ManifestDraft = Omit<Manifest, 'entries' | 'stats'>;

/** Write an index file every this many packs, so a crash late in a huge backup loses little. */
const PACKS_PER_INDEX_FILE = 32;

export class RepositorySink extends Writable {
  #manifest: Manifest | undefined;
  #unindexed: IndexedPack[] = [];
  readonly #entries: ManifestEntry[] = [];
  #current: { info: EntryInfo; table: ChunkTableBuilder } | undefined;
  #logicalSize = 0;
  #storedSize = 0;
  #chunks = 0;
  #newChunks = 0;
  readonly #order = new ChunkOrderCheck();

  constructor(
    readonly repository: Repository,
    readonly draft: ManifestDraft,
  ) {
    super({ objectMode: true, highWaterMark: 16 });
  }

  /** The manifest, once the sink has finished. */
  get manifest(): Manifest | undefined {
    return this.#manifest;
  }

  override _write(record: PackedRecord, _e: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.#handle(record).then(() => callback(), callback);
  }

  async #handle(record: PackedRecord): Promise<void> {
    if (record.type !== 'pack') this.#order.check(record);
    switch (record.type) {
      case 'pack': {
        await this.repository.writePack(record);
        this.#storedSize += record.size;
        this.#unindexed.push({ packId: record.packId, size: record.size, keys: record.keys, entries: record.entries });
        if (this.#unindexed.length >= PACKS_PER_INDEX_FILE) await this.#writeIndex();
        break;
      }
      case 'entry':
        this.#current = { info: record.entry, table: new ChunkTableBuilder() };
        break;
      case 'chunk':
        this.#current!.table.add(record.id!, record.size);
        this.#logicalSize += record.size;
        this.#chunks++;
        if (!record.known) this.#newChunks++;
        break;
      case 'entry-end': {
        const { info, table } = this.#current!;
        this.#entries.push(manifestEntry(info, record.size, table.finish()));
        this.#current = undefined;
        break;
      }
    }
  }

  async #writeIndex(): Promise<void> {
    if (this.#unindexed.length === 0) return;
    await this.repository.writeIndex(this.#unindexed, []);
    this.#unindexed = [];
  }

  override _final(callback: (err?: Error | null) => void): void {
    (async () => {
      await this.#writeIndex();
      const stats: BackupStats = { logicalSize: this.#logicalSize, storedSize: this.#storedSize, chunks: this.#chunks, newChunks: this.#newChunks };
      const manifest: Manifest = { ...this.draft, entries: this.#entries, stats };
      await this.repository.writeManifest(manifest);
      this.#manifest = manifest;
    })().then(() => callback(), callback);
  }
}
