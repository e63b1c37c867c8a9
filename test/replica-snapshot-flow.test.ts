// The whole snapshot round trip through an unmodified HttpAgent + ICManagementCanister talking to
// the emulator over HTTP (v3 synchronous calls, query signature verification on), once with an
// Ed25519 identity and once with a secp256k1 identity.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createHash } from 'node:crypto';
import { HttpAgent, type SignIdentity } from '@dfinity/agent';
import { ICManagementCanister, type ReadCanisterSnapshotMetadataResponse } from '@dfinity/ic-management';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { Secp256k1KeyIdentity } from '@dfinity/identity-secp256k1';
import type { Principal } from '@dfinity/principal';
import { buildWasmModule, MAX_SNAPSHOT_SLICE_BYTES, startReplica, type RunningReplica } from '../src/testing/index.js';

const SLICE = BigInt(MAX_SNAPSHOT_SLICE_BYTES);
type Region = 'wasmModule' | 'wasmMemory' | 'stableMemory';
type SnapshotId = Uint8Array | number[];

async function readRegion(ic: ICManagementCanister, canisterId: Principal, snapshotId: SnapshotId, region: Region, size: bigint): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let offset = 0n; offset < size; offset += SLICE) {
    const length = size - offset < SLICE ? size - offset : SLICE;
    const kind = { [region]: { offset, size: length } } as { wasmMemory: { offset: bigint; size: bigint } };
    const { chunk } = await ic.readCanisterSnapshotData({ canisterId, snapshotId, kind });
    parts.push(Buffer.from(chunk));
  }
  return Buffer.concat(parts);
}

async function uploadRegion(ic: ICManagementCanister, canisterId: Principal, snapshotId: SnapshotId, region: Region, bytes: Buffer): Promise<void> {
  for (let offset = 0; offset < bytes.length; offset += MAX_SNAPSHOT_SLICE_BYTES) {
    const kind = { [region]: { offset: BigInt(offset) } } as { wasmMemory: { offset: bigint } };
    await ic.uploadCanisterSnapshotData({ canisterId, snapshotId, kind, chunk: bytes.subarray(offset, offset + MAX_SNAPSHOT_SLICE_BYTES) });
  }
}

const identities: Array<[string, () => SignIdentity]> = [
  ['Ed25519', () => Ed25519KeyIdentity.generate()],
  ['secp256k1', () => Secp256k1KeyIdentity.generate()],
];

