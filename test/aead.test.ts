// AES-256-GCM seal/open (src/crypto/aead.ts): layout nonce ‖ ciphertext ‖ tag, and every kind of
// damage or mismatch is an AuthenticationError.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { AuthenticationError, NONCE_LENGTH, SEAL_OVERHEAD, TAG_LENGTH, open, openLarge, seal, sealInto } from '../src/crypto/aead.js';
import { seededBytes } from './helpers/tmp.js';

const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const AAD = Buffer.from('AVMF1test');
const PLAIN = Buffer.from('the quick brown fox jumps over the lazy dog');

function flipBit(b: Buffer, index: number, bit = 0): Buffer {
  const out = Buffer.from(b);
  out[index]! ^= 1 << bit;
  return out;
}

function assertAuthFails(fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AuthenticationError, `expected AuthenticationError, got ${String(err)}`);
    assert.equal(err.name, 'AuthenticationError');
    return true;
  });
}

describe('aead', () => {
  it('round-trips empty, small and large plaintexts', () => {
    for (const plain of [Buffer.alloc(0), Buffer.from([7]), PLAIN, seededBytes(200_000, 3)]) {
      const sealed = seal(KEY, plain, AAD);
      assert.equal(sealed.length, plain.length + SEAL_OVERHEAD);
      assert.ok(open(KEY, sealed, AAD).equals(plain));
    }
  });

  it('seals in place: the plaintext already in the output body, longer than one cipher slice', () => {
    const plain = seededBytes(2_500_000, 9); // 64 KiB slices: 38 whole and a remainder
    const out = Buffer.alloc(plain.length + SEAL_OVERHEAD);
    plain.copy(out, NONCE_LENGTH);
    sealInto(KEY, out.subarray(NONCE_LENGTH, NONCE_LENGTH + plain.length), AAD, out);
    assert.equal(out.indexOf(plain.subarray(0, 4096)), -1, 'the plaintext was overwritten');
    assert.ok(open(KEY, out, AAD).equals(plain));
  });

  it('openLarge opens what seal sealed, slice by slice, leaves its input alone, and refuses any change', () => {
    for (const plain of [Buffer.alloc(0), PLAIN, seededBytes(65_536, 4), seededBytes(300_001, 5)]) {
      const sealed = seal(KEY, plain, AAD);
      const before = Buffer.from(sealed);
      assert.ok(openLarge(KEY, sealed, AAD).equals(plain), `${plain.length} bytes`);
      assert.ok(sealed.equals(before), 'the sealed bytes are unchanged');
      if (plain.length > 0) assertAuthFails(() => openLarge(KEY, flipBit(sealed, NONCE_LENGTH + plain.length - 1), AAD));
      assertAuthFails(() => openLarge(KEY, flipBit(sealed, sealed.length - 1), AAD));
      assertAuthFails(() => openLarge(KEY, sealed, Buffer.from('other')));
    }
    assertAuthFails(() => openLarge(KEY, Buffer.alloc(SEAL_OVERHEAD - 1), AAD));
  });

  it('lays out nonce (12) ‖ ciphertext ‖ tag (16), with a fresh nonce each time', () => {
    assert.equal(NONCE_LENGTH, 12);
    assert.equal(TAG_LENGTH, 16);
    const a = seal(KEY, PLAIN, AAD);
    const b = seal(KEY, PLAIN, AAD);
    assert.ok(!a.subarray(0, NONCE_LENGTH).equals(b.subarray(0, NONCE_LENGTH)), 'nonces differ');
    assert.ok(!a.equals(b));
    // The ciphertext is not the plaintext.
    assert.ok(!a.subarray(NONCE_LENGTH, a.length - TAG_LENGTH).equals(PLAIN));
    assert.equal(a.indexOf(PLAIN), -1);
  });

  it('accepts Uint8Array views with an offset', () => {
    const backing = Buffer.concat([Buffer.from('xxxx'), seal(KEY, PLAIN, AAD)]);
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 4, backing.length - 4);
    assert.ok(open(new Uint8Array(KEY), view, new Uint8Array(AAD)).equals(PLAIN));
  });

  it('wrong key → AuthenticationError', () => {
    const sealed = seal(KEY, PLAIN, AAD);
    assertAuthFails(() => open(randomBytes(32), sealed, AAD));
    assertAuthFails(() => open(flipBit(KEY, 31, 7), sealed, AAD));
  });

  it('a flipped bit in the nonce, the ciphertext or the tag → AuthenticationError', () => {
    const sealed = seal(KEY, PLAIN, AAD);
    const positions = {
      'nonce start': 0,
      'nonce end': NONCE_LENGTH - 1,
      'ciphertext start': NONCE_LENGTH,
      'ciphertext end': sealed.length - TAG_LENGTH - 1,
      'tag start': sealed.length - TAG_LENGTH,
      'tag end': sealed.length - 1,
    };
    for (const [where, index] of Object.entries(positions)) {
      for (const bit of [0, 7]) {
        assertAuthFails(() => open(KEY, flipBit(sealed, index, bit), AAD));
      }
      assert.ok(open(KEY, sealed, AAD).equals(PLAIN), `original still opens after testing ${where}`);
    }
  });

  it('a flipped bit of an empty plaintext\'s seal → AuthenticationError', () => {
    const sealed = seal(KEY, Buffer.alloc(0), AAD);
    assert.equal(sealed.length, SEAL_OVERHEAD);
    assert.equal(open(KEY, sealed, AAD).length, 0);
    for (let i = 0; i < sealed.length; i++) assertAuthFails(() => open(KEY, flipBit(sealed, i), AAD));
  });

  it('wrong, missing or extra associated data → AuthenticationError', () => {
    const sealed = seal(KEY, PLAIN, AAD);
    assertAuthFails(() => open(KEY, sealed, Buffer.from('AVMF1tesu')));
    assertAuthFails(() => open(KEY, sealed, Buffer.alloc(0)));
    assertAuthFails(() => open(KEY, sealed, Buffer.concat([AAD, Buffer.from([0])])));
    const noAad = seal(KEY, PLAIN, Buffer.alloc(0));
    assert.ok(open(KEY, noAad, Buffer.alloc(0)).equals(PLAIN));
    assertAuthFails(() => open(KEY, noAad, AAD));
  });

  it('truncated or extended input → AuthenticationError', () => {
    const sealed = seal(KEY, PLAIN, AAD);
    assertAuthFails(() => open(KEY, sealed.subarray(0, sealed.length - 1), AAD));
    assertAuthFails(() => open(KEY, sealed.subarray(1), AAD));
    assertAuthFails(() => open(KEY, Buffer.concat([sealed, Buffer.from([0])]), AAD));
  });

  it('input shorter than nonce + tag → AuthenticationError', () => {
    for (const length of [0, 1, NONCE_LENGTH, SEAL_OVERHEAD - 1]) {
      assert.throws(
        () => open(KEY, Buffer.alloc(length), AAD),
        (err: unknown) => err instanceof AuthenticationError && /too short/.test(err.message),
        `length ${length}`,
      );
    }
  });
});
