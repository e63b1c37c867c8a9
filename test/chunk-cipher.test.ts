// The native chunk cipher (native/chunk-cipher.c through src/crypto/chunk-cipher.ts): it must be
// built by `npm install`; it seals chunks to exactly what node:crypto opens and opens what
// node:crypto sealed; it names the first chunk that does not open; it refuses tables that do not
// fit their buffer without touching memory; its xxh64 is the checksum module's. And the workers
// that use it write repositories the node:crypto path restores, and the other way round.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { LocalBackend } from '../src/backend/local.js';
import { backup } from '../src/backup.js';
import { open, sealInto, SEAL_OVERHEAD } from '../src/crypto/aead.js';
import { checksumsReady, xxh64 } from '../src/crypto/checksum.js';
import { nativeChunkCipher, nativeChunkCipherUnavailable, type NativeChunkCipher } from '../src/crypto/chunk-cipher.js';
import { Repository } from '../src/repository/repository.js';
import { restore } from '../src/restore.js';
import { FileSink } from '../src/sinks/files.js';
import { bufferSource } from './helpers/pipeline.js';
import { seededBytes, tempDir } from './helpers/tmp.js';

process.env.AGENTVAULT_SCRYPT_LOG_N ??= '12';

function cipher(): NativeChunkCipher {
  assert.ok(nativeChunkCipher, `the native chunk cipher is not loaded: ${nativeChunkCipherUnavailable} (npm install builds it; npm run build:native)`);
  return nativeChunkCipher;
}

function aadOf(id: Uint8Array, codec: number): Buffer {
  return Buffer.concat([Buffer.from('AVC1', 'latin1'), id, Buffer.from([codec])]);
}

/** A batch of bodies laid out for sealInPlace, in shared memory as the workers have it. */
function layOut(bodies: readonly Buffer[]): { buffer: Uint8Array; bodyLengths: Int32Array; ids: Buffer; codecs: Uint8Array; nonces: Buffer } {
  const size = bodies.reduce((sum, b) => sum + b.length + SEAL_OVERHEAD, 0);
  const buffer = new Uint8Array(new SharedArrayBuffer(size));
  let at = 0;
  for (const body of bodies) {
    buffer.set(body, at + 12);
    at += body.length + SEAL_OVERHEAD;
  }
  return {
    buffer,
    bodyLengths: Int32Array.from(bodies, (b) => b.length),
    ids: randomBytes(32 * bodies.length),
    codecs: Uint8Array.from(bodies, (_, i) => i % 3),
    nonces: randomBytes(12 * bodies.length),
  };
}

const BODIES = [seededBytes(8192, 1), seededBytes(100, 2), Buffer.alloc(0), seededBytes(65536, 3), seededBytes(2049, 4)];

test('the native chunk cipher is built and loaded', () => {
  cipher();
});

test('xxh64 is the checksum module xxh64, at every tail length and in shared memory', async () => {
  await checksumsReady;
  const native = cipher();
  for (let length = 0; length <= 300; length++) {
    const bytes = seededBytes(length, length);
    assert.equal(native.xxh64(bytes), xxh64(bytes), `length ${length}`);
  }
  const big = seededBytes((1 << 20) + 13, 99);
  assert.equal(native.xxh64(big), xxh64(big));
  const shared = new Uint8Array(new SharedArrayBuffer(5000));
  shared.set(seededBytes(5000, 7));
  assert.equal(native.xxh64(shared.subarray(3)), xxh64(Buffer.from(shared.subarray(3))));
});

test('sealInPlace writes what node:crypto opens, with the given nonces, and the stored chunks\' checksums', async () => {
  await checksumsReady;
  const key = randomBytes(32);
  const batch = layOut(BODIES);
  const checksums = new BigUint64Array(BODIES.length);
  const used = cipher().sealInPlace(key, batch.buffer, batch.bodyLengths, batch.ids, batch.codecs, batch.nonces, checksums);
  assert.equal(used, batch.buffer.length);
  let at = 0;
  BODIES.forEach((body, i) => {
    const stored = Buffer.from(batch.buffer.slice(at, at + body.length + SEAL_OVERHEAD));
    assert.ok(stored.subarray(0, 12).equals(batch.nonces.subarray(i * 12, i * 12 + 12)), `chunk ${i}'s nonce`);
    assert.ok(open(key, stored, aadOf(batch.ids.subarray(i * 32, i * 32 + 32), batch.codecs[i]!)).equals(body), `chunk ${i} opens to its body`);
    assert.equal(checksums[i], xxh64(stored), `chunk ${i}'s checksum`);
    at += stored.length;
  });
});

/** Chunks sealed by node:crypto (aead.ts), back to back, with their tables. */
function sealedByNode(key: Buffer, bodies: readonly Buffer[]) {
  const ids = randomBytes(32 * bodies.length);
  const codecs = Uint8Array.from(bodies, (_, i) => (i + 1) % 3);
  const chunks = bodies.map((body, i) => {
    const out = Buffer.alloc(body.length + SEAL_OVERHEAD);
    sealInto(key, body, aadOf(ids.subarray(i * 32, i * 32 + 32), codecs[i]!), out);
    return out;
  });
  return { buffer: Buffer.concat(chunks), storedLengths: Int32Array.from(chunks, (c) => c.length), ids, codecs };
}

