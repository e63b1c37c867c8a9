// Garbage collection (collectGarbage in src/repository/prune.ts) on repositories made by the real
// backup(): dead packs go, mostly-dead packs are rewritten, the index becomes one file, and every
// remaining backup still restores byte for byte.
process.env.AGENTVAULT_SCRYPT_LOG_N ??= '12';

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { LocalBackend } from '../src/backend/local.js';
import { backup } from '../src/backup.js';
import { checkRepository } from '../src/repository/check.js';
import { decodeIndexFile, type IndexedPack } from '../src/repository/index-format.js';
import { chunkRefs, type Manifest } from '../src/repository/manifest.js';
import { collectGarbage, type GcOptions, type GcReport } from '../src/repository/prune.js';
import { Repository, type InitOptions } from '../src/repository/repository.js';
import { restore } from '../src/restore.js';
import { FileSink } from '../src/sinks/files.js';
import { seededBytes, tempDir } from './helpers/tmp.js';
import { bufferSource } from './helpers/pipeline.js';

const source = (data: Buffer, name: string) => bufferSource(data, name, 100 * KiB);

const KiB = 1024;
const PASSWORD = 'x';
const MODES: ReadonlyArray<readonly [string, InitOptions]> = [
  ['encrypted', { encryption: 'aes-256-gcm', password: PASSWORD, packSize: 1 << 20 }],
  ['unencrypted', { encryption: 'none', packSize: 1 << 20 }],
];

// Random (incompressible) data, so stored sizes follow plain sizes and packs fill predictably.
const S = seededBytes(600 * KiB, 2); // shared by every backup
const U = seededBytes(900 * KiB, 1); // only in the backup that gets deleted
const T = seededBytes(300 * KiB, 3);
const V = seededBytes(200 * KiB, 4);

function credentials(options: InitOptions) {
  return options.password !== undefined ? { password: options.password } : {};
}

async function restoreBytes(repository: Repository, id: string, dir: string): Promise<Buffer> {
  const target = path.join(dir, `restored-${id}-${Math.random().toString(36).slice(2)}`);
  await restore({ repository, manifest: await repository.readManifest(id), sink: new FileSink(target) });
  const bytes = fs.readFileSync(target);
  fs.rmSync(target);
  return bytes;
}

/** Every file of the repository (but locks and temp files) with a hash of its contents. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dir, rel))) {
      const r = path.join(rel, name);
      if (r === 'locks' || r === 'tmp') continue;
      const st = fs.statSync(path.join(dir, r));
      if (st.isDirectory()) walk(r);
      else out.set(r, createHash('sha256').update(fs.readFileSync(path.join(dir, r))).digest('hex'));
    }
  };
  walk('');
  return out;
}

function packFiles(dir: string): string[] {
  const root = path.join(dir, 'packs');
  return fs
    .readdirSync(root)
    .flatMap((sub) => fs.readdirSync(path.join(root, sub)))
    .sort();
}

function indexFiles(dir: string): string[] {
  return fs.readdirSync(path.join(dir, 'index')).sort();
}

function chunkIds(...manifests: Manifest[]): Set<string> {
  const ids = new Set<string>();
  for (const m of manifests) for (const e of m.entries) for (const ref of chunkRefs(e)) ids.add(ref.id.toString('hex'));
  return ids;
}

async function gc(repository: Repository, options: GcOptions = {}): Promise<GcReport> {
  // As the CLI runs it: under the exclusive lock.
  const lock = await repository.lock(true);
  try {
    return await collectGarbage(repository, options);
  } finally {
    await lock.release();
  }
}

interface Scenario {
  dir: string;
  repository: Repository;
  b1: Manifest;
  b2: Manifest;
  b3: Manifest;
  /** Packs before GC, by what their chunks are to the backups that remain after deleting b1. */
  deadPacks: IndexedPack[];
  mixedPacks: IndexedPack[];
  livePacks: IndexedPack[];
}

/**
 * Three backups of one source with overlapping data: b1 = S‖U, b2 = S‖T, b3 = S‖T‖V. With 1 MiB
 * packs, b1 writes two packs: the first holds S and the start of U, the second the rest of U.
 * Then b1 is deleted: its second pack is dead, its first mostly dead (~40%).
 */
