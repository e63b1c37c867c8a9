// xxh64 (src/crypto/checksum.ts): the WebAssembly and the plain-JavaScript implementations give
// the same values, and calls made before the WebAssembly is ready (right after import, in a fresh
// process) are served correctly, one-shot and streaming.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { test } from 'node:test';
import { checksumBackend, checksumsReady, createXxh64, xxh64, xxh64Js } from '../src/crypto/checksum.js';

test('the reference values: xxh64("") and xxh64("abc") with seed 0', () => {
  assert.equal(xxh64Js(new Uint8Array()), 0xef46db3751d8e999n);
  assert.equal(xxh64Js(Buffer.from('abc')), 0x44bc2cf5ad770999n);
});

test('WebAssembly and JavaScript agree on every length class (stripes, 8-, 4- and 1-byte tails)', async () => {
  await checksumsReady;
  assert.equal(checksumBackend(), 'wasm');
  for (const n of [0, 1, 3, 4, 5, 7, 8, 9, 12, 15, 16, 31, 32, 33, 36, 63, 64, 65, 100, 1000, 4096, 65537]) {
    const bytes = randomBytes(n);
    assert.equal(xxh64(bytes), xxh64Js(bytes), `length ${n}`);
    // A view at an odd offset reads the same bytes.
    const shifted = Buffer.concat([Buffer.alloc(3), bytes]).subarray(3);
    assert.equal(xxh64Js(shifted), xxh64(bytes));
  }
  const h = createXxh64();
  const parts = [randomBytes(10), randomBytes(1000), randomBytes(33)];
  for (const p of parts) h.update(p);
  assert.equal(h.digest(), xxh64Js(Buffer.concat(parts)));
});

test('before the WebAssembly is ready: served in JavaScript, the same values', () => {
  const module = path.resolve(import.meta.dirname, '../src/crypto/checksum.ts');
  const script = `
    import { checksumBackend, checksumsReady, createXxh64, xxh64 } from ${JSON.stringify(module)};
    const data = Buffer.from('agentvault '.repeat(300));
    const early = { backend: checksumBackend(), one: xxh64(data).toString(16) };
    const h = createXxh64(); h.update(data.subarray(0, 1000));
    await checksumsReady;
    h.update(data.subarray(1000));
    const late = { backend: checksumBackend(), one: xxh64(data).toString(16), streamed: h.digest().toString(16) };
    console.log(JSON.stringify({ early, late }));`;
  const out = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' })) as {
    early: { backend: string; one: string };
    late: { backend: string; one: string; streamed: string };
  };
  assert.equal(out.early.backend, 'js', 'right after import the WebAssembly is not ready yet');
  assert.equal(out.late.backend, 'wasm');
  assert.equal(out.early.one, out.late.one);
  assert.equal(out.late.streamed, out.late.one, 'bytes kept before it was ready went to the WebAssembly hasher');
});
