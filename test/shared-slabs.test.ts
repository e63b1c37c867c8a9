// Shared slabs (src/stages/shared-slabs.ts): lent for one task, back once every piece is released.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SharedSlabs } from '../src/stages/shared-slabs.js';

test('a slab comes back after its last piece is released, and is lent again', () => {
  const slabs = new SharedSlabs(1024, 4);
  const a = slabs.lend(1000, 3)!;
  assert.equal(a.buffer.byteLength, 1024);
  assert.equal(slabs.lent, 1);
  a.release();
  a.release();
  const b = slabs.lend(10, 1)!;
  assert.notEqual(b.buffer, a.buffer, 'not back while a piece is still out');
  a.release();
  a.release(); // extra calls change nothing
  assert.equal(slabs.lent, 1);
  b.release();
  const again = [slabs.lend(1, 1)!, slabs.lend(1, 1)!, slabs.lend(1, 1)!];
  assert.deepEqual(new Set(again.map((s) => s.buffer)).has(a.buffer) && new Set(again.map((s) => s.buffer)).has(b.buffer), true, 'both reused');
});

test('declines what does not fit and, past maxLent, anything (the caller falls back)', () => {
  const slabs = new SharedSlabs(1024, 2);
  assert.equal(slabs.lend(1025, 1), undefined);
  assert.equal(slabs.lend(100, 0), undefined);
  const a = slabs.lend(1024, 1)!;
  slabs.lend(1, 1);
  assert.equal(slabs.lend(1, 1), undefined, 'two out: a consumer that never releases costs no more memory');
  a.release();
  assert.ok(slabs.lend(1, 1));
});

test('after close nothing is kept or lent: slabs still out are dropped when released', () => {
  const slabs = new SharedSlabs(1024, 4);
  const a = slabs.lend(10, 1)!;
  slabs.lend(10, 1)!.release();
  slabs.close();
  assert.equal(slabs.lend(10, 1), undefined);
  a.release();
  assert.equal(slabs.lent, 0);
  assert.equal(slabs.lend(10, 1), undefined);
});
