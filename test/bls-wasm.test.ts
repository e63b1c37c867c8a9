// wasmBlsVerify (src/ic/bls-wasm.ts): the pairing in WebAssembly gives the agent's verdicts. An IC
// mainnet certificate with its NNS delegation verifies through the agent's Certificate.create;
// keys, messages and signatures made with @noble/curves get the same answers from both verifiers,
// including malformed encodings and points on the curve but outside the prime-order subgroup.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { blsVerify, Cbor, Certificate, type Cert } from '@dfinity/agent';
import { Principal } from '@dfinity/principal';
import { bls12_381 } from '@noble/curves/bls12-381';
import { wasmBlsVerify } from '../src/ic/bls-wasm.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));

// Public facts from the IC mainnet: the root key (DER), and a certificate with an NNS delegation
// to the subnet of canisters 00000000002000000101-00000000002FFFFF0101 (the agent's and agent-rs's
// test vector), and a standalone signature of "hello".
const IC_ROOT_KEY = hex(
  '308182301d060d2b0601040182dc7c0503010201060c2b0601040182dc7c05030201036100814c0e6ec71fab583b08bd81373c255c3c371b2e84863c98a4f1e08b74235d14fb5d9c0cd546d9685f913a0c0b2cc5341583bf4b4392e467db96d65b9bb4cb717112f8472e0d5a4d14505ffd7484b01291091c5f87b98883463f98091a0baaae',
);
const MAINNET_CERTIFICATE = hex(
  'd9d9f7a364747265658301830182045820250f5e26868d9c1ea7ab29cbe9c15bf1c47c0d7605e803e39e375a7fe09c6ebb830183024e726571756573745f7374617475738301820458204b268227774ec77ff2b37ecb12157329d54cf376694bdd59ded7803efd82386f83025820edad510eaaa08ed2acd4781324e6446269da6753ec17760f206bbe81c465ff528301830183024b72656a6563745f636f64658203410383024e72656a6563745f6d6573736167658203584443616e69737465722069766733372d71696161612d61616161622d61616167612d63616920686173206e6f20757064617465206d6574686f64202772656769737465722783024673746174757382034872656a65637465648204582097232f31f6ab7ca4fe53eb6568fc3e02bc22fe94ab31d010e5fb3c642301f1608301820458203a48d1fc213d49307103104f7d72c2b5930edba8787b90631f343b3aa68a5f0a83024474696d65820349e2dc939091c696eb16697369676e6174757265583089a2be21b5fa8ac9fab1527e041327ce899d7da971436a1f2165393947b4d942365bfe5488710e61a619ba48388a21b16a64656c65676174696f6ea2697375626e65745f6964581dd77b2a2f7199b9a8aec93fe6fb588661358cf12223e9a3af7b4ebac4026b6365727469666963617465590231d9d9f7a26474726565830182045820ae023f28c3b9d966c8fb09f9ed755c828aadb5152e00aaf700b18c9c067294b483018302467375626e6574830182045820e83bb025f6574c8f31233dc0fe289ff546dfa1e49bd6116dd6e8896d90a4946e830182045820e782619092d69d5bebf0924138bd4116b0156b5a95e25c358ea8cf7e7161a661830183018204582062513fa926c9a9ef803ac284d620f303189588e1d3904349ab63b6470856fc4883018204582060e9a344ced2c9c4a96a0197fd585f2d259dbd193e4eada56239cac26087f9c58302581dd77b2a2f7199b9a8aec93fe6fb588661358cf12223e9a3af7b4ebac402830183024f63616e69737465725f72616e6765738203581bd9d9f781824a000000000020000001014a00000000002fffff010183024a7075626c69635f6b657982035885308182301d060d2b0601040182dc7c0503010201060c2b0601040182dc7c050302010361009933e1f89e8a3c4d7fdcccdbd518089e2bd4d8180a261f18d9c247a52768ebce98dc7328a39814a8f911086a1dd50cbe015e2a53b7bf78b55288893daa15c346640e8831d72a12bdedd979d28470c34823b8d1c3f4795d9c3984a247132e94fe82045820996f17bb926be3315745dea7282005a793b58e76afeb5d43d1a28ce29d2d158583024474696d6582034995b8aac0e4eda2ea16697369676e61747572655830ace9fcdd9bc977e05d6328f889dc4e7c99114c737a494653cb27a1f55c06f4555e0f160980af5ead098acc195010b2f7',
);
const HELLO_KEY = hex(
  'a7623a93cdb56c4d23d99c14216afaab3dfd6d4f9eb3db23d038280b6d5cb2caaee2a19dd92c9df7001dede23bf036bc0f33982dfb41e8fa9b8e96b5dc3e83d55ca4dd146c7eb2e8b6859cb5a5db815db86810b8d12cee1588b5dbf34a4dc9a5',
);
const HELLO_SIGNATURE = hex('b89e13a212c830586eaa9ad53946cd968718ebecc27eda849d9232673dcd4f440e8b5df39bf14a88048c15e16cbcaabe');

