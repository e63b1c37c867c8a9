// The management canister's refusals, with the reject codes, error codes and messages the
// replica uses: controllers, slice limits, the snapshot limit, immutable and inconsistent
// snapshots, ownership, install modes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HttpAgent } from '@dfinity/agent';
import { ICManagementCanister } from '@dfinity/ic-management';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import type { Principal } from '@dfinity/principal';
import { buildWasmModule, MAX_SNAPSHOTS_PER_CANISTER, startReplica, type RunningReplica } from '../src/testing/index.js';

interface ExpectedReject {
  readonly rejectCode: number;
  readonly errorCode: string;
  readonly message?: RegExp;
  /** Certified (executed) or refused by the ingress filter. */
  readonly certified: boolean;
}

/**
 * Matches the agent's reject by the fields of its error code; by name, since
 * @dfinity/ic-management runs the agent's CommonJS build and this test the ESM build.
 */
async function rejects(promise: Promise<unknown>, expected: ExpectedReject): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    const code = (error as { cause?: { code?: Record<string, unknown> } }).cause?.code;
    assert.ok(code, `expected an agent reject, got ${String(error)}`);
    assert.equal(code['name'], expected.certified ? 'CertifiedRejectErrorCode' : 'UncertifiedRejectUpdateErrorCode');
    assert.equal(code['rejectCode'], expected.rejectCode);
    assert.equal(code['rejectErrorCode'], expected.errorCode);
    if (expected.message) assert.match(String(code['rejectMessage']), expected.message);
    return true;
  });
}

