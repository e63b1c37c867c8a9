// Repository (src/repository/repository.ts) over a LocalBackend: init/open, resolving backup
// references, adopting packs left without an index, and superseded index files.
process.env.AGENTVAULT_SCRYPT_LOG_N ??= '12';

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { LocalBackend } from '../src/backend/local.js';
import { parseKeyFile as parseAgeKeyFile } from '../src/crypto/age-keys.js';
import { xxh64 } from '../src/crypto/checksum.js';
import { AgentvaultError, type ErrorCode } from '../src/errors.js';
import { assemblePack, type PackItem } from '../src/repository/pack-format.js';
import type { IndexedPack } from '../src/repository/index-format.js';
import type { Manifest } from '../src/repository/manifest.js';
import { parseKeyFile, unlockKeys } from '../src/repository/keys.js';
import { Repository, type InitOptions } from '../src/repository/repository.js';
import type { PackRecord } from '../src/types.js';
import { seededBytes, tempDir } from './helpers/tmp.js';

const PASSWORD = 'correct horse battery staple';
const MODES: ReadonlyArray<readonly [string, InitOptions]> = [
  ['encrypted', { encryption: 'aes-256-gcm', password: PASSWORD }],
  ['unencrypted', { encryption: 'none' }],
];

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, pattern?: RegExp): Promise<AgentvaultError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof AgentvaultError, `expected AgentvaultError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (pattern) assert.match(caught.message, pattern);
  return caught;
}

function manifest(id: string, sourceName: string, created = '2026-11-27T21:00:00.000Z'): Manifest {
  return {
    version: 1,
    id,
    created,
    type: 'full',
    parent: null,
    source: { kind: 'file', name: sourceName },
    metadata: {},
    compression: { codec: 'zstd', level: 3 },
    entries: [],
    stats: { logicalSize: 0, storedSize: 0, chunks: 0, newChunks: 0 },
  };
}

/** A pack of real stored chunks (unencrypted payloads; what matters here is the trailer). */
function makePack(repository: Repository, seed: number, count = 3): PackRecord {
  const items: PackItem[] = [];
  for (let i = 0; i < count; i++) {
    const stored = seededBytes(500 + i, seed * 100 + i);
    items.push({
      id: xxhId(seed, i),
      stored,
      plainLength: stored.length,
      codec: 'none',
      checksum: xxh64(stored),
      wrappedKey: repository.encrypted ? seededBytes(80, seed) : undefined,
    });
  }
  return assemblePack(items, repository.metaKey);
}

function xxhId(seed: number, i: number): Buffer {
  const id = Buffer.alloc(32);
  id.writeUInt32LE(seed, 0);
  id.writeUInt32LE(i, 4);
  return id;
}

function indexed(pack: PackRecord): IndexedPack {
  return { packId: pack.packId, size: pack.size, keys: pack.keys, entries: pack.entries };
}

function listDir(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

describe('init and open', () => {
  for (const [label, options] of MODES) {
    it(`${label}: a new repository opens with the same config and keys`, async (t) => {
      const dir = path.join(tempDir(t), 'repo');
      const created = await Repository.init(new LocalBackend(dir), { ...options, packSize: 2 << 20 });
      assert.equal(created.encrypted, options.encryption !== 'none');
      assert.ok(fs.existsSync(path.join(dir, 'config')));
      for (const sub of ['keys', 'packs', 'index', 'manifests', 'locks', 'tmp']) assert.ok(fs.statSync(path.join(dir, sub)).isDirectory(), sub);
      assert.equal(listDir(path.join(dir, 'keys')).length, 1);

      const opened = await Repository.open(new LocalBackend(dir), options.password ? { password: options.password } : {});
      assert.deepEqual(opened.config, created.config);
      assert.equal(opened.config.packSize, 2 << 20);
      assert.ok(opened.keys.write.idKey.equals(created.keys.write.idKey));
      assert.ok(opened.keys.write.metaKey.equals(created.keys.write.metaKey));
      assert.equal(opened.keys.write.chunkerSeed, created.keys.write.chunkerSeed);
      assert.equal(opened.canReadData, true);
      if (options.encryption !== 'none') {
        assert.ok(opened.keys.identity?.secretKey.equals(created.keys.identity!.secretKey));
        assert.ok(opened.repositoryPublicKey?.equals(created.keys.identity!.recipient.publicKey));
        assert.ok(opened.metaKey?.equals(created.keys.write.metaKey));
      } else {
        assert.equal(opened.metaKey, undefined);
        assert.equal(opened.repositoryPublicKey, undefined);
      }

      // What one handle writes, the other reads.
      await created.writeManifest(manifest('0000001aaaaa', 'data.bin'));
      assert.deepEqual(await opened.listBackupIds(), ['0000001aaaaa']);
      assert.deepEqual(await opened.readManifest('0000001aaaaa'), manifest('0000001aaaaa', 'data.bin'));
    });

    it(`${label}: init twice → EXISTS, and the first repository is untouched`, async (t) => {
      const dir = tempDir(t);
      await Repository.init(new LocalBackend(dir), options);
      const config = fs.readFileSync(path.join(dir, 'config'));
      const keys = listDir(path.join(dir, 'keys'));
      await rejectsWith(Repository.init(new LocalBackend(dir), options), 'EXISTS', /already exists/);
      assert.ok(fs.readFileSync(path.join(dir, 'config')).equals(config));
      assert.deepEqual(listDir(path.join(dir, 'keys')), keys);
    });
  }

  it('an age recipient opens for writing only; its identity opens for reading too', async (t) => {
    const dir = tempDir(t);
    const keyFile = parseAgeKeyFile(fs.readFileSync(new URL('./fixtures/age/identity-1.txt', import.meta.url), 'utf8'));
    const created = await Repository.init(new LocalBackend(dir), { encryption: 'aes-256-gcm', recipients: keyFile.recipients });
    const writeOnly = await Repository.open(new LocalBackend(dir), { recipients: keyFile.recipients });
    assert.equal(writeOnly.canReadData, false);
    assert.equal(writeOnly.keys.identity, undefined);
    assert.ok(writeOnly.metaKey?.equals(created.keys.write.metaKey), 'it can still write and list backups');
    assert.throws(() => writeOnly.dataKey(Buffer.alloc(80)), (err: unknown) => err instanceof AgentvaultError && err.code === 'READ_ONLY_KEY');
    await rejectsWith(writeOnly.addKey({ password: 'new' }), 'READ_ONLY_KEY');
    const full = await Repository.open(new LocalBackend(dir), { identities: keyFile.identities });
    assert.equal(full.canReadData, true);
    assert.ok(full.keys.identity?.secretKey.equals(created.keys.identity!.secretKey));
    await rejectsWith(Repository.open(new LocalBackend(dir), { password: PASSWORD }), 'WRONG_KEY');
  });

  it('open of an empty directory → NO_REPOSITORY naming it', async (t) => {
    const dir = tempDir(t);
    await rejectsWith(Repository.open(new LocalBackend(dir), { password: PASSWORD }), 'NO_REPOSITORY', new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    await rejectsWith(Repository.open(new LocalBackend(path.join(dir, 'missing')), {}), 'NO_REPOSITORY');
    assert.deepEqual(listDir(dir), [], 'opening does not create anything');
  });

  it('open with a wrong password → WRONG_PASSWORD; with nothing → NEED_KEY', async (t) => {
    const dir = tempDir(t);
    await Repository.init(new LocalBackend(dir), { encryption: 'aes-256-gcm', password: PASSWORD });
    await rejectsWith(Repository.open(new LocalBackend(dir), { password: 'nope' }), 'WRONG_PASSWORD');
    await rejectsWith(Repository.open(new LocalBackend(dir), {}), 'NEED_KEY');
  });

  it('openUnlocked takes keys already unlocked from the key files (a download unlocks once); no config → NO_REPOSITORY', async (t) => {
    const dir = tempDir(t);
    const created = await Repository.init(new LocalBackend(dir), { encryption: 'aes-256-gcm', password: PASSWORD });
    const files = listDir(path.join(dir, 'keys')).map((name) => parseKeyFile(fs.readFileSync(path.join(dir, 'keys', name)), name));
    const keys = await unlockKeys(files, { password: PASSWORD }, created.config.id);
    const opened = await Repository.openUnlocked(new LocalBackend(dir), keys);
    assert.deepEqual(opened.config, created.config);
    assert.equal(opened.canReadData, true);
    await created.writeManifest(manifest('0000002bbbbb', 'x.bin'));
    assert.deepEqual(await opened.readManifest('0000002bbbbb'), manifest('0000002bbbbb', 'x.bin'));
    await rejectsWith(Repository.openUnlocked(new LocalBackend(path.join(dir, 'missing')), keys), 'NO_REPOSITORY');
  });

  it('an encrypted repository needs a password or a recipient to be created', async (t) => {
    const dir = tempDir(t);
    await rejectsWith(Repository.init(new LocalBackend(dir), { encryption: 'aes-256-gcm' }), 'NEED_KEY');
    assert.equal(fs.existsSync(path.join(dir, 'config')), false);
  });
});

describe('resolveBackupId', () => {
  // Ids sort by time; the last two share the prefix 0000003a with the first of that second.
  const BACKUPS: ReadonlyArray<readonly [string, string]> = [
    ['0000001aaaaa', 'db.sql'],
    ['0000002bbbbb', 'state.bin'],
    ['0000003aaaaa', 'db.sql'],
    ['0000003abbbb', 'state.bin'],
    ['0000004ccccc', 'db.sql'],
    ['0000005ddddd', 'state.bin'],
  ];

  async function setup(t: { after(fn: () => void): void }): Promise<Repository> {
    const repository = await Repository.init(new LocalBackend(tempDir(t)), { encryption: 'aes-256-gcm', password: PASSWORD });
    // Written out of order: listing sorts.
    for (const [i, [id, source]] of [...BACKUPS.entries()].reverse()) {
      await repository.writeManifest(manifest(id, source, new Date(Date.UTC(2026, 10, 1 + i)).toISOString()));
    }
    return repository;
  }

  it('lists backups oldest first', async (t) => {
    const repository = await setup(t);
    assert.deepEqual(
      await repository.listBackupIds(),
      BACKUPS.map(([id]) => id),
    );
    assert.deepEqual(
      (await repository.listBackups()).map((m) => m.id),
      BACKUPS.map(([id]) => id),
    );
  });

  it('a full id resolves to itself', async (t) => {
    const repository = await setup(t);
    for (const [id] of BACKUPS) assert.equal(await repository.resolveBackupId(id), id);
    assert.equal(await repository.resolveBackupId(' 0000004CCCCC '), '0000004ccccc', 'case and spaces do not matter');
  });

  it('a unique prefix resolves', async (t) => {
    const repository = await setup(t);
    assert.equal(await repository.resolveBackupId('0000002'), '0000002bbbbb');
    assert.equal(await repository.resolveBackupId('0000003ab'), '0000003abbbb');
    assert.equal(await repository.resolveBackupId('0000003aa'), '0000003aaaaa');
  });

  it('an ambiguous prefix → AMBIGUOUS listing the candidates', async (t) => {
    const repository = await setup(t);
    const err = await rejectsWith(repository.resolveBackupId('0000003'), 'AMBIGUOUS', /ambiguous/);
    assert.match(err.message, /0000003aaaaa/);
    assert.match(err.message, /0000003abbbb/);
    assert.doesNotMatch(err.message, /0000004ccccc/);
    const all = await rejectsWith(repository.resolveBackupId('0'), 'AMBIGUOUS');
    for (const [id] of BACKUPS.slice(0, 5)) assert.match(all.message, new RegExp(id));
    assert.match(all.message, /…/, 'more than five candidates are cut short');
  });

  it('an unknown id or prefix → NOT_FOUND', async (t) => {
    const repository = await setup(t);
    await rejectsWith(repository.resolveBackupId('0000009'), 'NOT_FOUND', /0000009/);
    await rejectsWith(repository.resolveBackupId('zzzzzzzzzzzz'), 'NOT_FOUND');
    await rejectsWith(repository.resolveBackupId('0000001aaaaab'), 'NOT_FOUND', undefined);
  });

  it('an empty reference → USAGE', async (t) => {
    const repository = await setup(t);
    await rejectsWith(repository.resolveBackupId('  '), 'USAGE');
  });

  it('`latest` is the newest backup overall, or of one source', async (t) => {
    const repository = await setup(t);
    assert.equal(await repository.resolveBackupId('latest'), '0000005ddddd');
    assert.equal(await repository.resolveBackupId('LATEST'), '0000005ddddd');
    assert.equal(await repository.resolveBackupId('latest', { sourceName: 'db.sql' }), '0000004ccccc');
    assert.equal(await repository.resolveBackupId('latest', { sourceName: 'state.bin' }), '0000005ddddd');
    await rejectsWith(repository.resolveBackupId('latest', { sourceName: 'other' }), 'NOT_FOUND', /no backups of other/);
  });

  it('a source filter narrows prefixes too', async (t) => {
    const repository = await setup(t);
    assert.equal(await repository.resolveBackupId('0000003', { sourceName: 'db.sql' }), '0000003aaaaa');
    assert.equal(await repository.resolveBackupId('0000003', { sourceName: 'state.bin' }), '0000003abbbb');
    await rejectsWith(repository.resolveBackupId('0000002', { sourceName: 'db.sql' }), 'NOT_FOUND');
  });

  it('`latest` of an empty repository → NOT_FOUND', async (t) => {
    const repository = await Repository.init(new LocalBackend(tempDir(t)), { encryption: 'none' });
    await rejectsWith(repository.resolveBackupId('latest'), 'NOT_FOUND', /no backups/);
  });

  it('files in manifests/ that are not backup ids are ignored', async (t) => {
    const repository = await setup(t);
    fs.writeFileSync(path.join(repository.location, 'manifests', 'notes.txt'), 'hello');
    assert.equal((await repository.listBackupIds()).length, BACKUPS.length);
    assert.equal(await repository.resolveBackupId('latest'), '0000005ddddd');
  });

  it('a manifest id is written once: a second write of the same id → EXISTS', async (t) => {
    const repository = await setup(t);
    await rejectsWith(repository.writeManifest(manifest('0000001aaaaa', 'other')), 'EXISTS');
    assert.equal((await repository.readManifest('0000001aaaaa')).source.name, 'db.sql');
  });
});

describe('adoptUnindexedPacks', () => {
  for (const [label, options] of MODES) {
    it(`${label}: a pack without an index is found by its trailer and indexed`, async (t) => {
      const dir = tempDir(t);
      const repository = await Repository.init(new LocalBackend(dir), options);

      // An indexed pack, as a completed backup leaves it.
      const known = makePack(repository, 1);
      await repository.writePack(known);
      await repository.writeIndex([indexed(known)], []);
      // A pack whose index was never written (the backup died in between).
      const orphan = makePack(repository, 2, 4);
      await repository.writePack(orphan);
      assert.ok(fs.existsSync(path.join(dir, 'packs', orphan.packId.slice(0, 2), orphan.packId)));

      const index = await repository.loadIndex();
      assert.equal(index.hasPack(known.packId), true);
      assert.equal(index.hasPack(orphan.packId), false);
      for (const e of orphan.entries) assert.equal(index.has(e.id), false);
      assert.equal(listDir(path.join(dir, 'index')).length, 1);

      assert.equal(await repository.adoptUnindexedPacks(index), 1);
      assert.equal(index.hasPack(orphan.packId), true);
      for (const e of orphan.entries) {
        const where = index.get(e.id);
        assert.ok(where, 'every chunk of the orphan is indexed');
        assert.equal(where.packId, orphan.packId);
        assert.equal(where.offset, e.offset);
        assert.equal(where.storedLength, e.storedLength);
        assert.equal(where.checksum, e.checksum);
        if (repository.encrypted) assert.ok(where.wrappedKey?.equals(orphan.keys[0]!));
        else assert.equal(where.wrappedKey, undefined);
      }
      assert.deepEqual(index.pack(orphan.packId), { ...indexed(orphan), keys: [...orphan.keys] });

      // It wrote an index file: a fresh load (another process) sees the pack without adopting.
      assert.equal(listDir(path.join(dir, 'index')).length, 2);
      const reopened = await Repository.open(new LocalBackend(dir), options.password ? { password: options.password } : {});
      const fresh = await reopened.loadIndex();
      assert.equal(fresh.hasPack(orphan.packId), true);
      assert.equal(fresh.pack(orphan.packId)!.size, orphan.size);
      assert.equal(fresh.chunkCount, known.entries.length + orphan.entries.length);
      assert.equal(await reopened.adoptUnindexedPacks(fresh), 0, 'nothing left to adopt');
      assert.equal(listDir(path.join(dir, 'index')).length, 2, 'no empty index file is written');
    });
  }

  it('a torn or foreign file among the packs is skipped, not adopted', async (t) => {
    const dir = tempDir(t);
    const repository = await Repository.init(new LocalBackend(dir), { encryption: 'aes-256-gcm', password: PASSWORD });
    const good = makePack(repository, 3);
    await repository.writePack(good);
    const torn = makePack(repository, 4);
    const bytes = Buffer.concat(torn.parts);
    fs.mkdirSync(path.join(dir, 'packs', torn.packId.slice(0, 2)), { recursive: true });
    fs.writeFileSync(path.join(dir, 'packs', torn.packId.slice(0, 2), torn.packId), bytes.subarray(0, bytes.length - 20));
    const index = await repository.loadIndex();
    assert.equal(await repository.adoptUnindexedPacks(index), 1);
    assert.equal(index.hasPack(good.packId), true);
    assert.equal(index.hasPack(torn.packId), false);
  });

  it('an orphan whose trailer names an unknown codec is skipped, not fatal', async (t) => {
    const dir = tempDir(t);
    const repository = await Repository.init(new LocalBackend(dir), { encryption: 'none' });
    const good = makePack(repository, 6);
    await repository.writePack(good);
    // A checksum-valid trailer with codec byte 9: rebuild the tail around the edited body.
    const odd = makePack(repository, 7, 1);
    const bytes = Buffer.concat(odd.parts);
    const bodyLength = bytes.readUInt32LE(bytes.length - 16);
    const bodyStart = bytes.length - 16 - bodyLength;
    const body = Buffer.from(bytes.subarray(bodyStart, bodyStart + bodyLength));
    body[body.length - 10] = 9;
    const tail = Buffer.alloc(16);
    tail.writeUInt32LE(body.length, 0);
    tail.writeBigUInt64LE(xxh64(body), 4);
    tail.write('AVPT', 12, 'latin1');
    fs.mkdirSync(path.join(dir, 'packs', odd.packId.slice(0, 2)), { recursive: true });
    fs.writeFileSync(path.join(dir, 'packs', odd.packId.slice(0, 2), odd.packId), Buffer.concat([bytes.subarray(0, bodyStart), body, tail]));
    await assert.rejects(repository.readPackTrailer(odd.packId, bytes.length), (err: unknown) => err instanceof AgentvaultError && err.code === 'CORRUPT');
    const index = await repository.loadIndex();
    assert.equal(await repository.adoptUnindexedPacks(index), 1);
    assert.equal(index.hasPack(good.packId), true);
    assert.equal(index.hasPack(odd.packId), false);
  });

  it('a pack trailer sealed with another repository\'s metaKey is not adopted', async (t) => {
    const repository = await Repository.init(new LocalBackend(tempDir(t)), { encryption: 'aes-256-gcm', password: PASSWORD });
    const other = await Repository.init(new LocalBackend(tempDir(t)), { encryption: 'aes-256-gcm', password: PASSWORD });
    await repository.writePack(makePack(other, 5));
    const index = await repository.loadIndex();
    assert.equal(await repository.adoptUnindexedPacks(index), 0);
    assert.equal(index.packCount, 0);
  });
});

describe('superseded index files', () => {
  for (const [label, options] of MODES) {
    it(`${label}: an index that supersedes another hides it from loadIndex`, async (t) => {
      const dir = tempDir(t);
      const repository = await Repository.init(new LocalBackend(dir), options);
      const a = makePack(repository, 1);
      const b = makePack(repository, 2);
      const c = makePack(repository, 3);
      for (const p of [a, b, c]) await repository.writePack(p);
      const first = await repository.writeIndex([indexed(a)], []);
      const second = await repository.writeIndex([indexed(b)], []);

      let index = await repository.loadIndex();
      assert.equal(index.hasPack(a.packId), true);
      assert.equal(index.hasPack(b.packId), true);

      // A prune's replacement: lists b and c, supersedes both earlier files (a was dropped).
      const third = await repository.writeIndex([indexed(b), indexed(c)], [first, second]);
      assert.deepEqual(listDir(path.join(dir, 'index')), [first, second, third].sort(), 'superseded files may still be on disk');
      index = await repository.loadIndex();
      assert.equal(index.hasPack(a.packId), false, 'superseded index is ignored');
      for (const e of a.entries) assert.equal(index.has(e.id), false);
      assert.equal(index.hasPack(b.packId), true);
      assert.equal(index.hasPack(c.packId), true);
      assert.equal(index.packCount, 2);
      assert.deepEqual(
        (await repository.readLiveIndexFiles()).map((f) => f.id),
        [third],
      );

      // Another writer's index, written later and superseding nothing, stays live.
      const fourth = await repository.writeIndex([indexed(a)], []);
      assert.deepEqual(
        (await repository.readLiveIndexFiles()).map((f) => f.id).sort(),
        [third, fourth].sort(),
      );
      assert.equal((await repository.loadIndex()).hasPack(a.packId), true);
    });
  }
});
