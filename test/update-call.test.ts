// Snapshot reads through managementUpdate (src/ic/update-call.ts) and decodeBlobField
// (src/ic/blob-reply.ts), against the replica emulator over HTTP with the real agent: the same
// bytes as the ic-management actor reads, the 202 → polling path, certified rejects in the
// agent's error shape, retries, and a certificate that does not verify.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { HttpAgent } from '@dfinity/agent';
import { IDL } from '@dfinity/candid';
import { ICManagementCanister } from '@dfinity/ic-management';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { Principal } from '@dfinity/principal';
import { AgentvaultError } from '../src/errors.js';
import { CanisterManagement } from '../src/ic/management.js';
import { resolveNetwork } from '../src/ic/network.js';
import { managementUpdate } from '../src/ic/update-call.js';
import { startReplica, type RunningReplica } from '../src/testing/index.js';

const identity = Ed25519KeyIdentity.generate();
const READ_ARGS = IDL.Record({
  canister_id: IDL.Principal,
  snapshot_id: IDL.Vec(IDL.Nat8),
  kind: IDL.Variant({ wasm_memory: IDL.Record({ offset: IDL.Nat64, size: IDL.Nat64 }) }),
});

describe('snapshot reads through managementUpdate', () => {
  let replica: RunningReplica;
  let management: CanisterManagement;
  let actor: ICManagementCanister;

  before(async () => {
    replica = await startReplica({ syncCallTimeoutMs: 150 });
    management = await CanisterManagement.connect({ network: resolveNetwork(replica.url), identity, retryDelayMs: 10 });
    actor = ICManagementCanister.create({ agent: await HttpAgent.create({ host: replica.url, identity, shouldFetchRootKey: true }) });
  });
  after(async () => {
    await replica.stop();
  });

  const canisterWith = (chunks: Uint8Array[] = []) =>
    replica.createCanister({ controllers: [identity.getPrincipal()], heap: { bytes: 3 * 1024 * 1024, content: 'canister-like' }, stable: randomBytes(2 * 65536), chunks }).toText();

  test('every region and a wasm chunk: the same bytes as the ic-management actor reads', async () => {
    const chunk = randomBytes(4096);
    const canisterId = canisterWith([chunk]);
    const snapshot = await management.takeSnapshot(canisterId);
    const principal = Principal.fromText(canisterId);
    const ranges: Array<['wasmMemory' | 'stableMemory' | 'wasmModule', number, number]> = [
      ['wasmMemory', 0, 2_000_000],
      ['wasmMemory', 2_000_000, 3 * 1024 * 1024 - 2_000_000],
      ['stableMemory', 1000, 69_000],
      ['wasmModule', 0, 100],
      ['wasmMemory', 5, 0],
    ];
    for (const [region, offset, size] of ranges) {
      const ours = await management.readSlice(canisterId, snapshot.id, region, offset, size);
      const kind = { [region]: { offset: BigInt(offset), size: BigInt(size) } } as { wasmMemory: { offset: bigint; size: bigint } };
      const theirs = (await actor.readCanisterSnapshotData({ canisterId: principal, snapshotId: snapshot.id, kind })).chunk;
      assert.ok(ours.equals(Buffer.from(theirs)), `${region} ${offset}+${size}`);
      assert.equal(ours.length, size);
    }
    const hash = (await actor.readCanisterSnapshotMetadata({ canisterId: principal, snapshotId: snapshot.id })).wasmChunkStore[0]!.hash;
    assert.ok((await management.readWasmChunk(canisterId, snapshot.id, Uint8Array.from(hash))).equals(chunk));
  });

  test('a reply slower than the sync timeout comes back through polling, verified', async () => {
    const canisterId = canisterWith();
    const snapshot = await management.takeSnapshot(canisterId);
    const before = replica.requestCounts();
    replica.faults.slowReplies(300, { method: 'read_canister_snapshot_data' });
    try {
      const slice = await management.readSlice(canisterId, snapshot.id, 'wasmMemory', 0, 1000);
      assert.equal(slice.length, 1000);
    } finally {
      replica.faults.clear();
    }
    assert.ok(replica.requestCounts().read_state > before.read_state, 'polled through read_state');
  });

  test('a certified reject has the agent’s error shape; transient ones are retried', async () => {
    const canisterId = canisterWith();
    const snapshot = await management.takeSnapshot(canisterId);
    const arg = IDL.encode([READ_ARGS], [{ canister_id: Principal.fromText(canisterId), snapshot_id: snapshot.id, kind: { wasm_memory: { offset: 0n, size: 10n } } }]);
    replica.faults.failTransiently('read_canister_snapshot_data', 1, 'reject');
    await assert.rejects(managementUpdate(management.agent, Principal.fromText(canisterId), 'read_canister_snapshot_data', arg), (err: unknown) => {
      const code = (err as { name?: string; cause?: { code?: Record<string, unknown> } }).cause?.code;
      assert.equal((err as Error).name, 'RejectError');
      assert.equal(code?.['rejectCode'], 2);
      assert.equal(code?.['rejectErrorCode'], 'IC0210');
      return true;
    });
    replica.faults.failTransiently('read_canister_snapshot_data', 2, 'reject');
    assert.equal((await management.readSlice(canisterId, snapshot.id, 'wasmMemory', 0, 10)).length, 10);
  });

  test('a snapshot that does not exist → REJECTED naming the method', async () => {
    const canisterId = canisterWith();
    await assert.rejects(management.readSlice(canisterId, new Uint8Array(16), 'wasmMemory', 0, 10), (err: unknown) => {
      assert.ok(err instanceof AgentvaultError, String(err));
      assert.equal(err.code, 'REJECTED');
      assert.match(err.message, /read_canister_snapshot_data on canister/);
      return true;
    });
  });

  test('a certificate signed by another root key does not verify → NETWORK', async () => {
    const canisterId = canisterWith();
    const snapshot = await management.takeSnapshot(canisterId);
    const other = await startReplica();
    try {
      const foreignKey = (await HttpAgent.create({ host: other.url, shouldFetchRootKey: true })).rootKey!;
      const agent = await HttpAgent.create({ host: replica.url, identity, rootKey: foreignKey, shouldFetchRootKey: false });
      const arg = IDL.encode([READ_ARGS], [{ canister_id: Principal.fromText(canisterId), snapshot_id: snapshot.id, kind: { wasm_memory: { offset: 0n, size: 10n } } }]);
      await assert.rejects(managementUpdate(agent, Principal.fromText(canisterId), 'read_canister_snapshot_data', arg), (err: unknown) => (err as Error).name === 'TrustError');
    } finally {
      await other.stop();
    }
  });
});

