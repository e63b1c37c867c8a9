// The compact in-memory index (src/repository/chunk-index.ts): what goes in comes out, first copy
// first, through table growth, for encrypted and unencrypted packs.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { ChunkIndex } from '../src/repository/chunk-index.js';
import type { IndexedPack } from '../src/repository/index-format.js';
import { readPackContentsTable, writePackContents, type PackEntry } from '../src/repository/pack-format.js';
import { ByteReader, ByteWriter } from '../src/repository/binary.js';

function pack(n: number, keys: Buffer[], ids: Buffer[] = Array.from({ length: n }, () => randomBytes(32))): IndexedPack {
  let offset = 8;
  const entries: PackEntry[] = ids.map((id, i) => {
    const storedLength = 100 + i;
    const e: PackEntry = { id, offset, storedLength, plainLength: 8192 + i, codec: i % 2 ? 'zstd' : 'none', keyIndex: keys.length ? i % keys.length : 0, checksum: BigInt.asUintN(64, BigInt(`0x${randomBytes(8).toString('hex')}`)) };
    offset += storedLength;
    return e;
  });
  return { packId: randomBytes(16).toString('hex'), size: offset + 100, keys, entries };
}

test('every chunk of every pack is found where it was put, through many table growths', () => {
  const index = new ChunkIndex();
  const packs = [pack(3000, [randomBytes(80), randomBytes(80)]), pack(2500, []), pack(1, [randomBytes(80)])];
  for (const p of packs) index.addPack(p);
  assert.equal(index.chunkCount, 5501);
  assert.equal(index.packCount, 3);
  for (const p of packs) {
    for (const e of p.entries) {
      assert.deepEqual(index.get(e.id), { packId: p.packId, offset: e.offset, storedLength: e.storedLength, plainLength: e.plainLength, codec: e.codec, checksum: e.checksum, wrappedKey: p.keys.length ? p.keys[e.keyIndex] : undefined });
    }
    assert.deepEqual(index.pack(p.packId), p, 'a pack reads back with its entries in order');
  }
  assert.deepEqual([...index.packs()].map((p) => p.packId), packs.map((p) => p.packId));
  assert.equal(index.has(randomBytes(32)), false);
  assert.equal(index.get(randomBytes(32)), undefined);
  assert.deepEqual(index.locations(randomBytes(32)), []);
  assert.equal(index.pack('0'.repeat(32)), undefined);
});

test('a chunk stored twice: the first copy answers, both are listed, the count is of distinct chunks', () => {
  const index = new ChunkIndex();
  const shared = randomBytes(32);
  const a = pack(3, [], [randomBytes(32), shared, randomBytes(32)]);
  const b = pack(2, [randomBytes(80)], [shared, randomBytes(32)]);
  index.addPack(a);
  index.addPack(b);
  index.addPack(a); // indexed twice (an adopted pack, an index file read twice): no change
  assert.equal(index.chunkCount, 4);
  assert.equal(index.get(shared)!.packId, a.packId);
  assert.deepEqual(index.locations(shared).map((l) => [l.packId, l.offset]), [[a.packId, a.entries[1]!.offset], [b.packId, b.entries[0]!.offset]]);
  assert.deepEqual(index.locations(shared)[1]!.wrappedKey, b.keys[0]);
});

test('ids that share their first four bytes (one hash bucket) are still told apart', () => {
  const index = new ChunkIndex();
  const ids = Array.from({ length: 50 }, () => Buffer.concat([Buffer.from([1, 2, 3, 4]), randomBytes(28)]));
  const p = pack(50, [], ids);
  index.addPack(p);
  ids.forEach((id, i) => assert.equal(index.get(id)!.offset, p.entries[i]!.offset));
  assert.equal(index.has(Buffer.concat([Buffer.from([1, 2, 3, 4]), randomBytes(28)])), false);
});

test('addPackTable (entries as stored, as loadIndex reads them) indexes exactly what addPack does', () => {
  const shared = randomBytes(32);
  const packs = [pack(2000, [randomBytes(80), randomBytes(80), randomBytes(80)]), pack(700, []), pack(3, [randomBytes(80)], [randomBytes(32), shared, randomBytes(32)]), pack(2, [randomBytes(80)], [shared, randomBytes(32)])];
  const fromEntries = new ChunkIndex();
  const fromTables = new ChunkIndex();
  fromTables.reserve(10);
  for (const p of packs) {
    fromEntries.addPack(p);
    const w = new ByteWriter(64);
    writePackContents(w, p);
    const { keys, table } = readPackContentsTable(new ByteReader(w.finish(), 'test'));
    fromTables.addPackTable(p.packId, p.size, keys, table);
    fromTables.addPackTable(p.packId, p.size, keys, table); // a pack met twice is indexed once
  }
  assert.equal(fromTables.chunkCount, fromEntries.chunkCount);
  assert.equal(fromTables.packCount, packs.length);
  for (const p of packs) {
    for (const e of p.entries) assert.deepEqual(fromTables.locations(e.id), fromEntries.locations(e.id));
    assert.deepEqual(fromTables.pack(p.packId), p);
  }
  assert.equal(fromTables.locations(shared).length, 2, 'the second copy is an alternate');
});
