// Large buffers from outside malloc (src/large-buffer.ts): the sizes asked for, zeroed when large,
// page-aligned (what O_DIRECT relies on), and plain ones below the threshold.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAlignedView, LARGE_BUFFER_BYTES, largeBuffer, largeInt32Array, MAX_LIVE_WASM_MEMORIES, pageAlignedBuffer } from '../src/large-buffer.js';

test('largeBuffer: the length asked for; large ones zeroed and page-aligned, small ones plain', () => {
  for (const n of [LARGE_BUFFER_BYTES, LARGE_BUFFER_BYTES + 1, 3 << 20]) {
    const b = largeBuffer(n);
    assert.equal(b.length, n);
    assert.ok(isAlignedView(b, 4096), `${n} bytes come from page-aligned memory`);
    assert.equal(b.indexOf(1), -1, 'zeroed');
    b.fill(7);
    assert.equal(b[n - 1], 7, 'writable to its last byte');
  }
  const small = largeBuffer(LARGE_BUFFER_BYTES - 1);
  assert.equal(small.length, LARGE_BUFFER_BYTES - 1);
  assert.equal(isAlignedView(small, 4096), false, 'below the threshold: an ordinary buffer');
});

test('isAlignedView: only views of page-aligned memory, at the offsets asked for', () => {
  const b = pageAlignedBuffer(64 << 10);
  assert.ok(isAlignedView(b.subarray(8192), 4096));
  assert.equal(isAlignedView(b.subarray(100), 4096), false);
  assert.ok(isAlignedView(b.subarray(512), 512));
  assert.equal(isAlignedView(Buffer.alloc(64 << 10), 1), false);
});

test('largeInt32Array: zeroed tables of the length asked for, on both sides of the threshold', () => {
  for (const n of [16, LARGE_BUFFER_BYTES / 4, 1 << 20]) {
    const a = largeInt32Array(n);
    assert.equal(a.length, n);
    assert.ok(a.every((v) => v === 0));
    a[n - 1] = -5;
    assert.equal(a[n - 1], -5);
  }
});

test('past MAX_LIVE_WASM_MEMORIES alive at once, buffers are plain ones (address space is finite)', () => {
  const held: Buffer[] = [];
  for (let i = 0; i < MAX_LIVE_WASM_MEMORIES + 1; i++) held.push(pageAlignedBuffer(LARGE_BUFFER_BYTES));
  const last = held[held.length - 1]!;
  assert.equal(last.length, LARGE_BUFFER_BYTES);
  assert.equal(isAlignedView(last, 4096), false, 'the one past the limit is a plain buffer');
  assert.equal(last.indexOf(1), -1, 'zeroed all the same');
  const table = largeInt32Array(LARGE_BUFFER_BYTES);
  assert.ok(table.every((v) => v === 0), 'hash tables past the limit are zeroed too');
  assert.ok(isAlignedView(held[0]!, 4096));
});
