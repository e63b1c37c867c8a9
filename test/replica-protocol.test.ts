// The HTTP interface as the agent experiences it: v2 call + read_state polling, certificate and
// query-signature verification, read_state paths, effective canister id rules, request
// authentication, clock skew, and the ingress size limit.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AnonymousIdentity, CanisterStatus, HttpAgent, SignIdentity, type PublicKey, type Signature } from '@dfinity/agent';
import { IDL } from '@dfinity/candid';
import { ICManagementCanister } from '@dfinity/ic-management';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { Principal } from '@dfinity/principal';
import { startReplica, type RunningReplica } from '../src/testing/index.js';

const canisterIdArg = (canisterId: Principal): Uint8Array => IDL.encode([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: canisterId }]);

/**
 * The agent's error code, matched by name: @dfinity/ic-management loads the agent's CommonJS
 * build while this ESM test loads the ESM build, so `instanceof` across them is unreliable.
 */
function agentErrorCode(error: unknown, name: string): Record<string, unknown> {
  const code = (error as { cause?: { code?: { name?: unknown } } }).cause?.code;
  assert.equal(code?.name, name, `expected ${name}, got ${String(error)}`);
  return code as Record<string, unknown>;
}

function httpError(error: unknown): { status: number; bodyText: string } {
  const code = agentErrorCode(error, 'HttpErrorCode');
  return { status: code['status'] as number, bodyText: String(code['bodyText'] ?? '') };
}

