// zeroBlockRuns (src/backend/zero-blocks.ts): which bytes a sparse writer may leave as holes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allZero, SPARSE_BLOCK, zeroBlockRuns } from '../src/backend/zero-blocks.js';
import { seededBytes } from './helpers/tmp.js';

const B = SPARSE_BLOCK;

function runs(bytes: Buffer, position: number) {
  return [...zeroBlockRuns(bytes, bytes.length, position)].map((r) => [r.start, r.end, r.hole]);
}

describe('zeroBlockRuns', () => {
  it('holes are whole zero blocks aligned in the file; the runs cover every byte once, in order', () => {
    // data | 3 zero blocks | data, starting at a file offset 100 bytes into a block.
    const bytes = Buffer.concat([seededBytes(B - 100, 1), Buffer.alloc(3 * B), seededBytes(50, 2)]);
    assert.deepEqual(runs(bytes, 100), [
      [0, B - 100, false],
      [B - 100, 4 * B - 100, true],
      [4 * B - 100, bytes.length, false],
    ]);
  });

  it('zeros that do not fill a block of the file are written: a neighbouring range may hold the rest', () => {
    const zeros = Buffer.alloc(2 * B);
    // At offset 1 the zeros cover one whole block (B..2B) and two partial ones.
    assert.deepEqual(runs(zeros, 1), [
      [0, B - 1, false],
      [B - 1, 2 * B - 1, true],
      [2 * B - 1, 2 * B, false],
    ]);
    assert.deepEqual(runs(Buffer.alloc(B - 1), 0), [[0, B - 1, false]]);
    assert.deepEqual(runs(zeros, 0), [[0, 2 * B, true]]);
  });

  it('one non-zero byte anywhere in a block keeps the block', () => {
    for (const at of [0, 1, B / 2, B - 1]) {
      const bytes = Buffer.alloc(3 * B);
      bytes[B + at] = 1;
      assert.deepEqual(runs(bytes, 0), [
        [0, B, true],
        [B, 2 * B, false],
        [2 * B, 3 * B, true],
      ], `byte ${at} of the middle block`);
    }
  });

  it('empty input gives no runs; allZero looks at every byte of long spans', () => {
    assert.deepEqual(runs(Buffer.alloc(0), 5), []);
    const long = Buffer.alloc(200_000);
    assert.ok(allZero(long, 0, long.length));
    long[199_999] = 1;
    assert.ok(!allZero(long, 0, long.length));
    assert.ok(allZero(long, 0, 199_999));
  });
});