/** Each chunk's body after openInPlace: from 12 bytes in, 28 bytes shorter. */
function bodiesAfterOpen(buffer: Uint8Array, storedLengths: Int32Array): Buffer[] {
  const bodies: Buffer[] = [];
  let at = 0;
  for (const length of storedLengths) {
    bodies.push(Buffer.from(buffer.subarray(at + 12, at + length - 16)));
    at += length;
  }
  return bodies;
}

test('openInPlace opens what node:crypto sealed, each body where it lies', () => {
  const key = randomBytes(32);
  const sealed = sealedByNode(key, BODIES);
  assert.equal(cipher().openInPlace(key, sealed.buffer, sealed.storedLengths, sealed.ids, sealed.codecs), -1);
  assert.deepEqual(bodiesAfterOpen(sealed.buffer, sealed.storedLengths), BODIES);
});

test('openInPlace names the first chunk that does not open, after opening the ones before it', () => {
  const key = randomBytes(32);
  const native = cipher();
  const damage: Array<[string, (s: ReturnType<typeof sealedByNode>, at: number) => void]> = [
    ['a bit of the ciphertext', (s, at) => void (s.buffer[at + 12 + 5]! ^= 1)],
    ['a bit of the tag', (s, at) => void (s.buffer[at + s.storedLengths[3]! - 1]! ^= 0x80)],
    ['a bit of the nonce', (s, at) => void (s.buffer[at]! ^= 2)],
    ['the id', (s) => void (s.ids[3 * 32 + 31]! ^= 1)],
    ['the codec byte', (s) => void (s.codecs[3] = (s.codecs[3]! + 1) % 3)],
  ];
  for (const [what, change] of damage) {
    const sealed = sealedByNode(key, BODIES);
    const at = sealed.storedLengths.subarray(0, 3).reduce((a, b) => a + b, 0);
    change(sealed, at);
    assert.equal(native.openInPlace(key, sealed.buffer, sealed.storedLengths, sealed.ids, sealed.codecs), 3, `changed ${what}`);
    assert.deepEqual(bodiesAfterOpen(sealed.buffer, sealed.storedLengths).slice(0, 3), BODIES.slice(0, 3), `the chunks before the one with ${what} changed`);
  }
  const sealed = sealedByNode(key, BODIES);
  assert.equal(native.openInPlace(randomBytes(32), sealed.buffer, sealed.storedLengths, sealed.ids, sealed.codecs), 0, 'another key');
  // Shorter than a nonce and a tag: cannot be a sealed chunk.
  const short = sealedByNode(key, [BODIES[0]!]);
  const tooShort = Buffer.concat([short.buffer, Buffer.alloc(27)]);
  assert.equal(native.openInPlace(key, tooShort, Int32Array.of(short.storedLengths[0]!, 27), Buffer.concat([short.ids, randomBytes(32)]), Uint8Array.of(short.codecs[0]!, 0)), 1);
});

test('tables that do not fit their buffer, or do not match, are refused before any byte changes', () => {
  const native = cipher();
  const key = randomBytes(32);
  const batch = layOut(BODIES);
  const before = Buffer.from(batch.buffer.slice(0));
  const checksums = new BigUint64Array(BODIES.length);
  const seal = (changes: Partial<typeof batch & { key: Uint8Array; checksums: BigUint64Array }>) => () =>
    native.sealInPlace(changes.key ?? key, changes.buffer ?? batch.buffer, changes.bodyLengths ?? batch.bodyLengths, changes.ids ?? batch.ids, changes.codecs ?? batch.codecs, changes.nonces ?? batch.nonces, changes.checksums ?? checksums);
  assert.throws(seal({ buffer: batch.buffer.subarray(0, batch.buffer.length - 1) }), RangeError, 'one byte short');
  assert.throws(seal({ bodyLengths: Int32Array.of(8192, 100, 0, 65536, 2 ** 31 - 1) }), RangeError, 'a huge length');
  assert.throws(seal({ bodyLengths: Int32Array.of(8192, -100, 0, 65536, 2049) }), RangeError, 'a negative length');
  assert.throws(seal({ ids: batch.ids.subarray(1) }), RangeError, 'ids one byte short');
  assert.throws(seal({ nonces: batch.nonces.subarray(12) }), RangeError, 'a nonce short');
  assert.throws(seal({ codecs: batch.codecs.subarray(1) }), RangeError, 'a codec short');
  assert.throws(seal({ checksums: new BigUint64Array(1) }), RangeError, 'checksums short');
  assert.throws(seal({ key: key.subarray(1) }), RangeError, 'a 31-byte key');
  assert.throws(seal({ bodyLengths: new Uint32Array(5) as unknown as Int32Array }), TypeError, 'lengths of another type');
  assert.throws(seal({ checksums: new BigInt64Array(5) as unknown as BigUint64Array }), TypeError, 'checksums of another type');
  assert.ok(Buffer.from(batch.buffer).equals(before), 'nothing was written');

  const sealed = sealedByNode(key, BODIES);
  const copy = Buffer.from(sealed.buffer);
  assert.throws(() => native.openInPlace(key, sealed.buffer.subarray(1), sealed.storedLengths, sealed.ids, sealed.codecs), RangeError, 'one byte short');
  assert.throws(() => native.openInPlace(key, sealed.buffer, Int32Array.of(28, 2 ** 31 - 1), sealed.ids.subarray(0, 64), sealed.codecs.subarray(0, 2)), RangeError, 'a huge length');
  assert.throws(() => native.openInPlace(key, sealed.buffer, Int32Array.of(-28), sealed.ids.subarray(0, 32), sealed.codecs.subarray(0, 1)), RangeError, 'a negative length');
  assert.throws(() => native.openInPlace(key, sealed.buffer, sealed.storedLengths, sealed.ids.subarray(32), sealed.codecs), RangeError, 'ids short');
  assert.throws(() => native.openInPlace(key, 'not bytes' as unknown as Uint8Array, sealed.storedLengths, sealed.ids, sealed.codecs), TypeError, 'not bytes');
  assert.ok(sealed.buffer.equals(copy), 'nothing was opened');
});