describe('replica HTTP interface', () => {
  let replica: RunningReplica;
  let canisterId: Principal;
  const identity = Ed25519KeyIdentity.generate();

  before(async () => {
    replica = await startReplica();
    canisterId = replica.createCanister({ controllers: [identity.getPrincipal()], heap: { bytes: 4 * 65536 } });
  });

  after(async () => {
    await replica.stop();
  });

  test('without /api/v3 the agent falls back to v2 call and polls read_state', async () => {
    replica.faults.disableSyncCalls();
    try {
      const agent = await HttpAgent.create({ host: replica.url, identity, shouldFetchRootKey: true });
      const ic = ICManagementCanister.create({ agent });
      const before = replica.requestCounts();
      const status = await ic.canisterStatus(canisterId);
      assert.deepEqual(status.status, { running: null });
      const snapshot = await ic.takeCanisterSnapshot({ canisterId });
      assert.equal(replica.canister(canisterId).findSnapshot(snapshot.id)?.source, 'taken_from_canister');
      const counts = replica.requestCounts();
      assert.equal(counts['call-v3'] - before['call-v3'], 2, 'each call tried v3 first and got 404');
      assert.equal(counts['call-v2'] - before['call-v2'], 2);
      assert.ok(counts.read_state - before.read_state >= 2, 'the results came from read_state polling');
    } finally {
      replica.faults.disableSyncCalls(false);
    }
  });

  test('certificates are verified: an agent with another root key refuses the replies', async () => {
    const other = await startReplica();
    try {
      const agent = await HttpAgent.create({ host: replica.url, identity, rootKey: other.rootKey });
      const ic = ICManagementCanister.create({ agent });
      await assert.rejects(ic.canisterStatus(canisterId), (error: unknown) => {
        assert.equal((error as Error).name, 'TrustError');
        agentErrorCode(error, 'CertificateVerificationErrorCode');
        return true;
      });
    } finally {
      await other.stop();
    }
  });

  test('queries are signed by the node and verified by the agent', async () => {
    const agent = await HttpAgent.create({ host: replica.url, identity, shouldFetchRootKey: true });
    const before = replica.requestCounts();
    const replied = await agent.query(Principal.managementCanister(), {
      methodName: 'canister_status',
      arg: canisterIdArg(canisterId),
      effectiveCanisterId: canisterId,
    });
    assert.equal(replied.status, 'replied');
    assert.equal(replied.signatures?.length, 1);
    assert.ok(replica.requestCounts().read_state > before.read_state, 'the agent fetched the node keys');

    const stranger = await HttpAgent.create({ host: replica.url, identity: Ed25519KeyIdentity.generate(), shouldFetchRootKey: true });
    const rejected = await stranger.query(Principal.managementCanister(), {
      methodName: 'canister_status',
      arg: canisterIdArg(canisterId),
      effectiveCanisterId: canisterId,
    });
    assert.equal(rejected.status, 'rejected');
    assert.ok(rejected.status === 'rejected' && rejected.reject_code === 5 && rejected.error_code === 'IC0512');
  });

  test('read_state certifies time, subnet keys, controllers and module hash for anyone', async () => {
    const agent = await HttpAgent.create({ host: replica.url, identity: new AnonymousIdentity(), shouldFetchRootKey: true });
    const status = await CanisterStatus.request({ canisterId, agent, paths: ['time', 'controllers', 'module_hash', 'subnet'] });
    assert.ok(Math.abs((status.get('time') as Date).getTime() - Date.now()) < 60_000);
    assert.deepEqual((status.get('controllers') as Principal[]).map((p) => p.toText()), [identity.getPrincipal().toText()]);
    assert.equal(status.get('module_hash'), replica.canister(canisterId).moduleHash!.toString('hex'));
    const subnet = status.get('subnet') as CanisterStatus.SubnetStatus;
    assert.equal(subnet.subnetId, replica.subnetId.toText());
    assert.equal(subnet.nodeKeys.size, 1);
  });

  test('aaaaa-aa as effective canister id is refused as the boundary node does', async () => {
    const agent = await HttpAgent.create({ host: replica.url, identity, shouldFetchRootKey: true, retryTimes: 0 });
    const management = Principal.managementCanister();
    await assert.rejects(
      agent.call(management, { methodName: 'canister_status', arg: canisterIdArg(canisterId), effectiveCanisterId: management }),
      (error: unknown) => {
        const http = httpError(error);
        assert.equal(http.status, 400);
        assert.match(http.bodyText, /canister_not_found/);
        return true;
      },
    );
    const otherCanister = replica.createCanister({ controllers: [identity.getPrincipal()] });
    await assert.rejects(
      agent.call(management, { methodName: 'canister_status', arg: canisterIdArg(canisterId), effectiveCanisterId: otherCanister }),
      (error: unknown) => {
        assert.equal(httpError(error).status, 400);
        return true;
      },
    );
  });

  test('requests signed with a key that is not the sender’s are refused', async () => {
    const signer = Ed25519KeyIdentity.generate();
    const claimed = Ed25519KeyIdentity.generate();
    // Claims the public key (and so the principal) of one identity but signs with another.
    class ImpostorIdentity extends SignIdentity {
      getPublicKey(): PublicKey {
        return claimed.getPublicKey();
      }
      sign(blob: Uint8Array): Promise<Signature> {
        return signer.sign(blob);
      }
    }
    replica.canister(canisterId).setControllers([identity.getPrincipal(), claimed.getPrincipal()]);
    const agent = await HttpAgent.create({ host: replica.url, identity: new ImpostorIdentity(), shouldFetchRootKey: true, retryTimes: 0 });
    await assert.rejects(ICManagementCanister.create({ agent }).canisterStatus(canisterId), (error: unknown) => {
      const http = httpError(error);
      assert.equal(http.status, 400);
      assert.match(http.bodyText, /Failed to authenticate request 0x[0-9a-f]+ due to: invalid signature/);
      return true;
    });
    replica.canister(canisterId).setControllers([identity.getPrincipal()]);
  });

  test('a replica clock three minutes ahead is within the certificate and expiry windows', async () => {
    // Much further off, every ingress_expiry falls outside the replica's window, including the
    // read_state calls @dfinity/agent 3.4.3 makes to sync its clock; that agent then retries the
    // call forever (CanisterStatus.request swallows the sync failure). Not exercised here.
    replica.faults.skewClock(3 * 60_000);
    try {
      const agent = await HttpAgent.create({ host: replica.url, identity, shouldFetchRootKey: true });
      const status = await ICManagementCanister.create({ agent }).canisterStatus(canisterId);
      assert.deepEqual(status.status, { running: null });
    } finally {
      replica.faults.skewClock(0);
    }
  });

  test('a call above the 2 MiB ingress limit gets 413', async () => {
    const agent = await HttpAgent.create({ host: replica.url, identity, shouldFetchRootKey: true, retryTimes: 0 });
    const ic = ICManagementCanister.create({ agent });
    const { snapshot_id } = await ic.uploadCanisterSnapshotMetadata({
      canisterId,
      metadata: {
        globals: [{ i32: 1 }, { i64: 2n }],
        certifiedData: new Uint8Array(0),
        wasmModuleSize: 3_000_000n,
        wasmMemorySize: 0n,
        stableMemorySize: 0n,
      },
    });
    await assert.rejects(
      ic.uploadCanisterSnapshotData({ canisterId, snapshotId: snapshot_id, kind: { wasmModule: { offset: 0n } }, chunk: new Uint8Array(2_200_000) }),
      (error: unknown) => {
        assert.equal(httpError(error).status, 413);
        return true;
      },
    );
  });
});