describe('a subnet whose certificates carry an NNS delegation, as on mainnet', () => {
  let replica: RunningReplica;
  before(async () => {
    replica = await startReplica({ nnsDelegation: true });
  });
  after(async () => {
    await replica.stop();
  });

  test('reads verify through the delegation; its signature is checked once, each reply’s every time', async () => {
    const management = await CanisterManagement.connect({ network: resolveNetwork(replica.url), identity });
    const canisterId = replica.createCanister({ controllers: [identity.getPrincipal()], heap: { bytes: 65536 * 4, content: 'canister-like' } }).toText();
    const snapshot = await management.takeSnapshot(canisterId);
    const actor = ICManagementCanister.create({ agent: management.agent });
    for (let i = 0; i < 3; i++) {
      const ours = await management.readSlice(canisterId, snapshot.id, 'wasmMemory', i * 65536, 65536);
      const kind = { wasmMemory: { offset: BigInt(i * 65536), size: 65536n } };
      const theirs = (await actor.readCanisterSnapshotData({ canisterId: Principal.fromText(canisterId), snapshotId: snapshot.id, kind })).chunk;
      assert.ok(ours.equals(Buffer.from(theirs)));
    }
    assert.deepEqual(management.bls.stats, { computed: 4, remembered: 2 }, 'the delegation once, then each reply');
  });

  test('uploads go the same way: slices uploaded into a new snapshot read back byte for byte', async () => {
    const management = await CanisterManagement.connect({ network: resolveNetwork(replica.url), identity });
    const canisterId = replica.createCanister({ controllers: [identity.getPrincipal()], heap: { bytes: 65536 * 4, content: 'canister-like' } }).toText();
    const taken = await management.takeSnapshot(canisterId);
    const metadata = await management.readMetadata(canisterId, taken.id);
    const uploaded = await management.uploadMetadata(canisterId, metadata);
    const heap = randomBytes(65536 * 4);
    const module = await management.readSlice(canisterId, taken.id, 'wasmModule', 0, Number(metadata.wasmModuleSize));
    await management.uploadSlice(canisterId, uploaded, 'wasmModule', 0, module);
    await management.uploadSlice(canisterId, uploaded, 'wasmMemory', 0, heap.subarray(0, 100_000));
    await management.uploadSlice(canisterId, uploaded, 'wasmMemory', 100_000, heap.subarray(100_000));
    assert.ok((await management.readSlice(canisterId, uploaded, 'wasmMemory', 0, heap.length)).equals(heap));
    const { computed, remembered } = management.bls.stats;
    assert.equal(computed, 1 + 5, 'the delegation once, then each of the five replies');
    assert.equal(remembered, 4);
  });

  test('a foreign root key fails the delegation → TrustError', async () => {
    const canisterId = replica.createCanister({ controllers: [identity.getPrincipal()] });
    const other = await startReplica({ nnsDelegation: true });
    try {
      const foreignKey = (await HttpAgent.create({ host: other.url, shouldFetchRootKey: true })).rootKey!;
      const agent = await HttpAgent.create({ host: replica.url, identity, rootKey: foreignKey, shouldFetchRootKey: false });
      const arg = IDL.encode([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: canisterId }]);
      await assert.rejects(managementUpdate(agent, canisterId, 'canister_status', arg), (err: unknown) => (err as Error).name === 'TrustError');
    } finally {
      await other.stop();
    }
  });
});