describe('management canister rules', () => {
  let replica: RunningReplica;
  let ic: ICManagementCanister;
  const owner = Ed25519KeyIdentity.generate();

  const newCanister = (options: { module?: Uint8Array | null; controllers?: Principal[] } = {}): Principal =>
    replica.createCanister({
      controllers: options.controllers ?? [owner.getPrincipal()],
      heap: { bytes: 2 * 65536, content: 'random' },
      ...(options.module !== undefined ? { module: options.module } : {}),
    });

  before(async () => {
    replica = await startReplica();
    ic = ICManagementCanister.create({ agent: await HttpAgent.create({ host: replica.url, identity: owner, shouldFetchRootKey: true }) });
  });

  after(async () => {
    await replica.stop();
  });

  test('someone who is not a controller is refused before execution (IC0512)', async () => {
    const canisterId = newCanister();
    const { id } = await ic.takeCanisterSnapshot({ canisterId });
    const stranger = ICManagementCanister.create({
      agent: await HttpAgent.create({ host: replica.url, identity: Ed25519KeyIdentity.generate(), shouldFetchRootKey: true }),
    });
    const notController = { rejectCode: 5, errorCode: 'IC0512', message: /Only controllers of canister .* can call ic00 method/, certified: false };
    await rejects(stranger.canisterStatus(canisterId), notController);
    await rejects(stranger.stopCanister(canisterId), notController);
    await rejects(stranger.takeCanisterSnapshot({ canisterId }), notController);
    await rejects(
      stranger.readCanisterSnapshotData({ canisterId, snapshotId: id, kind: { wasmMemory: { offset: 0n, size: 10n } } }),
      notController,
    );
  });

  test('a canister id in range that does not exist (IC0301)', async () => {
    const missing = replica.replica.subnet.canisterIdAt(999_999n);
    await rejects(ic.canisterStatus(missing), { rejectCode: 3, errorCode: 'IC0301', message: /not found/, certified: false });
  });

  test('slices: at most 2,000,000 bytes, inside the region', async () => {
    const canisterId = newCanister();
    const { id: snapshotId } = await ic.takeCanisterSnapshot({ canisterId });
    await rejects(ic.readCanisterSnapshotData({ canisterId, snapshotId, kind: { wasmMemory: { offset: 0n, size: 2_000_001n } } }), {
      rejectCode: 4,
      errorCode: 'IC0408',
      message: /^Requested slice too large: 2000001 > 2000000$/,
      certified: true,
    });
    await rejects(ic.readCanisterSnapshotData({ canisterId, snapshotId, kind: { wasmMemory: { offset: 65536n, size: 65537n } } }), {
      rejectCode: 4,
      errorCode: 'IC0408',
      message: /^Invalid subslice into wasm module \/ main memory \/ stable memory: offset: 65536, size: 65537$/,
      certified: true,
    });
    const { chunk } = await ic.readCanisterSnapshotData({ canisterId, snapshotId, kind: { wasmMemory: { offset: 65536n, size: 65536n } } });
    assert.equal(chunk.length, 65536);
  });

  test('the 11th snapshot is refused; replace_snapshot stays under the limit', async () => {
    const canisterId = newCanister();
    const ids: Array<Uint8Array | number[]> = [];
    for (let i = 0; i < MAX_SNAPSHOTS_PER_CANISTER; i++) ids.push((await ic.takeCanisterSnapshot({ canisterId })).id);
    await rejects(ic.takeCanisterSnapshot({ canisterId }), {
      rejectCode: 4,
      errorCode: 'IC0406',
      message: /has reached the maximum number of snapshots allowed: 10/,
      certified: true,
    });
    await rejects(
      ic.uploadCanisterSnapshotMetadata({
        canisterId,
        metadata: { globals: [], certifiedData: new Uint8Array(0), wasmModuleSize: 1n, wasmMemorySize: 0n, stableMemorySize: 0n },
      }),
      { rejectCode: 4, errorCode: 'IC0406', certified: true },
    );
    const replacement = await ic.takeCanisterSnapshot({ canisterId, snapshotId: ids[0]! });
    const listed = (await ic.listCanisterSnapshots({ canisterId })).map((s) => Buffer.from(s.id).toString('hex'));
    assert.equal(listed.length, MAX_SNAPSHOTS_PER_CANISTER);
    assert.ok(!listed.includes(Buffer.from(ids[0]!).toString('hex')));
    assert.ok(listed.includes(Buffer.from(replacement.id).toString('hex')));
  });

  test('only uploaded snapshots accept data (IC0409 CanisterSnapshotImmutable)', async () => {
    const canisterId = newCanister();
    const { id } = await ic.takeCanisterSnapshot({ canisterId });
    await rejects(ic.uploadCanisterSnapshotData({ canisterId, snapshotId: id, kind: { wasmMemory: { offset: 0n } }, chunk: new Uint8Array(8) }), {
      rejectCode: 4,
      errorCode: 'IC0409',
      message: /^Only canister snapshots created by metadata upload can be mutated\.$/,
      certified: true,
    });
  });

  test('uploaded metadata: memory sizes in whole Wasm pages, data inside the declared sizes', async () => {
    const canisterId = newCanister();
    const metadata = { globals: [], certifiedData: new Uint8Array(0), wasmModuleSize: 10n, wasmMemorySize: 65536n, stableMemorySize: 0n };
    await rejects(ic.uploadCanisterSnapshotMetadata({ canisterId, metadata: { ...metadata, wasmMemorySize: 1000n } }), {
      rejectCode: 4,
      errorCode: 'IC0408',
      message: /not a multiple of the Wasm page size 65536/,
      certified: true,
    });
    const { snapshot_id } = await ic.uploadCanisterSnapshotMetadata({ canisterId, metadata });
    await rejects(
      ic.uploadCanisterSnapshotData({ canisterId, snapshotId: snapshot_id, kind: { wasmMemory: { offset: 65530n } }, chunk: new Uint8Array(7) }),
      { rejectCode: 4, errorCode: 'IC0408', message: /Invalid subslice/, certified: true },
    );
    // The module was never uploaded: ten zero bytes are not a Wasm module.
    await rejects(ic.loadCanisterSnapshot({ canisterId, snapshotId: snapshot_id }), { rejectCode: 5, errorCode: 'IC0505', certified: true });
  });

  test('loading an uploaded snapshot whose globals do not match its module (IC0408)', async () => {
    const module = buildWasmModule({ globals: [{ i32: 1 }, { i64: 2n }] });
    const canisterId = newCanister({ module });
    const upload = async (globals: Array<{ i32: number } | { i64: bigint } | { f64: number }>): Promise<Uint8Array | number[]> => {
      const { snapshot_id } = await ic.uploadCanisterSnapshotMetadata({
        canisterId,
        metadata: { globals, certifiedData: new Uint8Array(0), wasmModuleSize: BigInt(module.length), wasmMemorySize: 65536n, stableMemorySize: 0n },
      });
      await ic.uploadCanisterSnapshotData({ canisterId, snapshotId: snapshot_id, kind: { wasmModule: { offset: 0n } }, chunk: module });
      return snapshot_id;
    };
    const mismatched = await upload([{ i32: 5 }, { f64: 1 }]);
    await rejects(ic.loadCanisterSnapshot({ canisterId, snapshotId: mismatched }), {
      rejectCode: 4,
      errorCode: 'IC0408',
      message: /^Wasm exported globals of canister module and snapshot metadata do not match\.$/,
      certified: true,
    });
    const matching = await upload([{ i32: 5 }, { i64: 6n }]);
    await ic.loadCanisterSnapshot({ canisterId, snapshotId: matching });
    assert.deepEqual(replica.canister(canisterId).globals, [{ i32: 5 }, { i64: 6n }]);
  });

  test('snapshots belong to their canister; loading onto another canister needs control of both', async () => {
    const source = newCanister();
    const target = newCanister();
    const { id } = await ic.takeCanisterSnapshot({ canisterId: source });
    await rejects(ic.deleteCanisterSnapshot({ canisterId: target, snapshotId: id }), {
      rejectCode: 4,
      errorCode: 'IC0406',
      message: /does not belong to canister/,
      certified: true,
    });
    await rejects(ic.readCanisterSnapshotMetadata({ canisterId: source, snapshotId: new Uint8Array([...new Uint8Array(8).fill(9), ...source.toUint8Array()]) }), {
      rejectCode: 3,
      errorCode: 'IC0305',
      message: /Could not find the snapshot ID/,
      certified: true,
    });

    await ic.loadCanisterSnapshot({ canisterId: target, snapshotId: id });
    assert.ok(replica.canister(target).heap.equals(replica.canister(source).heap));

    // Someone who controls only the target may not load the source's snapshot.
    const other = Ed25519KeyIdentity.generate();
    replica.canister(target).setControllers([owner.getPrincipal(), other.getPrincipal()]);
    const otherIc = ICManagementCanister.create({ agent: await HttpAgent.create({ host: replica.url, identity: other, shouldFetchRootKey: true }) });
    await rejects(otherIc.loadCanisterSnapshot({ canisterId: target, snapshotId: id }), {
      rejectCode: 4,
      errorCode: 'IC0406',
      message: /Only a controller of the canister that snapshot .* belongs to can load it/,
      certified: true,
    });
  });

  test('an empty canister cannot be snapshotted', async () => {
    const canisterId = newCanister({ module: null });
    await rejects(ic.takeCanisterSnapshot({ canisterId }), {
      rejectCode: 4,
      errorCode: 'IC0406',
      message: /Failed to create snapshot for empty canister/,
      certified: true,
    });
  });

  test('install modes: install needs an empty canister, upgrade keeps stable memory and resets the heap', async () => {
    const canisterId = newCanister({ module: null });
    const first = buildWasmModule({ globals: [{ i32: 3 }], memoryPages: 2 });
    await ic.installCode({ canisterId, wasmModule: first, mode: { install: null }, arg: new Uint8Array(0) });
    const canister = replica.canister(canisterId);
    assert.equal(canister.heap.length, 2 * 65536);
    await rejects(ic.installCode({ canisterId, wasmModule: first, mode: { install: null }, arg: new Uint8Array(0) }), {
      rejectCode: 5,
      errorCode: 'IC0514',
      certified: true,
    });

    canister.setMemory('stable', { bytes: 65536, content: 'random', seed: 'keep me' });
    canister.write('heap', 0, Buffer.from('dirty'));
    const stable = Buffer.from(canister.stableMemory);
    const second = buildWasmModule({ globals: [{ i32: 4 }], memoryPages: 1 });
    await ic.installCode({ canisterId, wasmModule: second, mode: { upgrade: [] }, arg: new Uint8Array(0) });
    assert.ok(canister.stableMemory.equals(stable));
    assert.ok(canister.heap.equals(Buffer.alloc(65536)));
    assert.deepEqual(canister.globals, [{ i32: 4 }]);
    const status = await ic.canisterStatus(canisterId);
    assert.equal(Buffer.from(status.module_hash[0]!).toString('hex'), canister.sha256('module'));

    await rejects(ic.installCode({ canisterId, wasmModule: new Uint8Array([1, 2, 3]), mode: { reinstall: null }, arg: new Uint8Array(0) }), {
      rejectCode: 5,
      errorCode: 'IC0505',
      certified: true,
    });
  });

  test('update_settings replaces the controllers; deleting needs a stopped canister', async () => {
    const canisterId = newCanister();
    const successor = Ed25519KeyIdentity.generate();
    await ic.updateSettings({ canisterId, settings: { controllers: [owner.getPrincipal().toText(), successor.getPrincipal().toText()], freezingThreshold: 100n } });
    const status = await ic.canisterStatus(canisterId);
    assert.equal(status.settings.controllers.length, 2);
    assert.equal(status.settings.freezing_threshold, 100n);

    await rejects(ic.deleteCanister(canisterId), { rejectCode: 5, errorCode: 'IC0510', certified: true });
    await ic.stopCanister(canisterId);
    await ic.takeCanisterSnapshot({ canisterId });
    await ic.deleteCanister(canisterId);
    assert.equal(replica.replica.findCanister(canisterId), undefined);
  });
});
