// Password → key (src/crypto/kdf.ts): the native scrypt (native/scrypt.c) derives exactly what
// node:crypto's does — on RFC 7914's vectors and on random inputs — and deriveKey gives the same
// key with the native module and without it, NFC-normalising the password either way.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes, scryptSync } from 'node:crypto';
import path from 'node:path';
import { test } from 'node:test';
import { deriveKey, type ScryptParams } from '../src/crypto/kdf.js';
import { loadedNativeModule } from './helpers/native.js';

test('RFC 7914 test vectors', async () => {
  const scrypt = loadedNativeModule().scrypt;
  // §12, the first vector in full; the others as node:crypto (OpenSSL) derives them.
  assert.equal(
    (await scrypt(Buffer.alloc(0), Buffer.alloc(0), 16, 1, 1, 64)).toString('hex'),
    '77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906',
  );
  for (const [password, salt, N, r, p] of [
    ['password', 'NaCl', 1024, 8, 16],
    ['pleaseletmein', 'SodiumChloride', 16384, 8, 1],
  ] as const) {
    const expected = scryptSync(password, salt, 64, { N, r, p, maxmem: 1 << 28 });
    assert.ok((await scrypt(Buffer.from(password), Buffer.from(salt), N, r, p, 64)).equals(expected), `${password}/${salt}`);
  }
});

test('the native scrypt equals node:crypto on random passwords, salts and parameters', async () => {
  const scrypt = loadedNativeModule().scrypt;
  for (let i = 0; i < 12; i++) {
    const password = randomBytes(i * 7);
    const salt = randomBytes(1 + i * 3);
    const N = 2 ** (1 + (i % 11));
    const r = 1 + (i % 5);
    const p = 1 + (i % 3);
    const length = 1 + ((i * 13) % 64);
    const expected = scryptSync(password, salt, length, { N, r, p, maxmem: 1 << 28 });
    assert.ok((await scrypt(password, salt, N, r, p, length)).equals(expected), `N=${N} r=${r} p=${p} length=${length}`);
  }
});

test('the native scrypt refuses parameters out of range', () => {
  const scrypt = loadedNativeModule().scrypt;
  const bytes = Buffer.from('x');
  for (const [N, r, p, length] of [
    [1000, 8, 1, 32], // not a power of two
    [1, 8, 1, 32],
    [1024, 0, 1, 32],
    [1024, 33, 1, 32],
    [1024, 8, 0, 32],
    [1024, 8, 17, 32],
    [1024, 8, 1, 0],
    [1024, 8, 1, 65],
    [2 ** 22, 32, 1, 32], // a 16 GiB array
  ]) {
    assert.throws(() => scrypt(bytes, bytes, N!, r!, p!, length!), RangeError, `N=${N} r=${r} p=${p} length=${length}`);
  }
  assert.throws(() => scrypt('pw' as unknown as Uint8Array, bytes, 1024, 8, 1, 32), TypeError);
});

test('deriveKey: the key node:crypto derives from the NFC password, with or without the native module', async () => {
  loadedNativeModule();
  const params: ScryptParams = { algorithm: 'scrypt', N: 1024, r: 8, p: 1, salt: randomBytes(16) };
  const composed = 'caf\u00e9 \u{1f511}';
  const decomposed = 'cafe\u0301 \u{1f511}';
  const expected = scryptSync(composed, params.salt, 32, { N: 1024, r: 8, p: 1 });
  assert.ok((await deriveKey(composed, params)).equals(expected));
  assert.ok((await deriveKey(decomposed, params)).equals(expected), 'the decomposed form normalises to the same key');

  // And through node:crypto alone, in a process without the native module.
  const script = `const { deriveKey } = await import('./src/crypto/kdf.ts'); const { nativeModule } = await import('./src/native.ts');
    const key = await deriveKey(${JSON.stringify(decomposed)}, { algorithm: 'scrypt', N: 1024, r: 8, p: 1, salt: Buffer.from('${params.salt.toString('hex')}', 'hex') });
    console.log(JSON.stringify([nativeModule === undefined, key.toString('hex')]));`;
  const { AGENTVAULT_NATIVE: _, ...env } = process.env;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: path.resolve(import.meta.dirname, '..'), env: { ...env, AGENTVAULT_NATIVE: '0' }, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), [true, expected.toString('hex')]);
});