/** The agent's verdict; its verifier throws on some malformed points where ours says false. */
function agentVerdict(pk: Uint8Array, sig: Uint8Array, msg: Uint8Array): boolean {
  try {
    return blsVerify(pk, sig, msg);
  } catch {
    return false;
  }
}

const { Fp, Fp2 } = bls12_381.fields;
const be48 = (n: bigint) => Uint8Array.from(Buffer.from(n.toString(16).padStart(96, '0'), 'hex'));
const compressed = (bytes: Uint8Array) => {
  bytes[0]! |= 0x80;
  return bytes;
};

type G1Point = ReturnType<typeof bls12_381.G1.Point.fromAffine>;

/** A G1 point on the curve but outside the prime-order subgroup. */
function g1OffSubgroup(): G1Point {
  for (let x = 1n; ; x++) {
    const rhs = Fp.add(Fp.pow(x, 3n), 4n);
    let y: bigint;
    try {
      y = Fp.sqrt(rhs);
    } catch {
      continue;
    }
    assert.equal(Fp.sqr(y), rhs, 'on the curve');
    const point = bls12_381.G1.Point.fromAffine({ x, y });
    if (!point.isTorsionFree()) return point;
  }
}

/** Zcash's compressed encoding, written out here because noble refuses to encode such points. */
function g1Compressed(point: G1Point): Uint8Array {
  const { x, y } = point.toAffine();
  const bytes = compressed(be48(x));
  if (y > (Fp.ORDER - 1n) / 2n) bytes[0]! |= 0x20;
  return bytes;
}

/** A compressed G2 point on the twist but outside the prime-order subgroup. */
function g2OffSubgroup(): Uint8Array {
  const b = Fp2.create({ c0: 4n, c1: 4n });
  for (let c0 = 1n; ; c0++) {
    const x = Fp2.create({ c0, c1: 1n });
    const rhs = Fp2.add(Fp2.pow(x, 3n), b);
    let y: ReturnType<typeof Fp2.sqrt>;
    try {
      y = Fp2.sqrt(rhs);
    } catch {
      continue;
    }
    assert.ok(Fp2.eql(Fp2.sqr(y), rhs), 'on the twist');
    if (bls12_381.G2.Point.fromAffine({ x, y }).isTorsionFree()) continue;
    return compressed(Uint8Array.from([...be48(x.c1), ...be48(x.c0)]));
  }
}

