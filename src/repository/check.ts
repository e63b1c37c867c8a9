// Checks that backups are restorable, restic `check` style: structure (every chunk indexed, every
// pack present at its indexed size, trailers agree with the index) and, with readData, every
// stored byte (checksum; with read access also decryption, decompression and the chunk id).
// Problems are collected, not thrown, so one run reports all of them.
import { CodecSet } from '../codecs/index.js';
import { AuthenticationError, open } from '../crypto/aead.js';
import { createChunkIdHasher } from '../crypto/chunk-id.js';
import { xxh64 } from '../crypto/checksum.js';
import { AgentvaultError } from '../errors.js';
import { chunkAad } from '../stages/encrypt.js';
import type { ChunkLocation } from './chunk-index.js';
import { chunkRefs, type Manifest } from './manifest.js';
import type { Repository } from './repository.js';

export interface CheckOptions {
  readonly readData?: boolean;
  readonly onProgress?: (checkedBytes: number, totalBytes: number) => void;
}

export interface CheckReport {
  readonly backups: number;
  readonly chunks: number;
  readonly packs: number;
  /** Stored bytes read and verified (readData only). */
  readonly bytesRead: number;
  readonly problems: string[];
  /** False when data was checked by checksum only (a write-only key cannot decrypt). */
  readonly decrypted: boolean;
}

export async function checkRepository(repository: Repository, manifests: readonly Manifest[], options: CheckOptions = {}): Promise<CheckReport> {
  const problems: string[] = [];
  const index = await repository.loadIndex();
  // id → where it is used (first use, for messages)
  const wanted = new Map<string, { backup: string; entry: string; offset: number; size: number }>();
  for (const m of manifests) {
    for (const entry of m.entries) {
      let offset = 0;
      for (const ref of chunkRefs(entry)) {
        const key = ref.id.toString('latin1');
        if (!index.has(ref.id)) problems.push(`backup ${m.id}: chunk at offset ${offset} of entry ${JSON.stringify(entry.name)} is missing from the index`);
        else if (!wanted.has(key)) wanted.set(key, { backup: m.id, entry: entry.name, offset, size: ref.size });
        offset += ref.size;
      }
      if (offset !== entry.size) problems.push(`backup ${m.id}: entry ${JSON.stringify(entry.name)} has ${offset} bytes of chunks for a size of ${entry.size}`);
    }
  }

  // Group the chunks we need by pack.
  const byPack = new Map<string, Array<{ key: string; location: ChunkLocation }>>();
  for (const key of wanted.keys()) {
    const location = index.get(Buffer.from(key, 'latin1'))!;
    const list = byPack.get(location.packId) ?? [];
    list.push({ key, location });
    byPack.set(location.packId, list);
  }

  const totalBytes = [...byPack.values()].reduce((n, l) => n + l.reduce((m, c) => m + c.location.storedLength, 0), 0);
  const decrypt = repository.canReadData;
  const codecs = new CodecSet();
  const hasher = createChunkIdHasher(repository.config.chunkId, repository.keys.write.idKey);
  let bytesRead = 0;

  for (const [packId, chunks] of byPack) {
    const info = await repository.store.stat('pack', packId);
    const indexed = index.pack(packId)!;
    const users = describeUsers(chunks.map((c) => wanted.get(c.key)!));
    if (!info) {
      problems.push(`pack ${packId} is missing (needed by ${users})`);
      continue;
    }
    if (info.size !== indexed.size) {
      problems.push(`pack ${packId} is ${info.size} bytes but the index says ${indexed.size} (needed by ${users})`);
      continue;
    }
    try {
      const trailer = await repository.readPackTrailer(packId, info.size);
      if (trailer.entries.length !== indexed.entries.length) problems.push(`pack ${packId}: its trailer lists ${trailer.entries.length} chunks, the index ${indexed.entries.length}`);
    } catch (err) {
      problems.push(`pack ${packId}: ${(err as Error).message}`);
    }
    if (!options.readData) continue;

    const file = await repository.store.openFile('pack', packId);
    try {
      chunks.sort((a, b) => a.location.offset - b.location.offset);
      for (const { key, location } of chunks) {
        const use = wanted.get(key)!;
        const where = `backup ${use.backup}: chunk at offset ${use.offset} of entry ${JSON.stringify(use.entry)} (pack ${packId})`;
        try {
          const stored = await file.read(location.offset, location.storedLength);
          bytesRead += stored.length;
          options.onProgress?.(bytesRead, totalBytes);
          if (xxh64(stored) !== location.checksum) throw new AgentvaultError('CORRUPT', 'checksum mismatch');
          if (!decrypt) continue;
          const id = Buffer.from(key, 'latin1');
          const compressed = location.wrappedKey ? open(repository.dataKey(location.wrappedKey), stored, chunkAad(id, location.codec)) : stored;
          const plain = codecs.get(location.codec).decompress(compressed, location.plainLength);
          if (plain.length !== location.plainLength || !hasher.id(plain).equals(id)) throw new AgentvaultError('CORRUPT', 'content does not match its id');
        } catch (err) {
          const why = err instanceof AuthenticationError ? 'fails authentication' : (err as Error).message;
          problems.push(`${where} is corrupt: ${why}`);
        }
      }
    } finally {
      await file.close();
    }
  }

  return { backups: manifests.length, chunks: wanted.size, packs: byPack.size, bytesRead, problems, decrypted: decrypt };
}

function describeUsers(uses: Array<{ backup: string }>): string {
  const backups = [...new Set(uses.map((u) => u.backup))];
  return `backup${backups.length > 1 ? 's' : ''} ${backups.slice(0, 3).join(', ')}${backups.length > 3 ? ', …' : ''}`;
}
