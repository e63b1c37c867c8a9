// Round trips through the library's backup() and restore(): byte-identical for edge sizes and
// random inputs with random chunk parameters, and the storage each backup type promises.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { LocalBackend } from '../src/backend/local.js';
import { backup } from '../src/backup.js';
import { Repository, type InitOptions } from '../src/repository/repository.js';
import { StdinSource } from '../src/sources/stdin.js';
import { seededBytes, tempDir } from './helpers/tmp.js';
import { bufferSource, restoreToBuffer } from './helpers/pipeline.js';

process.env.AGENTVAULT_SCRYPT_LOG_N ??= '12';

async function newRepository(t: Parameters<typeof tempDir>[0], options: Partial<InitOptions> = {}): Promise<Repository> {
  return Repository.init(new LocalBackend(path.join(tempDir(t), 'repo')), { encryption: 'aes-256-gcm', password: 'pw', ...options });
}

test('round trip is byte-identical for empty input, 1 byte, and sizes around every chunk boundary parameter', async (t) => {
  const repository = await newRepository(t, { chunker: { min: 256, avg: 1024, max: 4096 } });
  const { min, avg, max } = repository.config.chunker;
  const sizes = [0, 1, min - 1, min, min + 1, avg - 1, avg, avg + 1, max - 1, max, max + 1, 2 * max - 1, 2 * max, 2 * max + 1, 5 * max + 17];
  for (const size of sizes) {
    const data = seededBytes(size, size + 1);
    const { manifest } = await backup({ repository, source: bufferSource(data, `size-${size}`, 777) });
    assert.equal(manifest.stats.logicalSize, size);
    assert.deepEqual(await restoreToBuffer(repository, manifest.id), data, `size ${size}`);
  }
});

test('property: random inputs with random chunk parameters and input piece sizes round-trip', async (t) => {
  for (let round = 0; round < 12; round++) {
    const min = 64 << Math.floor(Math.random() * 5);
    const avg = min * (2 + Math.floor(Math.random() * 4));
    const max = avg * (2 + Math.floor(Math.random() * 4));
    const encryption = round % 3 === 0 ? 'none' : 'aes-256-gcm';
    const repository = await newRepository(t, { chunker: { min, avg, max, normalization: Math.floor(Math.random() * 3) }, encryption });
    // Mix random, zero and repetitive runs, as memory images have.
    const parts = Array.from({ length: 1 + Math.floor(Math.random() * 6) }, () => {
      const len = Math.floor(Math.random() * 200_000);
      const kind = Math.random();
      return kind < 0.4 ? randomBytes(len) : kind < 0.7 ? Buffer.alloc(len) : Buffer.from('abcdefgh'.repeat(len / 8 + 1)).subarray(0, len);
    });
    const data = Buffer.concat(parts);
    const piece = 1 + Math.floor(Math.random() * 100_000);
    const { manifest } = await backup({ repository, source: bufferSource(data, 'random', piece) });
    const restored = await restoreToBuffer(repository, manifest.id);
    assert.ok(restored.equals(data), `round ${round}: min ${min} avg ${avg} max ${max} piece ${piece} size ${data.length}`);
  }
});

test('chunking does not depend on how the input is split: 1-byte and 1 MiB pieces give the same chunks', async (t) => {
  const repository = await newRepository(t);
  const data = seededBytes(300_000, 9);
  const a = await backup({ repository, source: bufferSource(data, 'a', 1), type: 'full' });
  const b = await backup({ repository, source: bufferSource(data, 'b', 1 << 20), type: 'full' });
  assert.deepEqual(a.manifest.entries[0]!.chunks, b.manifest.entries[0]!.chunks);
});

