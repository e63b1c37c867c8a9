// verifyCertifiedReply (src/ic/certified-reply.ts): real update-call certificates from the replica
// emulator, over HTTP with the real agent. The reply comes back only if the certificate verifies
// with the reply's leaf pruned to its node:crypto hash; a changed reply, a changed status or a
// foreign root key fails it, as with the agent's own `Certificate.create`.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  Cbor,
  Certificate,
  HttpAgent,
  isV3ResponseBody,
  lookupResultToBuffer,
  lookup_subtree,
  LookupSubtreeStatus,
  NodeType,
  reconstruct,
  type Cert,
  type HashTree,
  type NodeValue,
  type RequestId,
} from '@dfinity/agent';
import { IDL } from '@dfinity/candid';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { Principal } from '@dfinity/principal';
import { leafHash, verifyCertifiedReply } from '../src/ic/certified-reply.js';
import { CanisterManagement } from '../src/ic/management.js';
import { resolveNetwork } from '../src/ic/network.js';
import { startReplica, type RunningReplica } from '../src/testing/index.js';

const identity = Ed25519KeyIdentity.generate();
const READ_ARGS = IDL.Record({
  canister_id: IDL.Principal,
  snapshot_id: IDL.Vec(IDL.Nat8),
  kind: IDL.Variant({ wasm_memory: IDL.Record({ offset: IDL.Nat64, size: IDL.Nat64 }) }),
});
const utf8 = (s: string) => new TextEncoder().encode(s);

/** `tree` with every leaf at `path` passed through `change`. */
function changeLeaf(tree: HashTree, path: Array<Uint8Array | string>, change: (value: Uint8Array) => Uint8Array): HashTree {
  const found = lookup_subtree(path, tree);
  assert.equal(found.status, LookupSubtreeStatus.Found);
  const target = (found as { value: HashTree }).value;
  const walk = (t: HashTree): HashTree => {
    if (t === target) return [NodeType.Leaf, change((t as [NodeType.Leaf, Uint8Array])[1]) as NodeValue];
    if (t[0] === NodeType.Fork) return [NodeType.Fork, walk(t[1]), walk(t[2])];
    if (t[0] === NodeType.Labeled) return [NodeType.Labeled, t[1], walk(t[2])];
    return t;
  };
  return walk(tree);
}

