// The parallel backup stage gives exactly the chunks, ids, dedup decisions and order of the
// sequential stages, however segments fall on the data (small segments force many seams).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { FileSource } from '../src/sources/file.js';
import { ChunkStage } from '../src/stages/chunk.js';
import { CompressStage } from '../src/stages/compress.js';
import { DedupStage } from '../src/stages/dedup.js';
import { HashStage } from '../src/stages/hash.js';
import { ParallelBackupStage } from '../src/stages/parallel-backup.js';
import { DecompressStage } from '../src/stages/compress.js';
import { DecryptStage } from '../src/stages/encrypt.js';
import type { BackupTask, BackupTaskResult } from '../src/workers/backup-worker.js';
import { WorkerPool, workerScript } from '../src/workers/pool.js';
import type { AnyRecord, ChunkRecord, SourceRecord } from '../src/types.js';
import { tempDir } from './helpers/tmp.js';

function sourceRecords(entries: Buffer[], piece: number): SourceRecord[] {
  const out: SourceRecord[] = [];
  entries.forEach((data, index) => {
    out.push({ type: 'entry', entry: { index, name: `e${index}`, kind: 'file', size: data.length } });
    for (let at = 0; at < data.length; at += piece) out.push({ type: 'data', entry: index, bytes: data.subarray(at, at + piece) });
    out.push({ type: 'entry-end', entry: index, size: data.length });
  });
  return out;
}

async function collect(records: SourceRecord[], stages: NodeJS.ReadWriteStream[]): Promise<AnyRecord[]> {
  const out: AnyRecord[] = [];
  await pipeline([Readable.from(records), ...stages, new Writable({ objectMode: true, write: (r: AnyRecord, _e, cb) => (out.push(r), cb()) })] as never);
  return out;
}

const summary = (records: AnyRecord[]) =>
  records.map((r) => (r.type === 'chunk' ? `chunk ${r.entry}@${r.offset}+${r.size} ${r.id!.toString('hex')} ${r.known ? 'known' : 'new'}` : r.type === 'entry' ? `entry ${r.entry.index}` : r.type === 'entry-end' ? `end ${r.entry} ${r.size}` : r.type));

test('parallel stage == sequential stages, for random data, runs of zeros, many seams and several entries', async (t) => {
  const seed = 0x1234_5678_9abc_def0n;
  const key = randomBytes(32);
  const dataKey = randomBytes(32);
  for (const [min, avg, max] of [
    [256, 1024, 8192],
    [2048, 8192, 65536],
  ] as const) {
    const chunker = { min, avg, max, normalization: 2, seed };
    const pool = new WorkerPool<BackupTask, BackupTaskResult>(workerScript('backup-worker'), 2, { chunker, chunkId: 'blake3-keyed', idKey: key, codec: 'zstd', level: 3, dataKey });
    t.after(() => pool.close());
    for (let round = 0; round < 4; round++) {
      const entries = [
        Buffer.concat([randomBytes(300_000 + round * 7777), Buffer.alloc(200_000), randomBytes(50_000)]),
        Buffer.alloc(round * 1000), // empty, then small
        randomBytes(Math.floor(Math.random() * 2_000_000)),
        Buffer.from('abcdefgh'.repeat(40_000)),
      ];
      const records = sourceRecords(entries, 1 + Math.floor(Math.random() * 100_000));
      const seen = new Set<string>();
      const destination = { has: (id: Buffer) => seen.has(id.toString('hex')) };
      const sequential = await collect(records, [new ChunkStage(chunker), new HashStage('blake3-keyed', key), new DedupStage(destination), new CompressStage('zstd', 3)]);
      const parallel = await collect(records, [
        new ParallelBackupStage({ pool, chunker, chunkId: 'blake3-keyed', idKey: key, destination, encrypted: true, segmentBytes: 4 * max + Math.floor(Math.random() * 50_000) }),
      ]);
      assert.deepEqual(summary(parallel), summary(sequential), `chunker ${min}/${avg}/${max}, round ${round}`);

      // And what the workers stored decrypts and decompresses back to the data, chunk by chunk.
      const stored = parallel.filter((r): r is ChunkRecord => r.type === 'chunk' && !r.known);
      const plain = await collect(stored as unknown as SourceRecord[], [new DecryptStage(() => dataKey), new DecompressStage()]);
      const byId = new Map((plain as ChunkRecord[]).map((c) => [c.id!.toString('hex'), c.data!]));
      for (const r of parallel) {
        if (r.type !== 'chunk') continue;
        const expected = entries[r.entry]!.subarray(r.offset, r.offset + r.size);
        assert.ok(byId.get(r.id!.toString('hex'))!.equals(expected), `chunk ${r.entry}@${r.offset}`);
      }
    }
  }
});

