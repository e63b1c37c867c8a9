// memoizedBlsVerify (src/ic/bls-memo.ts) with real BLS12-381 signatures: a verified signature is
// remembered, a bad one never is, and the memo stays bounded.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { bls12_381 } from '@noble/curves/bls12-381';
import { memoizedBlsVerify } from '../src/ic/bls-memo.js';

const { shortSignatures } = bls12_381;
const secret = bls12_381.utils.randomSecretKey();
const publicKey = shortSignatures.getPublicKey(secret).toBytes(true);
const sign = (msg: Uint8Array) => shortSignatures.Signature.toBytes(shortSignatures.sign(shortSignatures.hash(msg), secret));

test('a verified signature is remembered; a bad one is checked every time and fails', async () => {
  const memo = memoizedBlsVerify();
  const msg = randomBytes(45);
  const sig = sign(msg);
  assert.equal(await memo.verify(publicKey, sig, msg), true);
  assert.equal(await memo.verify(publicKey, sig, msg), true);
  assert.deepEqual(memo.stats, { computed: 1, remembered: 1 });

  const other = Uint8Array.from(msg);
  other[0]! ^= 1;
  assert.equal(await memo.verify(publicKey, sig, other), false, 'the same signature over another message');
  assert.equal(await memo.verify(publicKey, sig, other), false);
  assert.deepEqual(memo.stats, { computed: 3, remembered: 1 });
});

test('at most 16 signatures are remembered, the least recently used forgotten first', async () => {
  const memo = memoizedBlsVerify();
  const messages = Array.from({ length: 17 }, () => randomBytes(32));
  const signatures = messages.map(sign);
  for (let i = 0; i < 17; i++) assert.equal(await memo.verify(publicKey, signatures[i]!, messages[i]!), true);
  assert.equal(await memo.verify(publicKey, signatures[16]!, messages[16]!), true);
  assert.equal(await memo.verify(publicKey, signatures[0]!, messages[0]!), true);
  assert.deepEqual(memo.stats, { computed: 18, remembered: 1 }, 'the newest was remembered, the first had to be checked again');
});

test('a signature met on every call stays remembered among ever new ones (a delegation among replies)', async () => {
  const memo = memoizedBlsVerify();
  const delegation = randomBytes(32);
  const delegationSig = sign(delegation);
  for (let i = 0; i < 40; i++) {
    assert.equal(await memo.verify(publicKey, delegationSig, delegation), true);
    const reply = randomBytes(32);
    assert.equal(await memo.verify(publicKey, sign(reply), reply), true);
  }
  assert.deepEqual(memo.stats, { computed: 41, remembered: 39 });
});