/** Runs `body` with the workers loading node:crypto instead of the native cipher (they read the environment as they start). */
async function withoutNative<T>(body: () => Promise<T>): Promise<T> {
  process.env['AGENTVAULT_NATIVE'] = '0';
  try {
    return await body();
  } finally {
    delete process.env['AGENTVAULT_NATIVE'];
  }
}

test('a backup sealed natively restores through node:crypto, and the other way round, byte for byte', async (t) => {
  cipher();
  const dir = tempDir(t);
  const repository = await Repository.init(new LocalBackend(path.join(dir, 'repo')), { encryption: 'aes-256-gcm', password: 'pw' });
  const text = Buffer.from('{"id":7,"owner":"bob","balance":12}\n'.repeat(30_000));
  const first = Buffer.concat([seededBytes(3 << 20, 11), Buffer.alloc(300_000), text]);
  const second = Buffer.concat([text.subarray(5), seededBytes(2 << 20, 12), Buffer.alloc(1 << 20)]);
  const natively = (await backup({ repository, source: bufferSource(first, 'first'), workers: 2 })).manifest;
  const byNode = (await withoutNative(() => backup({ repository, source: bufferSource(second, 'second'), workers: 2 }))).manifest;

  const restored = async (manifest: typeof natively, name: string) => {
    const target = path.join(dir, name);
    await restore({ repository, manifest, sink: new FileSink(target), workers: 2 });
    return fs.readFileSync(target);
  };
  assert.ok((await withoutNative(() => restored(natively, 'a'))).equals(first), 'sealed natively, opened by node:crypto');
  assert.ok((await restored(byNode, 'b')).equals(second), 'sealed by node:crypto, opened natively');
  assert.ok((await restored(natively, 'c')).equals(first), 'natively both ways');
});

test('chunks too large for a pooled output slab are laid out by way of the compression scratch buffer, and restore byte for byte', async (t) => {
  cipher();
  const dir = tempDir(t);
  // 1-4 MiB chunks: a batch does not fit a pooled slab, so each is sealed into a buffer exactly
  // its size, with no room for zstd's worst case; compressible and incompressible ones alike.
  const repository = await Repository.init(new LocalBackend(path.join(dir, 'repo')), { encryption: 'aes-256-gcm', password: 'pw', chunker: { min: 1 << 20, avg: 2 << 20, max: 4 << 20 } });
  const text = Buffer.from('{"id":7,"owner":"bob","balance":12}\n'.repeat(200_000));
  const data = Buffer.concat([seededBytes(6 << 20, 13), text, seededBytes(3 << 20, 14), text.subarray(3)]);
  const { manifest } = await backup({ repository, source: bufferSource(data, 'large'), workers: 2 });
  const target = path.join(dir, 'large');
  await restore({ repository, manifest, sink: new FileSink(target), workers: 2 });
  assert.ok(fs.readFileSync(target).equals(data), 'restored bytes differ');
  assert.ok(manifest.stats.storedSize < data.length - text.length, `the text was compressed: ${manifest.stats.storedSize} of ${data.length}`);
});

test('AGENTVAULT_NATIVE=0 turns the native cipher off, and says so', () => {
  const probe = (env: NodeJS.ProcessEnv) =>
    execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', "const m = await import('./src/crypto/chunk-cipher.ts'); console.log(JSON.stringify([m.nativeChunkCipher !== undefined, m.nativeChunkCipherUnavailable ?? null]))"], {
      cwd: path.resolve(import.meta.dirname, '..'),
      env,
      encoding: 'utf8',
    });
  const { AGENTVAULT_NATIVE: _, ...inherited } = process.env;
  assert.deepEqual(JSON.parse(probe({ ...inherited, AGENTVAULT_NATIVE: '0' })), [false, 'turned off by AGENTVAULT_NATIVE=0']);
  assert.deepEqual(JSON.parse(probe(inherited)), [true, null]);
});
