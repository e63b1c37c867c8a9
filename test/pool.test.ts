// WorkerPool (src/workers/pool.ts): every result reaches the task it answers, with more tasks than
// workers can hold at once (each holds two), and a failing task fails only itself; workers started
// early (before their configuration is known) serve the next pool like fresh ones.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { prestartedWorkers, prestartWorkers, WorkerPool, workerScript } from '../src/workers/pool.js';
import type { BackupTask, BackupTaskResult, CutHashResult } from '../src/workers/backup-worker.js';

test('many tasks of different sizes at once: each promise gets its own task\'s answer', async (t) => {
  const chunker = { min: 256, avg: 1024, max: 8192, normalization: 2, seed: 7n };
  const pool = new WorkerPool<BackupTask, BackupTaskResult>(workerScript('backup-worker'), 2, { chunker, chunkId: 'blake3-keyed', idKey: randomBytes(32), codec: 'zstd', level: 3 });
  t.after(() => pool.close());
  const data = new SharedArrayBuffer(1 << 20);
  new Uint8Array(data).set(randomBytes(1 << 20));
  // Task i covers i * 997 bytes: a result's lengths add up to its own task's range, and no other.
  const sizes = Array.from({ length: 40 }, (_, i) => (i + 1) * 997);
  const results = await Promise.all(sizes.map((size) => pool.run({ kind: 'cut-hash', data, start: 0, end: size, final: true }) as Promise<CutHashResult>));
  results.forEach((r, i) => {
    assert.equal(r.lengths.reduce((a, b) => a + b, 0), sizes[i], `task ${i}`);
    assert.equal(r.ids.length, r.lengths.length * 32);
  });
  assert.equal(pool.pending, 0);

  // A task that fails (a range outside its buffer) rejects alone; the pool goes on.
  const [bad, good] = await Promise.allSettled([
    pool.run({ kind: 'cut-hash', data, start: 0, end: (1 << 20) + 1, final: true }),
    pool.run({ kind: 'cut-hash', data, start: 0, end: 5000, final: true }),
  ]);
  assert.equal(bad.status, 'rejected');
  assert.match(String((bad as PromiseRejectedResult).reason), /start <= end/);
  assert.equal(good.status, 'fulfilled');
  assert.equal((good as PromiseFulfilledResult<CutHashResult>).value.lengths.reduce((a, b) => a + b, 0), 5000);
});

test('workers started before their configuration are taken by the next pool, configured by message, and answer like fresh ones', async (t) => {
  const chunker = { min: 256, avg: 1024, max: 8192, normalization: 2, seed: 11n };
  const config = { chunker, chunkId: 'blake3-keyed' as const, idKey: randomBytes(32), codec: 'zstd' as const, level: 3 };
  const script = workerScript('backup-worker');
  const data = new SharedArrayBuffer(300_000);
  new Uint8Array(data).set(randomBytes(300_000));
  const cut = (pool: WorkerPool<BackupTask, BackupTaskResult>) =>
    Promise.all([0, 1, 2, 3, 4, 5].map((i) => pool.run({ kind: 'cut-hash', data, start: i * 1000, end: 300_000, final: true }) as Promise<CutHashResult>));

  prestartWorkers(script, 2);
  assert.equal(prestartedWorkers(script), 2);
  // Let them load before their configuration comes, as while a password key is derived.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const early = new WorkerPool<BackupTask, BackupTaskResult>(script, 3, config);
  t.after(() => early.close());
  assert.equal(prestartedWorkers(script), 0, 'both were taken (and a third started)');
  // Tasks sent at once, right behind the configuration: none is lost or run unconfigured.
  const fromEarly = await cut(early);

  const fresh = new WorkerPool<BackupTask, BackupTaskResult>(script, 2, config);
  t.after(() => fresh.close());
  const fromFresh = await cut(fresh);
  assert.deepEqual(fromEarly.map((r) => [[...r.lengths], Buffer.from(r.ids).toString('hex')]), fromFresh.map((r) => [[...r.lengths], Buffer.from(r.ids).toString('hex')]));
});