describe('wasmBlsVerify', () => {
  test('IC mainnet: the standalone vector, and a certificate with its NNS delegation through Certificate.create', async () => {
    assert.equal(await wasmBlsVerify(HELLO_KEY, HELLO_SIGNATURE, new TextEncoder().encode('hello')), true);
    assert.equal(await wasmBlsVerify(HELLO_KEY, HELLO_SIGNATURE, new TextEncoder().encode('hallo')), false);

    let calls = 0;
    const counted = async (pk: Uint8Array, sig: Uint8Array, msg: Uint8Array) => {
      calls++;
      return wasmBlsVerify(pk, sig, msg);
    };
    const options = { rootKey: IC_ROOT_KEY, canisterId: Principal.fromText('ivg37-qiaaa-aaaab-aaaga-cai'), blsVerify: counted, disableTimeVerification: true };
    await Certificate.create({ certificate: MAINNET_CERTIFICATE, ...options });
    assert.equal(calls, 2, "the delegation's signature and the certificate's");

    const forged = Cbor.decode<Cert>(MAINNET_CERTIFICATE);
    forged.signature = Uint8Array.from(forged.signature);
    forged.signature[20]! ^= 4;
    await assert.rejects(Certificate.create({ certificate: Cbor.encode(forged), ...options }), /signature verification failed/i);
  });

  test('the same verdicts as the agent on valid and changed signatures', async () => {
    const keys = [0, 1].map(() => {
      const secret = bls12_381.utils.randomPrivateKey();
      return { secret, pk: bls12_381.shortSignatures.getPublicKey(secret).toBytes(true) };
    });
    const sign = (msg: Uint8Array, secret: Uint8Array) => bls12_381.shortSignatures.sign(bls12_381.shortSignatures.hash(msg), secret).toBytes(true);
    const [a, b] = keys as [(typeof keys)[0], (typeof keys)[0]];
    const cases: Array<[string, Uint8Array, Uint8Array, Uint8Array, boolean]> = [];
    for (const msg of [new Uint8Array(0), new TextEncoder().encode('\x0dic-state-root'), randomBytes(32), randomBytes(10_000)]) {
      const sig = sign(msg, a.secret);
      cases.push([`valid, ${msg.length}-byte message`, a.pk, sig, msg, true]);
      if (msg.length) {
        const changed = Uint8Array.from(msg);
        changed[msg.length - 1]! ^= 1;
        cases.push([`message changed, ${msg.length} bytes`, a.pk, sig, changed, false]);
      }
      cases.push([`another key, ${msg.length}-byte message`, b.pk, sig, msg, false]);
    }
    const msg = randomBytes(32);
    cases.push(['the signature of another message', a.pk, sign(randomBytes(32), a.secret), msg, false]);
    for (const byte of [1, 20, 47]) {
      const sig = sign(msg, a.secret);
      sig[byte]! ^= 0x10;
      cases.push([`signature byte ${byte} changed`, a.pk, sig, msg, false]);
    }
    for (const [name, pk, sig, m, expected] of cases) {
      assert.equal(agentVerdict(pk, sig, m), expected, `the agent: ${name}`);
      assert.equal(await wasmBlsVerify(pk, sig, m), expected, name);
    }
  });

  test('malformed keys and signatures are refused, as by the agent', async () => {
    const secret = bls12_381.utils.randomPrivateKey();
    const pk = bls12_381.shortSignatures.getPublicKey(secret).toBytes(true);
    const msg = randomBytes(32);
    const sig = bls12_381.shortSignatures.sign(bls12_381.shortSignatures.hash(msg), secret).toBytes(true);
    const identityG1 = new Uint8Array(48);
    identityG1[0] = 0xc0;
    const identityG2 = new Uint8Array(96);
    identityG2[0] = 0xc0;
    const offSubgroup = g1OffSubgroup();
    const smallOrder = offSubgroup.multiplyUnsafe(bls12_381.fields.Fr.ORDER - 1n).add(offSubgroup);
    assert.ok(!smallOrder.is0());
    const uncompressedFlag = Uint8Array.from(sig);
    uncompressedFlag[0]! &= 0x7f;
    const xTooLarge = compressed(be48(Fp.ORDER + 1n));
    const cases: Array<[string, Uint8Array, Uint8Array]> = [
      ['signature one byte short', pk, sig.subarray(0, 47)],
      ['signature one byte long', pk, Uint8Array.from([...sig, 0])],
      ['key one byte short', pk.subarray(0, 95), sig],
      ['all-zero signature', pk, new Uint8Array(48)],
      ['signature at infinity', pk, identityG1],
      ['key at infinity', identityG2, sig],
      ['signature without the compression flag', pk, uncompressedFlag],
      ['signature x not below p', pk, xTooLarge],
      ['signature on the curve, outside the subgroup', pk, g1Compressed(g1OffSubgroup())],
      // r·P has an order dividing the cofactor: it vanishes in the pairing, so only the subgroup
      // check tells this from the valid signature.
      ['the valid signature plus a point of small order', pk, g1Compressed(bls12_381.shortSignatures.Signature.fromBytes(sig).add(smallOrder))],
      ['key on the twist, outside the subgroup', g2OffSubgroup(), sig],
    ];
    for (const [name, k, s] of cases) {
      assert.equal(agentVerdict(k, s, msg), false, `the agent: ${name}`);
      assert.equal(await wasmBlsVerify(k, s, msg), false, name);
    }
    assert.equal(await wasmBlsVerify(pk, sig, msg), true, 'and the well-formed pair still verifies');
  });

  test('where WebAssembly cannot run (node --jitless), the agent\'s own check gives the verdicts', () => {
    const module = new URL('../src/ic/bls-wasm.ts', import.meta.url).href;
    const script = `
      import { wasmBlsVerify } from ${JSON.stringify(module)};
      const hex = (s) => Uint8Array.from(Buffer.from(s, 'hex'));
      const key = hex(${JSON.stringify(Buffer.from(HELLO_KEY).toString('hex'))});
      const sig = hex(${JSON.stringify(Buffer.from(HELLO_SIGNATURE).toString('hex'))});
      console.log(JSON.stringify({
        wasm: typeof WebAssembly,
        hello: await wasmBlsVerify(key, sig, new TextEncoder().encode('hello')),
        hallo: await wasmBlsVerify(key, sig, new TextEncoder().encode('hallo')),
      }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['--jitless', '--no-warnings', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as { wasm: string; hello: boolean; hallo: boolean };
    assert.deepEqual(out, { wasm: 'undefined', hello: true, hallo: false });
  });

  test('more keys than it keeps lines for, in turn, all still verify', async () => {
    const keys = Array.from({ length: 6 }, () => bls12_381.utils.randomPrivateKey());
    for (let round = 0; round < 2; round++) {
      for (const secret of keys) {
        const msg = randomBytes(16);
        const sig = bls12_381.shortSignatures.sign(bls12_381.shortSignatures.hash(msg), secret).toBytes(true);
        const pk = bls12_381.shortSignatures.getPublicKey(secret).toBytes(true);
        assert.equal(await wasmBlsVerify(pk, sig, msg), true);
        assert.equal(await wasmBlsVerify(pk, sig, randomBytes(16)), false);
      }
    }
  });
});
