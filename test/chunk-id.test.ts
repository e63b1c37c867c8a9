// Chunk ids for a batch (src/crypto/chunk-id.ts; for blake3-keyed, native/chunk-id.c, which fills
// the SIMD lanes across chunks and builds each chunk's BLAKE3 tree itself): the ids must be the
// keyed BLAKE3 of the specification, as @noble/hashes (pure JavaScript) and @napi-rs/blake-hash
// compute them, at every length class that changes the tree; a wrong id or a changed byte is named
// by its index; tables that do not fit are refused before anything is written; threads hashing at
// once (the workers) do not disturb each other; and without the native module the batch calls give
// the same ids.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { blake3 } from '@noble/hashes/blake3';
import { createChunkIdHasher } from '../src/crypto/chunk-id.js';
import { loadedNativeModule } from './helpers/native.js';
import { seededBytes } from './helpers/tmp.js';

const KEY = Buffer.from('whats the Elvish word for friend', 'latin1');

/** Lengths at and around every boundary that changes a BLAKE3 tree: blocks, 1 KiB chunks, powers of two of chunks. */
function boundaryLengths(): number[] {
  const lengths = [0, 1, 63, 64, 65, 127, 128, 1023, 1024, 1025];
  for (let chunks = 2; chunks <= 70; chunks++) lengths.push(chunks * 1024 - 1, chunks * 1024, chunks * 1024 + 1, chunks * 1024 + 64, chunks * 1024 + 700);
  return lengths;
}

/** A batch over `data`: the given lengths at scattered, overlapping offsets. */
function batchOf(data: Uint8Array, lengths: readonly number[]): { offsets: Int32Array; lengths: Int32Array } {
  const offsets = lengths.map((length, i) => ((i * 7919) % (data.length - length + 1)));
  return { offsets: Int32Array.from(offsets), lengths: Int32Array.from(lengths) };
}

function expectedIds(data: Uint8Array, batch: { offsets: Int32Array; lengths: Int32Array }): Buffer {
  const ids = Buffer.alloc(batch.lengths.length * 32);
  // Copies for noble: @noble/hashes 1.8 returned wrong hashes here for some Buffers that are views into Node's pool.
  batch.lengths.forEach((length, i) => ids.set(blake3(Uint8Array.from(data.subarray(batch.offsets[i]!, batch.offsets[i]! + length)), { key: Uint8Array.from(KEY) }), i * 32));
  return ids;
}

test('blake3-keyed ids of a batch are the keyed BLAKE3 of every chunk, at every tree shape, as @noble/hashes and the per-chunk hasher compute them', () => {
  loadedNativeModule();
  const data = new Uint8Array(new SharedArrayBuffer(200_000));
  data.set(seededBytes(data.length, 5));
  const batch = batchOf(data, boundaryLengths());
  const hasher = createChunkIdHasher('blake3-keyed', KEY);
  const ids = new Uint8Array(batch.lengths.length * 32);
  hasher.idsInto(data, batch.offsets, batch.lengths, ids);
  const expected = expectedIds(data, batch);
  for (let i = 0; i < batch.lengths.length; i++) {
    const chunk = data.subarray(batch.offsets[i]!, batch.offsets[i]! + batch.lengths[i]!);
    assert.deepEqual(Buffer.from(ids.subarray(i * 32, i * 32 + 32)), expected.subarray(i * 32, i * 32 + 32), `length ${batch.lengths[i]}`);
    assert.deepEqual(hasher.id(chunk), expected.subarray(i * 32, i * 32 + 32), `per chunk, length ${batch.lengths[i]}`);
  }
});

test('a batch of one chunk, of chunks of mixed sizes in any order, and an empty batch', () => {
  const data = seededBytes(300_000, 6);
  const hasher = createChunkIdHasher('blake3-keyed', KEY);
  for (const lengths of [[5000], [65_536, 3, 2048, 2049, 40_000, 0, 1024, 9000], []]) {
    const batch = batchOf(data, lengths);
    const ids = new Uint8Array(lengths.length * 32);
    hasher.idsInto(data, batch.offsets, batch.lengths, ids);
    assert.deepEqual(Buffer.from(ids), expectedIds(data, batch), `lengths ${lengths.join(',')}`);
  }
});