test('a file source reads into segments lent by the stage: the same chunks as the sequential stages', async (t) => {
  const key = randomBytes(32);
  const chunker = { min: 2048, avg: 8192, max: 65536, normalization: 2, seed: 7n };
  const pool = new WorkerPool<BackupTask, BackupTaskResult>(workerScript('backup-worker'), 2, { chunker, chunkId: 'blake3-keyed', idKey: key, codec: 'zstd', level: 3 });
  t.after(() => pool.close());
  const dir = tempDir(t);
  const segmentBytes = 4 * chunker.max;
  for (const [i, data] of [Buffer.alloc(0), randomBytes(1000), randomBytes(3 * segmentBytes), Buffer.concat([randomBytes(segmentBytes + 12345), Buffer.alloc(300_000)])].entries()) {
    const file = path.join(dir, `f${i}`);
    fs.writeFileSync(file, data);
    const seen = new Set<string>();
    const destination = { has: (id: Buffer) => seen.has(id.toString('hex')) };
    const stage = new ParallelBackupStage({ pool, chunker, chunkId: 'blake3-keyed', idKey: key, destination, encrypted: false, segmentBytes });
    let lent = 0;
    const counted = new Transform({
      objectMode: true,
      transform(r: SourceRecord, _e, cb) {
        if (r.type === 'data' && r.bytes.buffer instanceof SharedArrayBuffer) lent++;
        cb(null, r);
      },
    });
    const source = (await FileSource.open(file, { name: 'e0' })).records(undefined, { allocate: stage.allocate });
    const out: AnyRecord[] = [];
    await pipeline([source, counted, stage, new Writable({ objectMode: true, write: (r: AnyRecord, _e, cb) => (out.push(r), cb()) })] as never);
    const sequential = await collect(sourceRecords([data], 65536), [new ChunkStage(chunker), new HashStage('blake3-keyed', key), new DedupStage(destination), new CompressStage('zstd', 3)]);
    assert.deepEqual(summary(out), summary(sequential), `file ${i}`);
    assert.equal(lent, Math.ceil(data.length / segmentBytes), `file ${i}: every piece was read into a lent segment`);
  }
});

test('sealed batches are written into lent slabs, reused once released: every stored chunk still opens to its data', async (t) => {
  const key = randomBytes(32);
  const dataKey = randomBytes(32);
  const chunker = { min: 2048, avg: 8192, max: 65536, normalization: 2, seed: 11n };
  const pool = new WorkerPool<BackupTask, BackupTaskResult>(workerScript('backup-worker'), 2, { chunker, chunkId: 'blake3-keyed', idKey: key, codec: 'zstd', level: 3, dataKey });
  t.after(() => pool.close());
  const data = randomBytes(8_000_000);
  const segmentBytes = 4 * chunker.max;
  const stage = new ParallelBackupStage({ pool, chunker, chunkId: 'blake3-keyed', idKey: key, destination: { has: () => false }, encrypted: true, segmentBytes });
  // Like the pack stage: copy what is stored, then release it (its slab may be overwritten from then on).
  const slabs = new Set<ArrayBufferLike>();
  let released = 0;
  const out: ChunkRecord[] = [];
  await pipeline([
    Readable.from(sourceRecords([data], 100_000)),
    stage,
    new Writable({
      objectMode: true,
      write(r: AnyRecord, _e, cb) {
        if (r.type === 'chunk' && r.data) {
          if (r.release) {
            slabs.add(r.data.buffer);
            released++;
          }
          r.data = Buffer.from(r.data);
          r.release?.();
          out.push(r);
        }
        setImmediate(cb); // a slow consumer: more batches are sealed while these wait
      },
    }),
  ] as never);
  assert.equal(released, out.length, 'every stored chunk came in a slab');
  // Every segment seals at least one batch of its own, and each batch had a slab.
  const batches = Math.ceil(data.length / segmentBytes);
  assert.ok(slabs.size < batches, `slabs were reused (${slabs.size} slabs for at least ${batches} batches)`);
  const plain = (await collect(out as unknown as SourceRecord[], [new DecryptStage(() => dataKey), new DecompressStage()])) as ChunkRecord[];
  for (const r of plain) assert.ok(r.data!.equals(data.subarray(r.offset, r.offset + r.size)), `chunk at ${r.offset}`);
  assert.equal(plain.reduce((n, r) => n + r.size, 0), data.length, 'all of it stored (random data: no repeats)');
});

test('a consumer that never releases: slabs run out and later batches come back in fresh buffers, all bytes intact', async (t) => {
  const key = randomBytes(32);
  const chunker = { min: 256, avg: 1024, max: 8192, normalization: 2, seed: 12n };
  const pool = new WorkerPool<BackupTask, BackupTaskResult>(workerScript('backup-worker'), 2, { chunker, chunkId: 'blake3-keyed', idKey: key, codec: 'zstd', level: 3 });
  t.after(() => pool.close());
  const data = randomBytes(4_000_000);
  const stage = new ParallelBackupStage({ pool, chunker, chunkId: 'blake3-keyed', idKey: key, destination: { has: () => false }, encrypted: false, segmentBytes: 4 * chunker.max });
  const out = (await collect(sourceRecords([data], 50_000), [stage])).filter((r): r is ChunkRecord => r.type === 'chunk');
  const inSlabs = out.filter((r) => r.release).length;
  assert.ok(inSlabs > 0 && inSlabs < out.length, `some in slabs, the rest not (${inSlabs} of ${out.length})`);
  for (const r of out) {
    const plain = r.codec === 'zstd' ? (await collect([r] as unknown as SourceRecord[], [new DecompressStage()]))[0] as ChunkRecord : r;
    assert.ok(plain.data!.equals(data.subarray(r.offset, r.offset + r.size)), `chunk at ${r.offset}`);
  }
});