test('incremental after 1% of 4 KiB pages change at scattered places stores at most 4x the changed bytes', async (t) => {
  const repository = await newRepository(t);
  const pageCount = 8192; // 32 MiB
  const image = Buffer.alloc(pageCount * 4096);
  // Canister-like: 64 KiB regions of zeros, JSON-ish text and random bytes.
  for (let region = 0; region < image.length / 65536; region++) {
    const r = image.subarray(region * 65536, (region + 1) * 65536);
    const kind = (region * 7919) % 10;
    if (kind < 4) continue;
    if (kind < 7) r.write(Array.from({ length: 2000 }, (_, i) => `{"id":${region * 2000 + i},"balance":${(i * 31) % 1000}}\n`).join('').slice(0, 65536), 'latin1');
    else seededBytes(65536, region + 1).copy(r);
  }
  const full = await backup({ repository, source: bufferSource(image, 'heap') });
  const changed = new Set<number>();
  while (changed.size < pageCount / 100) changed.add(Math.floor(Math.random() * pageCount));
  for (const page of changed) randomBytes(4096).copy(image, page * 4096);
  const inc = await backup({ repository, source: bufferSource(image, 'heap') });
  assert.equal(inc.manifest.type, 'incremental');
  assert.equal(inc.manifest.parent, full.manifest.id);
  const changedBytes = changed.size * 4096;
  const ratio = inc.manifest.stats.storedSize / changedBytes;
  assert.ok(ratio <= 4, `stored ${inc.manifest.stats.storedSize} for ${changedBytes} changed = ${ratio.toFixed(2)}x`);
  assert.ok(inc.manifest.stats.storedSize >= changedBytes * 0.9, 'random changed pages cannot be stored in less than their size');
  assert.ok((await restoreToBuffer(repository, inc.manifest.id)).equals(image));
});

test('backup types: full stores everything anew, incremental only what the repository lacks, differential only what its full lacks', async (t) => {
  const repository = await newRepository(t);
  const v1 = seededBytes(400_000, 1);
  const full = await backup({ repository, source: bufferSource(v1, 'db') });
  assert.equal(full.manifest.type, 'full');
  const v2 = Buffer.concat([v1, seededBytes(100_000, 2)]);
  const inc = await backup({ repository, source: bufferSource(v2, 'db'), type: 'incremental' });
  assert.ok(inc.manifest.stats.storedSize < 150_000, 'incremental stores the appended part');
  const v3 = Buffer.concat([v2, seededBytes(50_000, 3)]);
  const diff = await backup({ repository, source: bufferSource(v3, 'db'), type: 'differential' });
  assert.equal(diff.manifest.parent, full.manifest.id, 'a differential hangs off the last full backup');
  assert.ok(diff.manifest.stats.storedSize > 140_000, 'a differential re-stores what changed since the full, even if an incremental has it');
  const again = await backup({ repository, source: bufferSource(v3, 'db'), type: 'full' });
  assert.equal(again.manifest.parent, null);
  assert.ok(again.manifest.stats.storedSize >= v3.length, 'a full backup does not depend on older packs');
  for (const [m, data] of [[full, v1], [inc, v2], [diff, v3], [again, v3]] as const) {
    assert.ok((await restoreToBuffer(repository, m.manifest.id)).equals(data));
  }
});

test('a differential without an earlier full backup is refused', async (t) => {
  const repository = await newRepository(t);
  await assert.rejects(backup({ repository, source: bufferSource(Buffer.from('x'), 'new'), type: 'differential' }), /needs an earlier full backup/);
});

test('concurrent writers into one repository both succeed and both restore', async (t) => {
  const dir = path.join(tempDir(t), 'repo');
  await Repository.init(new LocalBackend(dir), { encryption: 'aes-256-gcm', password: 'pw' });
  const shared = seededBytes(500_000, 42);
  const a = Buffer.concat([shared, seededBytes(200_000, 1)]);
  const b = Buffer.concat([seededBytes(200_000, 2), shared]);
  const [ra, rb] = await Promise.all([
    Repository.open(new LocalBackend(dir), { password: 'pw' }).then((repository) => backup({ repository, source: bufferSource(a, 'a', 4096) })),
    Repository.open(new LocalBackend(dir), { password: 'pw' }).then((repository) => backup({ repository, source: bufferSource(b, 'b', 4096) })),
  ]);
  const reader = await Repository.open(new LocalBackend(dir), { password: 'pw' });
  assert.ok((await restoreToBuffer(reader, ra.manifest.id)).equals(a));
  assert.ok((await restoreToBuffer(reader, rb.manifest.id)).equals(b));
});