test('firstMismatch is -1 for a batch\'s own ids, and names the first chunk whose id or bytes changed', () => {
  const data = Buffer.from(seededBytes(100_000, 7));
  const batch = batchOf(data, [3000, 9000, 1024, 17_000, 2500, 5000, 12_000, 2049]);
  const hasher = createChunkIdHasher('blake3-keyed', KEY);
  const ids = expectedIds(data, batch);
  assert.equal(hasher.firstMismatch(data, batch.offsets, batch.lengths, ids), -1);
  const wrongIds = Buffer.from(ids);
  wrongIds[7 * 32 + 31]! ^= 1;
  wrongIds[3 * 32]! ^= 0x80;
  assert.equal(hasher.firstMismatch(data, batch.offsets, batch.lengths, wrongIds), 3);
  // A byte only chunk 5 covers (the scattered offsets overlap elsewhere).
  const changed = Buffer.from(data);
  const only5 = [...Array(batch.lengths[5]!).keys()].map((k) => batch.offsets[5]! + k).find((at) => batch.lengths.every((length, i) => i === 5 || at < batch.offsets[i]! || at >= batch.offsets[i]! + length));
  assert.ok(only5 !== undefined);
  changed[only5]! ^= 1;
  assert.equal(hasher.firstMismatch(changed, batch.offsets, batch.lengths, ids), 5);
});

test('tables that do not fit their data, or do not match, are refused before any id is written', () => {
  const native = loadedNativeModule();
  const data = seededBytes(10_000, 8);
  for (const algorithm of ['blake3-keyed', 'hmac-sha256'] as const) {
    const hasher = createChunkIdHasher(algorithm, KEY);
    const ids = new Uint8Array(64);
    const refused = (offsets: number[], lengths: number[], into = ids) => assert.throws(() => hasher.idsInto(data, Int32Array.from(offsets), Int32Array.from(lengths), into), RangeError, `${algorithm} ${offsets} ${lengths}`);
    refused([0, 9000], [100, 1001]);
    refused([0, -1], [100, 10]);
    refused([0, 0], [100, -5]);
    refused([0, 2 ** 31 - 1], [10, 10]);
    refused([0], [10, 10]);
    refused([0, 0], [10, 10], new Uint8Array(63));
    assert.throws(() => hasher.firstMismatch(data, Int32Array.of(9999), Int32Array.of(2), new Uint8Array(32)), RangeError);
    if (algorithm === 'blake3-keyed') assert.ok(ids.every((b) => b === 0), 'no id was written');
  }
  const ok = { offsets: Int32Array.of(0), lengths: Int32Array.of(10), ids: new Uint8Array(32) };
  assert.throws(() => native.blake3KeyedIds(KEY.subarray(0, 31), data, ok.offsets, ok.lengths, ok.ids), RangeError, 'a short key');
  assert.throws(() => native.blake3KeyedIds(KEY, data, Float64Array.of(0) as unknown as Int32Array, ok.lengths, ok.ids), TypeError, 'offsets of another type');
  assert.throws(() => native.blake3KeyedIds(KEY, 'data' as unknown as Uint8Array, ok.offsets, ok.lengths, ok.ids), TypeError, 'data not bytes');
  assert.throws(() => (native.blake3KeyedIds as (...args: unknown[]) => void)(KEY, data, ok.offsets, ok.lengths), RangeError, 'four arguments');
});

