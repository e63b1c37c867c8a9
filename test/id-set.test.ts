// IdSet (src/repository/id-set.ts): the compact set of chunk ids the dedup stages keep.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { IdSet } from '../src/repository/id-set.js';

test('holds exactly what was added, through many growths', () => {
  const set = new IdSet();
  const ids = Array.from({ length: 20_000 }, () => randomBytes(32));
  for (const id of ids) assert.equal(set.add(id), true);
  assert.equal(set.size, ids.length);
  for (const id of ids) assert.equal(set.has(id), true);
  for (const id of ids.slice(0, 100)) assert.equal(set.add(Buffer.from(id)), false, 'an equal id is already there');
  assert.equal(set.size, ids.length);
  for (let i = 0; i < 1000; i++) assert.equal(set.has(randomBytes(32)), false);
});

test('ids that differ only after the bytes the table hashes are told apart', () => {
  const set = new IdSet();
  const prefix = Buffer.from([9, 9, 9, 9]);
  const ids = Array.from({ length: 40 }, () => Buffer.concat([prefix, randomBytes(28)]));
  for (const id of ids) set.add(id);
  for (const id of ids) assert.equal(set.has(id), true);
  assert.equal(set.has(Buffer.concat([prefix, randomBytes(28)])), false);
  const near = Buffer.from(ids[0]!);
  near[31] ^= 1;
  assert.equal(set.has(near), false);
});

test('refuses an id of the wrong length', () => {
  assert.throws(() => new IdSet().add(randomBytes(31)), /32 bytes, not 31/);
});