async function scenario(t: Parameters<typeof tempDir>[0], options: InitOptions): Promise<Scenario> {
  const dir = path.join(tempDir(t), 'repo');
  const repository = await Repository.init(new LocalBackend(dir), options);
  const b1 = (await backup({ repository, source: source(Buffer.concat([S, U]), 'state') })).manifest;
  const b2 = (await backup({ repository, source: source(Buffer.concat([S, T]), 'state') })).manifest;
  const b3 = (await backup({ repository, source: source(Buffer.concat([S, T, V]), 'state') })).manifest;
  assert.equal(b1.type, 'full');
  assert.equal(b2.type, 'incremental');
  assert.equal(b3.type, 'incremental');
  assert.ok(b2.stats.newChunks < b2.stats.chunks, 'b2 reuses chunks of b1');
  assert.ok(b3.stats.newChunks < b3.stats.chunks, 'b3 reuses chunks of b1 and b2');

  const index = await repository.loadIndex();
  const remaining = chunkIds(b2, b3);
  const deadPacks: IndexedPack[] = [];
  const mixedPacks: IndexedPack[] = [];
  const livePacks: IndexedPack[] = [];
  for (const pack of index.packs()) {
    const live = pack.entries.filter((e) => remaining.has(e.id.toString('hex')));
    const liveBytes = live.reduce((n, e) => n + e.storedLength, 0);
    const allBytes = pack.entries.reduce((n, e) => n + e.storedLength, 0);
    if (live.length === 0) deadPacks.push(pack);
    else if (liveBytes < allBytes * 0.75) mixedPacks.push(pack);
    else livePacks.push(pack);
  }
  // The layout this test relies on (else the test proves nothing).
  assert.equal(index.packCount, 4, 'b1 wrote two packs, b2 and b3 one each');
  assert.equal(deadPacks.length, 1, 'one pack only b1 used');
  assert.equal(mixedPacks.length, 1, 'one pack mostly dead');
  assert.equal(livePacks.length, 2);
  assert.equal(indexFiles(dir).length, 3, 'one index file per backup');

  await repository.deleteManifest(b1.id);
  return { dir, repository, b1, b2, b3, deadPacks, mixedPacks, livePacks };
}

for (const [label, options] of MODES) {
  describe(`collectGarbage, ${label}`, () => {
    it('removes packs only the deleted backup used, rewrites mostly-dead ones, keeps the rest restorable', async (t) => {
      const s = await scenario(t, options);
      const indexBefore = indexFiles(s.dir);
      const report = await gc(s.repository);

      assert.equal(report.packsDeleted, 1);
      assert.equal(report.packsRewritten, 1);
      assert.equal(report.packsWritten, 1);
      assert.equal(report.indexFilesReplaced, 3);
      assert.ok(report.bytesFreed >= s.deadPacks[0]!.size, 'frees at least the dead pack');

      const packs = packFiles(s.dir);
      for (const p of s.deadPacks) assert.ok(!packs.includes(p.packId), 'the dead pack is removed');
      for (const p of s.mixedPacks) assert.ok(!packs.includes(p.packId), 'the mostly-dead pack is replaced');
      for (const p of s.livePacks) assert.ok(packs.includes(p.packId), 'packs of remaining backups stay');
      assert.equal(packs.length, s.livePacks.length + 1);

      // One index file, superseding the three it replaced, listing exactly the packs on disk.
      const after = indexFiles(s.dir);
      assert.equal(after.length, 1);
      const only = decodeIndexFile(after[0]!, fs.readFileSync(path.join(s.dir, 'index', after[0]!)), s.repository.metaKey);
      assert.deepEqual([...only.supersedes].sort(), indexBefore);
      assert.deepEqual(only.packs.map((p) => p.packId).sort(), packs);

      // The rewritten pack holds the live chunks of the mostly-dead one, and nothing of U.
      const newPack = only.packs.find((p) => !s.livePacks.some((l) => l.packId === p.packId))!;
      const remaining = chunkIds(s.b2, s.b3);
      const wantLive = s.mixedPacks[0]!.entries.filter((e) => remaining.has(e.id.toString('hex'))).map((e) => e.id.toString('hex'));
      assert.deepEqual(newPack.entries.map((e) => e.id.toString('hex')).sort(), [...wantLive].sort());
      if (s.repository.encrypted) assert.deepEqual(newPack.keys, s.mixedPacks[0]!.keys, 'sealed chunks keep their data key');

      // A fresh process sees a complete index and restores both remaining backups.
      const reopened = await Repository.open(new LocalBackend(s.dir), credentials(options));
      const index = await reopened.loadIndex();
      for (const id of remaining) assert.ok(index.has(Buffer.from(id, 'hex')));
      for (const id of chunkIds(s.b1)) if (!remaining.has(id)) assert.equal(index.has(Buffer.from(id, 'hex')), false, 'chunks of the deleted backup are gone from the index');
      assert.deepEqual(await reopened.listBackupIds(), [s.b2.id, s.b3.id]);
      const out = tempDir(t);
      assert.ok((await restoreBytes(reopened, s.b2.id, out)).equals(Buffer.concat([S, T])), 'b2 restores byte-identically');
      assert.ok((await restoreBytes(reopened, s.b3.id, out)).equals(Buffer.concat([S, T, V])), 'b3 restores byte-identically');
      const check = await checkRepository(reopened, await reopened.listBackups(), { readData: true });
      assert.deepEqual(check.problems, []);

      // A second run finds nothing to do.
      const again = await gc(reopened);
      assert.deepEqual(again, { packsDeleted: 0, packsRewritten: 0, packsWritten: 0, bytesFreed: 0, indexFilesReplaced: 0 });
      assert.deepEqual(indexFiles(s.dir), after);
    });

    it('dryRun reports the same work and changes nothing', async (t) => {
      const s = await scenario(t, options);
      const before = snapshot(s.dir);
      const dry = await gc(s.repository, { dryRun: true });
      assert.equal(dry.packsDeleted, 1);
      assert.equal(dry.packsRewritten, 1);
      assert.ok(dry.bytesFreed >= s.deadPacks[0]!.size);
      assert.deepEqual(snapshot(s.dir), before, 'no file was added, removed or changed');

      const real = await gc(s.repository);
      assert.equal(real.packsDeleted, dry.packsDeleted);
      assert.equal(real.packsRewritten, dry.packsRewritten);
    });

    it('a mostly-dead pack is left alone when the repack threshold is not reached', async (t) => {
      const s = await scenario(t, options);
      const report = await gc(s.repository, { repackThreshold: 0.9 });
      assert.equal(report.packsDeleted, 1);
      assert.equal(report.packsRewritten, 0);
      assert.equal(report.packsWritten, 0);
      const packs = packFiles(s.dir);
      assert.ok(packs.includes(s.mixedPacks[0]!.packId));
      assert.ok(!packs.includes(s.deadPacks[0]!.packId));
      assert.equal(indexFiles(s.dir).length, 1);
      const out = tempDir(t);
      assert.ok((await restoreBytes(s.repository, s.b3.id, out)).equals(Buffer.concat([S, T, V])));
    });

    it('the deleted data, backed up again after GC, is stored anew and restores', async (t) => {
      const s = await scenario(t, options);
      await gc(s.repository);
      const again = await backup({ repository: s.repository, source: source(Buffer.concat([S, U]), 'state') });
      assert.ok(again.manifest.stats.newChunks > 0, 'chunks of U are not mistaken for stored ones');
      const out = tempDir(t);
      assert.ok((await restoreBytes(s.repository, again.manifest.id, out)).equals(Buffer.concat([S, U])));
      assert.ok((await restoreBytes(s.repository, s.b2.id, out)).equals(Buffer.concat([S, T])));
    });
  });
}