test('threads hashing batches of different shapes at the same time get the ids one thread gets', async () => {
  loadedNativeModule();
  const data = new Uint8Array(new SharedArrayBuffer(1 << 20));
  data.set(seededBytes(data.length, 11));
  // Per thread, batches of its own sizes: the shared native code must keep no state between calls.
  const shapes = [0, 1].map((thread) => Array.from({ length: 60 }, (_, k) => boundaryLengths().filter((_, i) => (i + k + thread) % (3 + k % 5) === 0).slice(0, 20 + ((k * 7 + thread * 13) % 120))));
  // One thread's ids (this one's hasher, held to @noble/hashes above) for each batch.
  const hasher = createChunkIdHasher('blake3-keyed', KEY);
  const expected = shapes.map((batches) =>
    batches.map((lengths) => {
      const batch = batchOf(data, lengths);
      return Buffer.concat(lengths.map((length, i) => hasher.id(data.subarray(batch.offsets[i]!, batch.offsets[i]! + length)))).toString('hex');
    }),
  );
  const modulePath = path.resolve(import.meta.dirname, '../build/Release/agentvault_native.node');
  const worker = `const { parentPort, workerData } = require('node:worker_threads');
    const native = require(workerData.modulePath);
    const { data, shapes, key } = workerData;
    const out = [];
    for (let round = 0; round < 5; round++) out.push(shapes.map((lengths) => {
      const offsets = Int32Array.from(lengths.map((length, i) => (i * 7919) % (data.length - length + 1)));
      const ids = new Uint8Array(lengths.length * 32);
      native.blake3KeyedIds(key, data, offsets, Int32Array.from(lengths), ids);
      return Buffer.from(ids).toString('hex');
    }));
    parentPort.postMessage(out);`;
  const results = await Promise.all(
    shapes.map(
      (batches) =>
        new Promise<string[][]>((resolve, reject) => {
          const thread = new Worker(worker, { eval: true, workerData: { modulePath, data, shapes: batches, key: Uint8Array.from(KEY) } });
          thread.once('message', resolve);
          thread.once('error', reject);
        }),
    ),
  );
  results.forEach((rounds, thread) => rounds.forEach((ids) => assert.deepEqual(ids, expected[thread])));
});

test('hmac-sha256 ids of a batch are its ids chunk by chunk', () => {
  const data = seededBytes(50_000, 9);
  const batch = batchOf(data, [0, 1, 4096, 8191, 30_000]);
  const hasher = createChunkIdHasher('hmac-sha256', KEY);
  const ids = new Uint8Array(batch.lengths.length * 32);
  hasher.idsInto(data, batch.offsets, batch.lengths, ids);
  batch.lengths.forEach((length, i) => assert.deepEqual(Buffer.from(ids.subarray(i * 32, i * 32 + 32)), hasher.id(data.subarray(batch.offsets[i]!, batch.offsets[i]! + length))));
  assert.equal(hasher.firstMismatch(data, batch.offsets, batch.lengths, ids), -1);
  ids[2 * 32 + 5]! ^= 1;
  assert.equal(hasher.firstMismatch(data, batch.offsets, batch.lengths, ids), 2);
});

test('without the native module (AGENTVAULT_NATIVE=0) blake3-keyed batches give the same ids', () => {
  const lengths = [0, 1024, 1025, 5000, 65_536, 14_000];
  const script = `const { createChunkIdHasher } = await import('./src/crypto/chunk-id.ts'); const { nativeModule } = await import('./src/native.ts');
    const { seededBytes } = await import('./test/helpers/tmp.ts');
    const data = seededBytes(200_000, 10); const lengths = Int32Array.from(${JSON.stringify(lengths)});
    const offsets = lengths.map((length, i) => (i * 7919) % (data.length - length + 1));
    const ids = new Uint8Array(lengths.length * 32);
    createChunkIdHasher('blake3-keyed', Buffer.from('${KEY.toString('hex')}', 'hex')).idsInto(data, offsets, lengths, ids);
    console.log(JSON.stringify([nativeModule === undefined, Buffer.from(ids).toString('hex')]));`;
  const { AGENTVAULT_NATIVE: _, ...env } = process.env;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: path.resolve(import.meta.dirname, '..'), env: { ...env, AGENTVAULT_NATIVE: '0' }, encoding: 'utf8' });
  const data = seededBytes(200_000, 10);
  assert.deepEqual(JSON.parse(out), [true, expectedIds(data, batchOf(data, lengths)).toString('hex')]);
});