test('an aborted backup writes no manifest, leaves no temp files, and the next run reuses its packs', async (t) => {
  const repository = await newRepository(t, { packSize: 1 << 20 });
  const data = seededBytes(14 << 20, 77);
  const controller = new AbortController();
  let fed = 0;
  const slow = Readable.from(
    (async function* () {
      for (let at = 0; at < data.length; at += 65536) {
        if (at >= 11 << 20) {
          // Wait for packs to land, then pull the plug.
          const packs = () => fs.readdirSync(path.join(repository.location, 'packs')).length;
          for (let waited = 0; packs() < 6 && waited < 20_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
          controller.abort();
          await new Promise((r) => setTimeout(r, 50));
        }
        fed += 65536;
        yield data.subarray(at, at + 65536);
      }
    })(),
  );
  await assert.rejects(backup({ repository, source: new StdinSource(slow, { name: 'big' }), signal: controller.signal }));
  assert.ok(fed < data.length);
  assert.deepEqual(await repository.listBackupIds(), []);
  assert.deepEqual(fs.readdirSync(path.join(repository.location, 'tmp')), []);
  assert.deepEqual(fs.readdirSync(path.join(repository.location, 'locks')), []);

  const rerun = await backup({ repository, source: bufferSource(data, 'big') });
  assert.ok(rerun.manifest.stats.storedSize < data.length - (4 << 20), `re-run stored ${rerun.manifest.stats.storedSize}: the packs that landed were reused`);
  assert.ok((await restoreToBuffer(repository, rerun.manifest.id)).equals(data));
});

test('without workers (workers: 0) a backup stores the same chunks in packs of its own, and restores byte-identical', async (t) => {
  // Small packs so that several close (and sync in the background) during the run.
  const repository = await newRepository(t, { packSize: 1 << 20 });
  const data = Buffer.concat([randomBytes(2_500_000), Buffer.alloc(500_000), seededBytes(1_000_000, 3)]);
  const sequential = await backup({ repository, source: bufferSource(data, 'seq', 65_536), type: 'full', workers: 0 });
  const parallel = await backup({ repository, source: bufferSource(data, 'par', 65_536), type: 'full', workers: 2 });
  assert.deepEqual(sequential.manifest.entries[0]!.chunks, parallel.manifest.entries[0]!.chunks, 'the same chunks either way');
  assert.ok(sequential.manifest.stats.storedSize > 3_000_000, 'a full backup stores its chunks');
  const index = await repository.loadIndex();
  assert.ok(index.packCount >= 6, `both backups' packs are indexed (${index.packCount})`);
  assert.deepEqual(await restoreToBuffer(repository, sequential.manifest.id), data);
  assert.deepEqual(await restoreToBuffer(repository, parallel.manifest.id), data);
});

test('the repository sink packs chunks itself: a pack record (a PackStage before it) is refused, and no manifest is written', async (t) => {
  const repository = await newRepository(t);
  const { RepositorySink } = await import('../src/sinks/repository.js');
  const { assemblePack } = await import('../src/repository/pack-format.js');
  const sink = new RepositorySink(repository, { version: 1, id: 'b'.repeat(26), created: new Date().toISOString(), type: 'full', parent: null, source: { kind: 'file', name: 'x' }, metadata: {}, compression: { codec: 'zstd', level: 3 } });
  const { pipeline } = await import('node:stream/promises');
  await assert.rejects(pipeline(Readable.from([assemblePack([], repository.metaKey)]), sink), /packs chunks itself/);
  assert.equal(sink.manifest, undefined);
  assert.deepEqual(await repository.listBackups(), []);
});