describe('collectGarbage refuses to guess', () => {
  for (const [what, edit, code] of [
    ['a manifest of a newer format', (b: Buffer) => b.writeUInt16LE(2, 4), 'NEWER_FORMAT'],
    ['a damaged manifest', (b: Buffer) => void (b[b.length - 3]! ^= 1), 'CORRUPT'],
  ] as const) {
    it(`stops before changing anything when it meets ${what}`, async (t) => {
      const s = await scenario(t, MODES[0]![1]);
      // Another backup whose manifest this version cannot read: its chunks might be anywhere.
      const bytes = fs.readFileSync(path.join(s.dir, 'manifests', s.b3.id));
      edit(bytes);
      fs.writeFileSync(path.join(s.dir, 'manifests', s.b3.id), bytes);
      const before = snapshot(s.dir);
      await assert.rejects(gc(s.repository), (err: unknown) => (err as { code?: string }).code === code);
      assert.deepEqual(snapshot(s.dir), before);
    });
  }
});

describe('collectGarbage with several data keys', () => {
  it('merges sealed chunks of several backups into packs with several keys, which restore and survive another rewrite', async (t) => {
    const dir = path.join(tempDir(t), 'repo');
    const repository = await Repository.init(new LocalBackend(dir), MODES[0]![1]);
    const W = seededBytes(600 * KiB, 5);
    const X = seededBytes(900 * KiB, 6);
    // Each run has its own data key.
    const a1 = (await backup({ repository, source: source(Buffer.concat([S, U]), 'x') })).manifest;
    const a2 = (await backup({ repository, source: source(Buffer.concat([W, X]), 'y') })).manifest;
    const a3 = (await backup({ repository, source: source(S, 'x') })).manifest;
    const a4 = (await backup({ repository, source: source(W, 'y') })).manifest;
    await repository.deleteManifest(a1.id);
    await repository.deleteManifest(a2.id);

    const first = await gc(repository);
    assert.equal(first.packsRewritten, 2, 'the first pack of a1 and of a2');
    const index = await repository.loadIndex();
    const multiKey = [...index.packs()].filter((p) => p.keys.length > 1);
    assert.ok(multiKey.length >= 1, 'live chunks of both runs share a new pack');
    for (const p of multiKey) assert.ok(new Set(p.entries.map((e) => e.keyIndex)).size > 1, 'its chunks point at different keys');
    const out = tempDir(t);
    assert.ok((await restoreBytes(repository, a3.id, out)).equals(S));
    assert.ok((await restoreBytes(repository, a4.id, out)).equals(W));

    // Now the backup whose chunks sit at key index 0 of a merged pack goes: the pack is rewritten
    // and the other backup's chunks must keep their own key (index 1 there).
    const merged = multiKey[0]!;
    const firstKeyIds = new Set(merged.entries.filter((e) => e.keyIndex === 0).map((e) => e.id.toString('hex')));
    const [doomed, survivor, survivorData] = [...chunkIds(a3)].some((id) => firstKeyIds.has(id)) ? [a3, a4, W] : [a4, a3, S];
    assert.ok([...chunkIds(survivor)].some((id) => merged.entries.some((e) => e.keyIndex > 0 && e.id.toString('hex') === id)));
    await repository.deleteManifest(doomed.id);
    const second = await gc(repository);
    assert.ok(second.packsRewritten >= 1, 'the merged pack is rewritten');
    const reopened = await Repository.open(new LocalBackend(dir), credentials(MODES[0]![1]));
    assert.ok((await restoreBytes(reopened, survivor.id, out)).equals(survivorData));
    assert.deepEqual((await checkRepository(reopened, await reopened.listBackups(), { readData: true })).problems, []);
    const live = chunkIds(survivor);
    for (const p of (await reopened.loadIndex()).packs()) {
      assert.ok(p.entries.some((e) => live.has(e.id.toString('hex'))), 'no pack without live chunks is left');
    }
  });
});

