// The fault switches, seen through an unmodified agent: slow replies (and the v3 → 202 → polling
// path they cause), dropped connections before and after execution (request-id dedup), methods
// that fail a few times, and a canister that refuses to stop.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HttpAgent, type HttpAgentOptions } from '@dfinity/agent';
import { ICManagementCanister } from '@dfinity/ic-management';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import type { Principal } from '@dfinity/principal';
import { startReplica, type RunningReplica } from '../src/testing/index.js';

function rejectFields(error: unknown): { rejectCode: unknown; errorCode: unknown; message: unknown } {
  const code = (error as { cause?: { code?: Record<string, unknown> } }).cause?.code;
  assert.ok(code, `expected an agent reject, got ${String(error)}`);
  return { rejectCode: code['rejectCode'], errorCode: code['rejectErrorCode'], message: code['rejectMessage'] };
}

describe('fault switches', () => {
  let replica: RunningReplica;
  let ic: ICManagementCanister;
  const identity = Ed25519KeyIdentity.generate();
  const newCanister = (): Principal => replica.createCanister({ controllers: [identity.getPrincipal()], heap: { bytes: 65536 } });
  // The agent's own retry loop with 20 ms pauses instead of its default 0.5 s exponential backoff.
  const fastRetries: HttpAgentOptions = { retryTimes: 3, backoffStrategy: () => ({ next: () => 20 }) };

  before(async () => {
    // A short stop timeout keeps the refuse-to-stop case fast.
    replica = await startReplica({ stopTimeoutMs: 400 });
    ic = ICManagementCanister.create({ agent: await HttpAgent.create({ host: replica.url, identity, shouldFetchRootKey: true, ...fastRetries }) });
  });

  after(async () => {
    await replica.stop();
  });

  test('slow replies: a call slower than the sync timeout gets 202 and is polled', async () => {
    // The replica answers a v3 call with 202 when it does not finish within its timeout (10 s on
    // the IC); 150 ms here.
    const slow = await startReplica({ syncCallTimeoutMs: 150 });
    try {
      const canisterId = slow.createCanister({ controllers: [identity.getPrincipal()], heap: { bytes: 65536 } });
      const slowIc = ICManagementCanister.create({ agent: await HttpAgent.create({ host: slow.url, identity, shouldFetchRootKey: true }) });
      slow.faults.slowReplies(400, { method: 'take_canister_snapshot' });
      const started = Date.now();
      const snapshot = await slowIc.takeCanisterSnapshot({ canisterId });
      assert.ok(Date.now() - started >= 400);
      assert.ok(slow.canister(canisterId).findSnapshot(snapshot.id));
      const counts = slow.requestCounts();
      assert.equal(counts['call-v3'], 1);
      assert.equal(counts['call-v2'], 0);
      assert.ok(counts.read_state > 0, 'the result was fetched by polling');

      // Other methods are not delayed.
      const fast = Date.now();
      await slowIc.canisterStatus(canisterId);
      assert.ok(Date.now() - fast < 400);
    } finally {
      await slow.stop();
    }
  });

  test('dropped connections are retried by the agent', async () => {
    const canisterId = newCanister();
    const before = replica.requestCounts();
    replica.faults.dropConnections(2);
    const status = await ic.canisterStatus(canisterId);
    assert.deepEqual(status.status, { running: null });
    assert.equal(replica.requestCounts()['call-v3'] - before['call-v3'], 3);
  });

  test('a reply lost after execution: the retry has the same request id and is not executed again', async () => {
    const canisterId = newCanister();
    replica.faults.dropConnections(1, { afterExecution: true });
    const snapshot = await ic.takeCanisterSnapshot({ canisterId });
    const snapshots = replica.canister(canisterId).listSnapshots();
    assert.equal(snapshots.length, 1, 'one snapshot despite two deliveries');
    assert.deepEqual(Buffer.from(snapshots[0]!.id), Buffer.from(snapshot.id));
  });

  test('HTTP 503 twice, then success: invisible behind the agent’s retries', async () => {
    const canisterId = newCanister();
    const before = replica.requestCounts();
    replica.faults.failTransiently('canister_status', 2, 'http-503');
    await ic.canisterStatus(canisterId);
    assert.equal(replica.requestCounts()['call-v3'] - before['call-v3'], 3);
  });

  test('a retryable reject twice, then success: the application sees SYS_TRANSIENT', async () => {
    const canisterId = newCanister();
    const { id: snapshotId } = await ic.takeCanisterSnapshot({ canisterId });
    const read = () => ic.readCanisterSnapshotData({ canisterId, snapshotId, kind: { wasmMemory: { offset: 0n, size: 100n } } });
    replica.faults.failTransiently('read_canister_snapshot_data', 2, 'reject');
    for (let attempt = 0; attempt < 2; attempt++) {
      await assert.rejects(read(), (error: unknown) => {
        const fields = rejectFields(error);
        assert.equal(fields.rejectCode, 2);
        assert.equal(fields.errorCode, 'IC0210');
        assert.match(String(fields.message), /heap delta rate limited/);
        return true;
      });
    }
    assert.equal((await read()).chunk.length, 100);
  });

  test('a canister that refuses to stop stays stopping; the stop times out, completes once allowed', async () => {
    const canisterId = newCanister();
    replica.faults.refuseToStop(canisterId);
    await assert.rejects(ic.stopCanister(canisterId), (error: unknown) => {
      const fields = rejectFields(error);
      assert.equal(fields.rejectCode, 2);
      assert.equal(fields.errorCode, 'IC0206');
      return true;
    });
    assert.deepEqual((await ic.canisterStatus(canisterId)).status, { stopping: null });

    // A second stop waits; lifting the fault lets the canister stop and the call reply.
    const pending = ic.stopCanister(canisterId);
    await new Promise((resolve) => setTimeout(resolve, 100));
    replica.faults.refuseToStop(canisterId, false);
    await pending;
    assert.deepEqual((await ic.canisterStatus(canisterId)).status, { stopped: null });
  });

  test('start_canister cancels a pending stop (IC0511)', async () => {
    const canisterId = newCanister();
    replica.faults.refuseToStop(canisterId);
    try {
      const pending = ic.stopCanister(canisterId);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await ic.startCanister(canisterId);
      await assert.rejects(pending, (error: unknown) => {
        assert.equal(rejectFields(error).errorCode, 'IC0511');
        return true;
      });
      assert.equal(replica.canister(canisterId).status, 'running');
    } finally {
      replica.faults.refuseToStop(canisterId, false);
    }
  });
});