for (const nnsDelegation of [false, true]) {
  describe(`verifyCertifiedReply${nnsDelegation ? ' (certificates with an NNS delegation)' : ''}`, () => {
    let replica: RunningReplica;
    let agent: HttpAgent;
    let target: Principal;
    let snapshotId: Uint8Array;

    before(async () => {
      replica = await startReplica({ nnsDelegation });
      agent = await HttpAgent.create({ host: replica.url, identity, shouldFetchRootKey: true });
      target = replica.createCanister({ controllers: [identity.getPrincipal()], heap: { bytes: 3 * 1024 * 1024, content: 'canister-like' }, stable: randomBytes(65536) });
      const management = await CanisterManagement.connect({ network: resolveNetwork(replica.url), identity });
      snapshotId = (await management.takeSnapshot(target.toText())).id;
    });
    after(async () => {
      await replica.stop();
    });

    /** A real read_canister_snapshot_data call: its certificate and the path of its reply. */
    async function readCall(offset: number, size: number, snapshot = snapshotId): Promise<{ certificate: Uint8Array; requestId: RequestId; replyPath: Array<Uint8Array | string> }> {
      const arg = IDL.encode([READ_ARGS], [{ canister_id: target, snapshot_id: snapshot, kind: { wasm_memory: { offset: BigInt(offset), size: BigInt(size) } } }]);
      const { requestId, response } = await agent.call(Principal.managementCanister(), { methodName: 'read_canister_snapshot_data', arg, effectiveCanisterId: target });
      assert.ok(isV3ResponseBody(response.body), 'the emulator answers synchronously with a certificate');
      return { certificate: response.body.certificate, requestId, replyPath: [utf8('request_status'), requestId, 'reply'] };
    }
    const verify = (certificate: Uint8Array, replyPath: Array<Uint8Array | string>) => verifyCertifiedReply({ certificate, rootKey: agent.rootKey!, canisterId: target, replyPath, agent });

    test('returns the same reply, status and root as the agent verifying the whole certificate', async () => {
      const call = await readCall(0, 2_000_000);
      const ours = await verify(call.certificate, call.replyPath);
      const theirs = await Certificate.create({ certificate: call.certificate, rootKey: agent.rootKey!, canisterId: target, agent });
      const expected = lookupResultToBuffer(theirs.lookup_path(call.replyPath))!;
      assert.ok(expected.length > 2_000_000);
      assert.ok(ours.reply && Buffer.from(ours.reply).equals(Buffer.from(expected)));
      const statusPath = [utf8('request_status'), call.requestId, 'status'];
      assert.equal(new TextDecoder().decode(lookupResultToBuffer(ours.certificate.lookup_path(statusPath))), 'replied');
      // The pruned tree the agent checked has the root the subnet signed.
      const prunedTree = (ours.certificate as unknown as { cert: Cert }).cert.tree;
      assert.deepEqual(await reconstruct(prunedTree), await reconstruct((Cbor.decode(call.certificate) as Cert).tree));
      const leaf = lookup_subtree(call.replyPath, prunedTree) as { value: HashTree };
      assert.equal(leaf.value[0], NodeType.Pruned, 'the reply leaf was pruned');
    });

    test('leafHash is the hash a leaf contributes to the root, as the agent computes it', async () => {
      for (const value of [new Uint8Array(0), utf8('replied'), randomBytes(100_000)]) {
        assert.deepEqual(Buffer.from(leafHash(value)), Buffer.from(await reconstruct([NodeType.Leaf, value as NodeValue])));
      }
    });

    test('a reply changed by one bit, cut short or grown fails verification', async () => {
      const call = await readCall(1000, 50_000);
      const changes: Array<(v: Uint8Array) => Uint8Array> = [
        (v) => {
          const copy = Uint8Array.from(v);
          copy[copy.length - 7]! ^= 1;
          return copy;
        },
        (v) => v.subarray(0, v.length - 1),
        (v) => Buffer.concat([v, Buffer.from([0])]),
      ];
      for (const change of changes) {
        const cert = Cbor.decode<Cert>(call.certificate);
        const forged = Cbor.encode({ ...cert, tree: changeLeaf(cert.tree, call.replyPath, change) });
        await assert.rejects(verify(forged, call.replyPath), (error: Error) => /signature verification failed|Invalid certificate/i.test(error.message), 'a changed reply is refused');
      }
    });

    test('a changed status fails verification too (only the reply leaf is pruned)', async () => {
      const call = await readCall(0, 1000);
      const cert = Cbor.decode<Cert>(call.certificate);
      const statusPath = [utf8('request_status'), call.requestId, 'status'];
      const forged = Cbor.encode({ ...cert, tree: changeLeaf(cert.tree, statusPath, () => utf8('rejected')) });
      await assert.rejects(verify(forged, call.replyPath), /signature verification failed|Invalid certificate/i);
    });

    test('a certificate for a foreign root key is refused', async () => {
      const call = await readCall(0, 1000);
      const foreign = await startReplica({ nnsDelegation });
      try {
        const foreignAgent = await HttpAgent.create({ host: foreign.url, identity, shouldFetchRootKey: true });
        await assert.rejects(verifyCertifiedReply({ certificate: call.certificate, rootKey: foreignAgent.rootKey!, canisterId: target, replyPath: call.replyPath, agent: foreignAgent }));
      } finally {
        await foreign.stop();
      }
    });

    test('a rejected call has no reply; its certificate still verifies', async () => {
      const call = await readCall(0, 1000, Uint8Array.from([1, 2, 3]));
      const { certificate, reply } = await verify(call.certificate, call.replyPath);
      assert.equal(reply, undefined);
      assert.equal(new TextDecoder().decode(lookupResultToBuffer(certificate.lookup_path([utf8('request_status'), call.requestId, 'status']))), 'rejected');
    });
  });
}