describe('collectGarbage without deletions', () => {
  it('changes nothing when every pack is live', async (t) => {
    const dir = path.join(tempDir(t), 'repo');
    const repository = await Repository.init(new LocalBackend(dir), MODES[0]![1]);
    await backup({ repository, source: source(S, 'a') });
    await backup({ repository, source: source(Buffer.concat([S, T]), 'a') });
    const before = snapshot(dir);
    const report = await gc(repository);
    assert.deepEqual(report, { packsDeleted: 0, packsRewritten: 0, packsWritten: 0, bytesFreed: 0, indexFilesReplaced: 0 });
    assert.deepEqual(snapshot(dir), before);
  });

  it('removes everything once every backup is deleted', async (t) => {
    const dir = path.join(tempDir(t), 'repo');
    const repository = await Repository.init(new LocalBackend(dir), MODES[0]![1]);
    const a = (await backup({ repository, source: source(S, 'a') })).manifest;
    const b = (await backup({ repository, source: source(T, 'b') })).manifest;
    for (const m of [a, b]) await repository.deleteManifest(m.id);
    const report = await gc(repository);
    assert.equal(report.packsDeleted, 2);
    assert.deepEqual(packFiles(dir), []);
    assert.equal(indexFiles(dir).length, 1);
    assert.equal((await repository.loadIndex()).packCount, 0);
  });

  it('adopts a pack left without an index and removes it when nothing uses it', async (t) => {
    const dir = path.join(tempDir(t), 'repo');
    const repository = await Repository.init(new LocalBackend(dir), MODES[0]![1]);
    const kept = (await backup({ repository, source: source(S, 'a') })).manifest;
    const gone = (await backup({ repository, source: source(U, 'b') })).manifest;
    // As if b's run had died after its pack landed: no index, no manifest.
    const index = await repository.loadIndex();
    const uPacks = [...index.packs()].filter((p) => p.entries.some((e) => chunkIds(gone).has(e.id.toString('hex'))));
    assert.equal(uPacks.length, 1);
    for (const f of indexFiles(dir)) {
      const file = decodeIndexFile(f, fs.readFileSync(path.join(dir, 'index', f)), repository.metaKey);
      if (file.packs.some((p) => p.packId === uPacks[0]!.packId)) fs.rmSync(path.join(dir, 'index', f));
    }
    await repository.deleteManifest(gone.id);
    assert.equal((await repository.loadIndex()).hasPack(uPacks[0]!.packId), false);

    const report = await gc(repository);
    assert.equal(report.packsDeleted, 1);
    assert.ok(!packFiles(dir).includes(uPacks[0]!.packId));
    const out = tempDir(t);
    assert.ok((await restoreBytes(repository, kept.id, out)).equals(S));
  });
});