for (const [kind, makeIdentity] of identities) {
  describe(`snapshot round trip, ${kind} identity`, () => {
    let replica: RunningReplica;
    let ic: ICManagementCanister;
    let canisterId: Principal;
    const identity = makeIdentity();
    // Sizes chosen so that every region needs more than one 2 MB slice and ends in a partial one.
    const module = buildWasmModule({ globals: [{ i32: -7 }, { i64: 1n << 40n }, { f64: 2.5 }, { v128: (1n << 100n) + 5n }], sizeBytes: 2_300_000, seed: kind });
    const chunk = Buffer.alloc(300_000, 7);

    before(async () => {
      replica = await startReplica();
      canisterId = replica.createCanister({
        controllers: [identity.getPrincipal()],
        module,
        heap: { bytes: 64 * 65536, content: 'canister-like', seed: kind },
        stable: { bytes: 40 * 65536, content: 'random', seed: kind },
        certifiedData: Buffer.from('certified!'),
        chunks: [chunk],
      });
      const agent = await HttpAgent.create({ host: replica.url, identity, shouldFetchRootKey: true });
      ic = ICManagementCanister.create({ agent });
    });

    after(async () => {
      await replica.stop();
    });

    test('status → stop → snapshot → read → upload → load → start → list', async () => {
      const canister = replica.canister(canisterId);
      const original = {
        module: Buffer.from(canister.module!),
        heap: Buffer.from(canister.heap),
        stable: Buffer.from(canister.stableMemory),
      };

      const status = await ic.canisterStatus(canisterId);
      assert.deepEqual(status.status, { running: null });
      assert.equal(status.cycles, canister.cycles);
      assert.deepEqual(status.settings.controllers.map((c) => c.toText()), [identity.getPrincipal().toText()]);
      assert.equal(Buffer.from(status.module_hash[0]!).toString('hex'), createHash('sha256').update(module).digest('hex'));

      await ic.stopCanister(canisterId);
      assert.deepEqual((await ic.canisterStatus(canisterId)).status, { stopped: null });

      const taken = await ic.takeCanisterSnapshot({ canisterId });
      assert.equal(taken.id.length, 8 + canisterId.toUint8Array().length);
      assert.deepEqual(Buffer.from(taken.id).subarray(8), Buffer.from(canisterId.toUint8Array()));

      const metadata: ReadCanisterSnapshotMetadataResponse = await ic.readCanisterSnapshotMetadata({ canisterId, snapshotId: taken.id });
      assert.deepEqual(metadata.source, { takenFromCanister: null });
      assert.equal(metadata.wasmModuleSize, BigInt(original.module.length));
      assert.equal(metadata.wasmMemorySize, BigInt(original.heap.length));
      assert.equal(metadata.stableMemorySize, BigInt(original.stable.length));
      assert.deepEqual(metadata.globals, [{ i32: -7 }, { i64: 1n << 40n }, { f64: 2.5 }, { v128: (1n << 100n) + 5n }]);
      assert.deepEqual(Buffer.from(metadata.certifiedData), Buffer.from('certified!'));
      assert.equal(metadata.wasmChunkStore.length, 1);

      const snapshotModule = await readRegion(ic, canisterId, taken.id, 'wasmModule', metadata.wasmModuleSize);
      const snapshotHeap = await readRegion(ic, canisterId, taken.id, 'wasmMemory', metadata.wasmMemorySize);
      const snapshotStable = await readRegion(ic, canisterId, taken.id, 'stableMemory', metadata.stableMemorySize);
      assert.ok(snapshotModule.equals(original.module));
      assert.ok(snapshotHeap.equals(original.heap));
      assert.ok(snapshotStable.equals(original.stable));
      const chunkHash = metadata.wasmChunkStore[0]!.hash;
      const { chunk: chunkBytes } = await ic.readCanisterSnapshotData({ canisterId, snapshotId: taken.id, kind: { wasmChunk: { hash: chunkHash } } });
      assert.ok(Buffer.from(chunkBytes).equals(chunk));

      // The canister moves on after the backup...
      canister.writeRandomPages('heap', 20);
      canister.writeRandomPages('stable', 5);
      canister.globals = [{ i32: 0 }, { i64: 0n }, { f64: 0 }, { v128: 0n }];
      assert.ok(!canister.heap.equals(original.heap));

      // ...and is restored from an uploaded copy of the backup.
      const { snapshot_id: uploadedId } = await ic.uploadCanisterSnapshotMetadata({ canisterId, metadata });
      await uploadRegion(ic, canisterId, uploadedId, 'wasmModule', snapshotModule);
      await uploadRegion(ic, canisterId, uploadedId, 'wasmMemory', snapshotHeap);
      await uploadRegion(ic, canisterId, uploadedId, 'stableMemory', snapshotStable);
      await ic.uploadCanisterSnapshotData({ canisterId, snapshotId: uploadedId, kind: { wasmChunk: null }, chunk: chunkBytes });
      const uploadedMetadata = await ic.readCanisterSnapshotMetadata({ canisterId, snapshotId: uploadedId });
      assert.deepEqual(uploadedMetadata.source, { metadataUpload: null });
      assert.deepEqual(uploadedMetadata.wasmChunkStore, metadata.wasmChunkStore);

      await ic.loadCanisterSnapshot({ canisterId, snapshotId: uploadedId });
      assert.ok(canister.heap.equals(original.heap));
      assert.ok(canister.stableMemory.equals(original.stable));
      assert.ok(canister.module!.equals(original.module));
      assert.deepEqual(canister.globals, metadata.globals);
      assert.deepEqual(canister.certifiedData, Buffer.from('certified!'));

      await ic.startCanister(canisterId);
      const after = await ic.canisterStatus(canisterId);
      assert.deepEqual(after.status, { running: null });
      assert.ok(after.memory_metrics.snapshots_size > 2n * BigInt(original.heap.length));

      const listed = await ic.listCanisterSnapshots({ canisterId });
      assert.deepEqual(
        listed.map((s) => Buffer.from(s.id).toString('hex')),
        [taken.id, uploadedId].map((id) => Buffer.from(id).toString('hex')),
      );

      const counts = replica.requestCounts();
      assert.equal(counts['call-v2'], 0, 'every call went through /api/v3 synchronously');
      assert.ok(counts['call-v3'] > 20);
    });
  });
}
