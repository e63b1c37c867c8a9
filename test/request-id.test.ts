// Request ids hashed with node:crypto (src/ic/request-id.ts) and the identity that signs with
// them (src/ic/signing-identity.ts): the same ids as the agent's requestIdOf for every kind of
// value a request holds, the same signed envelopes as the wrapped identity's own, and uploads the
// replica emulator authenticates with the agent's requestIdOf.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { AnonymousIdentity, Expiry, requestIdOf as agentRequestIdOf, SubmitRequestType, type HttpAgentRequest } from '@dfinity/agent';
import { DelegationChain, DelegationIdentity, Ed25519KeyIdentity } from '@dfinity/identity';
import { Secp256k1KeyIdentity } from '@dfinity/identity-secp256k1';
import { Principal } from '@dfinity/principal';
import { CanisterManagement } from '../src/ic/management.js';
import { resolveNetwork } from '../src/ic/network.js';
import { requestIdOf } from '../src/ic/request-id.js';
import { NodeHashingIdentity, withNodeRequestIds } from '../src/ic/signing-identity.js';
import { startReplica, type RunningReplica } from '../src/testing/index.js';

const canister = Principal.fromText('ryjl3-tyaaa-aaaaa-aaaba-cai');
const callContent = (arg: Uint8Array, nonce?: Uint8Array) => ({
  request_type: SubmitRequestType.Call,
  canister_id: canister,
  method_name: 'upload_canister_snapshot_data',
  arg,
  sender: Ed25519KeyIdentity.generate().getPrincipal(),
  ingress_expiry: Expiry.fromDeltaInMilliseconds(4 * 60_000),
  ...(nonce ? { nonce } : {}),
});

describe('requestIdOf (node:crypto)', () => {
  test('the same ids as the agent for calls, read_state and nested values', () => {
    const contents: Array<Record<string, unknown>> = [
      callContent(randomBytes(2_000_000)),
      callContent(new Uint8Array(0), randomBytes(16)),
      callContent(Buffer.from(randomBytes(300)).subarray(7, 200)),
      { request_type: 'read_state', paths: [[new TextEncoder().encode('request_status'), randomBytes(32)], [new TextEncoder().encode('time')]], sender: Principal.anonymous(), ingress_expiry: Expiry.fromDeltaInMilliseconds(60_000) },
      { a: 0, b: 127, c: 128, d: 2n ** 64n + 5n, e: 'text ✓', f: [], g: [1, 'two', [randomBytes(3)]], h: { nested: { deeper: 1n } }, skipped: undefined },
      {},
    ];
    for (const content of contents) {
      assert.deepEqual(Buffer.from(requestIdOf(content)), Buffer.from(agentRequestIdOf(content)));
    }
  });

  test('any change to the argument changes the id', () => {
    const arg = randomBytes(100_000);
    const content = callContent(arg);
    const id = Buffer.from(requestIdOf(content));
    arg[50_000]! ^= 1;
    assert.notDeepEqual(Buffer.from(requestIdOf(content)), id);
  });

  test('values a request cannot hold are refused', () => {
    assert.throws(() => requestIdOf({ f: () => 1 }), /cannot hold a function/);
    assert.throws(() => requestIdOf({ n: -1 }), /negative/);
  });
});

describe('NodeHashingIdentity', () => {
  const request = (): HttpAgentRequest =>
    ({ request: { method: 'POST', headers: {} }, endpoint: 'call', body: callContent(randomBytes(50_000), randomBytes(16)) }) as unknown as HttpAgentRequest;

  test('signs the same envelope as the identity it wraps (Ed25519 and secp256k1)', async () => {
    for (const inner of [Ed25519KeyIdentity.generate(), Secp256k1KeyIdentity.generate()]) {
      const wrapped = withNodeRequestIds(inner);
      assert.ok(wrapped instanceof NodeHashingIdentity);
      assert.equal(wrapped.getPrincipal().toText(), inner.getPrincipal().toText());
      const r = request();
      assert.deepEqual(await wrapped.transformRequest(r), await inner.transformRequest(r));
    }
  });

  test('identities that build their envelopes otherwise are left alone', async () => {
    const anonymous = new AnonymousIdentity();
    assert.equal(withNodeRequestIds(anonymous), anonymous);
    const root = Ed25519KeyIdentity.generate();
    const session = Ed25519KeyIdentity.generate();
    const chain = await DelegationChain.create(root, session.getPublicKey(), new Date(Date.now() + 60_000));
    const delegated = DelegationIdentity.fromDelegation(session, chain);
    assert.equal(withNodeRequestIds(delegated), delegated);
  });
});

describe('uploads signed with node:crypto request ids, authenticated by the emulator', () => {
  let replica: RunningReplica;
  before(async () => {
    replica = await startReplica();
  });
  after(async () => {
    await replica.stop();
  });

  for (const identity of [Ed25519KeyIdentity.generate(), Secp256k1KeyIdentity.generate()]) {
    test(`${identity.constructor.name}: a snapshot upload and read-back round-trip`, async () => {
      const management = await CanisterManagement.connect({ network: resolveNetwork(replica.url), identity });
      const canisterId = replica.createCanister({ controllers: [identity.getPrincipal()], heap: { bytes: 4 * 65536, content: 'canister-like' } }).toText();
      const taken = await management.takeSnapshot(canisterId);
      const metadata = await management.readMetadata(canisterId, taken.id);
      const target = await management.uploadMetadata(canisterId, metadata);
      const bytes = randomBytes(2_000_000);
      await management.uploadSlice(canisterId, target, 'wasmMemory', 0, bytes.subarray(0, 4 * 65536));
      assert.ok((await management.readSlice(canisterId, target, 'wasmMemory', 0, 4 * 65536)).equals(bytes.subarray(0, 4 * 65536)));
    });
  }
});
