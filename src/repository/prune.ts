// Garbage collection after backups are deleted: packs nobody references are removed, packs that
// are mostly dead are rewritten with their live chunks (copied sealed: no read key needed), and
// the index is replaced by one file. Order keeps the repository valid at every step: new packs,
// then the new index (naming the old ones superseded), then deletions.
// Runs under the exclusive lock; the caller takes it.
import { xxh64 } from '../crypto/checksum.js';
import { AgentvaultError } from '../errors.js';
import type { IndexedPack } from './index-format.js';
import { chunkRefs } from './manifest.js';
import { assemblePack, type PackItem } from './pack-format.js';
import type { Repository } from './repository.js';

export interface GcOptions {
  readonly dryRun?: boolean;
  /** Rewrite a pack when at least this share of its bytes is dead (default 0.25). */
  readonly repackThreshold?: number;
}

export interface GcReport {
  readonly packsDeleted: number;
  readonly packsRewritten: number;
  readonly packsWritten: number;
  readonly bytesFreed: number;
  readonly indexFilesReplaced: number;
}

export async function collectGarbage(repository: Repository, options: GcOptions = {}): Promise<GcReport> {
  const threshold = options.repackThreshold ?? 0.25;
  const index = await repository.loadIndex();
  if (!options.dryRun) await repository.adoptUnindexedPacks(index);
  const referenced = new Set<string>();
  for (const m of await repository.listBackups()) for (const e of m.entries) for (const ref of chunkRefs(e)) referenced.add(ref.id.toString('latin1'));

  const keep: IndexedPack[] = [];
  const drop: IndexedPack[] = [];
  const rewrite: IndexedPack[] = [];
  for (const pack of index.packs()) {
    const live = pack.entries.filter((e) => referenced.has(e.id.toString('latin1')));
    const liveBytes = live.reduce((n, e) => n + e.storedLength, 0);
    const blobBytes = pack.entries.reduce((n, e) => n + e.storedLength, 0);
    if (live.length === 0) drop.push(pack);
    else if (blobBytes > 0 && (blobBytes - liveBytes) / blobBytes >= threshold) rewrite.push(pack);
    else keep.push(pack);
  }

  let bytesFreed = drop.reduce((n, p) => n + p.size, 0);
  const written: IndexedPack[] = [];
  if (!options.dryRun && (drop.length > 0 || rewrite.length > 0)) {
    let items: PackItem[] = [];
    let itemBytes = 0;
    const flush = async () => {
      if (items.length === 0) return;
      const pack = assemblePack(items, repository.metaKey);
      await repository.writePack(pack);
      written.push({ packId: pack.packId, size: pack.size, keys: pack.keys, entries: pack.entries });
      items = [];
      itemBytes = 0;
    };
    for (const pack of rewrite) {
      const file = await repository.store.openFile('pack', pack.packId);
      try {
        for (const e of pack.entries) {
          if (!referenced.has(e.id.toString('latin1'))) continue;
          const stored = await file.read(e.offset, e.storedLength);
          if (xxh64(stored) !== e.checksum) {
            throw new AgentvaultError('CORRUPT', `pack ${pack.packId} has a corrupt chunk at offset ${e.offset}; prune stopped before changing anything (run backup verify --all --read-data)`);
          }
          items.push({ id: e.id, stored, plainLength: e.plainLength, codec: e.codec, checksum: e.checksum, wrappedKey: pack.keys.length ? pack.keys[e.keyIndex] : undefined });
          itemBytes += e.storedLength;
          if (itemBytes >= repository.config.packSize) await flush();
        }
      } finally {
        await file.close();
      }
    }
    await flush();
    bytesFreed += rewrite.reduce((n, p) => n + p.size, 0) - written.reduce((n, p) => n + p.size, 0);
  } else if (options.dryRun) {
    for (const pack of rewrite) {
      const dead = pack.entries.filter((e) => !referenced.has(e.id.toString('latin1'))).reduce((n, e) => n + e.storedLength, 0);
      bytesFreed += dead;
    }
  }

  let indexFilesReplaced = 0;
  if (!options.dryRun && (drop.length > 0 || rewrite.length > 0)) {
    const old = (await repository.readLiveIndexFiles()).map((f) => f.id);
    await repository.writeIndex([...keep, ...written], old);
    for (const id of old) await repository.store.remove('index', id);
    indexFilesReplaced = old.length;
    for (const pack of [...drop, ...rewrite]) await repository.store.remove('pack', pack.packId);
  }
  if (!options.dryRun) await repository.store.removeStaleTemporaryFiles();
  return { packsDeleted: drop.length, packsRewritten: rewrite.length, packsWritten: written.length, bytesFreed, indexFilesReplaced };
}
