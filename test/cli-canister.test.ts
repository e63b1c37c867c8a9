// Canister backups end to end: the built CLI as a child process against the replica emulator
// running in this process, which sets up and inspects the canisters directly.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { LocalBackend } from '../src/backend/local.js';
import { chunkRefs } from '../src/repository/manifest.js';
import { Repository } from '../src/repository/repository.js';
import { buildWasmModule, DEFAULT_TEST_GLOBALS, type RunningReplica } from '../src/testing/index.js';
import { callsSince, canisterSetup, PASSWORD, secp256k1Identity, uploadStateFile, type CanisterSetup as Setup, type TestIdentity } from './helpers/ic.js';
import { seededBytes } from './helpers/tmp.js';

const MIB = 1024 * 1024;

/** A canister with a canister-like heap, random stable memory and one chunk-store chunk. */
function setup(t: TestContext, options: { heapMib?: number; identity?: (dir: string) => TestIdentity } = {}): Promise<Setup> {
  return canisterSetup(t, (replica, identity) => newCanister(replica, identity, options.heapMib ?? 2), options.identity ? { identity: options.identity } : {});
}

function newCanister(replica: RunningReplica, identity: TestIdentity, heapMib = 2): string {
  return replica
    .createCanister({
      controllers: [identity.principal],
      heap: { bytes: heapMib * MIB, content: 'canister-like', seed: `heap-${Math.random()}` },
      stable: { bytes: MIB, content: 'random', seed: `stable-${Math.random()}` },
      chunks: [seededBytes(40_000, 9)],
      certifiedData: Buffer.from('certified'),
    })
    .toText();
}

/** What a snapshot holds, as hashes: equal fingerprints mean equal canister state. */
function fingerprint(replica: RunningReplica, canisterId: string) {
  const c = replica.canister(canisterId);
  return {
    module: c.sha256('module'),
    heap: c.sha256('heap'),
    stable: c.sha256('stable'),
    chunks: [...c.chunkStore.keys()].sort(),
    globals: JSON.stringify(c.globals, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
    certifiedData: c.certifiedData.toString('hex'),
  };
}

function json<T = Record<string, unknown>>(result: { code: number | null; stdout: string; stderr: string }): T {
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as T;
}

/** Records the canister's status at the moment a snapshot is taken of it. */
function statusAtSnapshot(replica: RunningReplica, canisterId: string): string[] {
  const canister = replica.canister(canisterId);
  const seen: string[] = [];
  const capture = canister.captureSnapshot.bind(canister);
  canister.captureSnapshot = (nowNs) => {
    seen.push(canister.status);
    return capture(nowNs);
  };
  return seen;
}

describe('canister backups through the CLI', { concurrency: 3 }, () => {
  test('full backup, 1% of heap pages changed, incremental backup stores about 4x the change; restore brings back heap, stable memory, module and chunks', async (t) => {
    // 16 MiB: 1% is 40 pages, enough that the ratio stays near its mean (about 3.4x; single runs
    // of 20 pages reach 4.9x, depending on the repository's secret chunker seed).
    const s = await setup(t, { heapMib: 16 });
    const canister = s.replica.canister(s.canisterId);
    const full = json(await s.cli(['backup', 'create', s.canisterId, '--destination', s.repo, '--json', ...s.ic]));
    assert.equal(full.type, 'full');
    const names = (await openRepo(s)).readManifest(full.id as string).then((m) => m.entries.map((e) => `${e.kind}:${e.name}`));
    assert.deepEqual(await names, [
      'metadata:metadata.json',
      'wasm_module:wasm_module.bin',
      'wasm_memory:wasm_memory.bin',
      'stable_memory:stable_memory.bin',
      `wasm_chunk:wasm_chunk_store/${[...canister.chunkStore.keys()][0]}.bin`,
    ]);

    const pages = (16 * MIB) / 4096 / 100; // 1% of the 4 KiB pages
    canister.writeRandomPages('heap', Math.round(pages), 4096, 'one-percent');
    const changed = Math.round(pages) * 4096;
    const backedUp = fingerprint(s.replica, s.canisterId);
    const incremental = json(await s.cli(['backup', 'create', s.canisterId, '--destination', s.repo, '--json', ...s.ic]));
    assert.equal(incremental.type, 'incremental');
    assert.equal(incremental.parent, full.id);
    const stored = incremental.storedSize as number;
    t.diagnostic(`incremental backup stored ${stored} bytes for ${changed} changed bytes (${(stored / changed).toFixed(2)}x)`);
    assert.ok(stored > 0 && stored <= 4.5 * changed, `incremental stored ${stored} bytes for ${changed} changed bytes`);

    // Change everything a snapshot holds, then restore the incremental backup over it.
    canister.writeRandomPages('heap', 300, 4096, 'later');
    canister.writeRandomPages('stable', 5, 4096, 'later');
    canister.setModule(buildWasmModule({ globals: DEFAULT_TEST_GLOBALS, sizeBytes: 20_000, seed: 'new code' }));
    canister.addChunk(seededBytes(1000, 3));
    canister.certifiedData = Buffer.from('changed');
    assert.notDeepEqual(fingerprint(s.replica, s.canisterId), backedUp);

    const before = s.replica.methodCounts();
    const restored = await s.cli(['backup', 'restore', incremental.id as string, '--destination', s.repo, ...s.ic]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stderr, /restored backup \w+ into canister .*; it is running/);
    assert.deepEqual(fingerprint(s.replica, s.canisterId), backedUp);
    assert.equal(canister.status, 'running');
    assert.equal(callsSince(s.replica, before, 'stop_canister'), 1);
    assert.equal(callsSince(s.replica, before, 'load_canister_snapshot'), 1);
    assert.equal(callsSince(s.replica, before, 'start_canister'), 1);
    assert.equal(canister.snapshotCount, 2, "the backups' snapshots stay, the uploaded one is deleted");
    assert.equal(fs.existsSync(uploadStateFile(s.home, s.canisterId, incremental.id as string)), false);
  });

  test('restore into another canister needs --force; --dry-run changes nothing and shows module hash, sizes and cycles', async (t) => {
    const s = await setup(t);
    const clone = s.replica.createCanister({ controllers: [s.identity.principal], module: null }).toText();
    const backedUp = fingerprint(s.replica, s.canisterId);
    const id = (await s.cli(['backup', 'create', s.canisterId, '--destination', s.repo, '-q', ...s.ic])).stdout.trim();
    s.replica.canister(s.canisterId).writeRandomPages('heap', 50);
    const changed = fingerprint(s.replica, s.canisterId);

    const before = s.replica.methodCounts();
    const dry = await s.cli(['backup', 'restore', id, '--dry-run', '--destination', s.repo, ...s.ic]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`module hash +${backedUp.module}`));
    assert.match(dry.stdout, /heap +2\.00 MiB, stable memory 1\.00 MiB, module 32\.0 KiB/);
    assert.match(dry.stdout, /cycles +10000000000000 now/);
    assert.match(dry.stdout, /nothing was changed/);
    const dryJson = json(await s.cli(['backup', 'restore', id, '--dry-run', '--json', '--destination', s.repo, ...s.ic]));
    assert.deepEqual(dryJson.moduleHash, { current: backedUp.module, backup: backedUp.module });
    assert.equal(dryJson.wasmMemory, 2 * MIB);
    assert.deepEqual(fingerprint(s.replica, s.canisterId), changed);
    for (const method of ['stop_canister', 'upload_canister_snapshot_metadata', 'load_canister_snapshot']) assert.equal(callsSince(s.replica, before, method), 0, method);

    const refused = await s.cli(['backup', 'restore', id, '--canister', clone, '--destination', s.repo, ...s.ic]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, new RegExp(`^agentvault: backup ${id} is of canister ${s.canisterId}; restoring it into ${clone} replaces that canister's state: add --force to clone\\n$`));
    assert.equal(s.replica.canister(clone).module, null);

    const cloned = await s.cli(['backup', 'restore', id, '--canister', clone, '--force', '--destination', s.repo, ...s.ic]);
    assert.equal(cloned.code, 0, cloned.stderr);
    assert.deepEqual(fingerprint(s.replica, clone), backedUp);
    assert.equal(s.replica.canister(clone).status, 'running');
    assert.deepEqual(fingerprint(s.replica, s.canisterId), changed, 'the source canister is untouched');
  });

  test('--to-snapshot-dir writes the canister bytes; --from-snapshot-dir backs that directory up to the same chunks', async (t) => {
    const s = await setup(t);
    const canister = s.replica.canister(s.canisterId);
    const canisterBackup = json(await s.cli(['backup', 'create', s.canisterId, '--destination', s.repo, '--json', ...s.ic]));
    const dir = path.join(s.home, 'snapshot');
    const written = await s.cli(['backup', 'restore', canisterBackup.id as string, '--to-snapshot-dir', dir, '--destination', s.repo]);
    assert.equal(written.code, 0, written.stderr);

    const [chunkHash, chunk] = [...canister.chunkStore.entries()][0]!;
    assert.deepEqual(fs.readdirSync(dir).sort(), ['metadata.json', 'stable_memory.bin', 'wasm_chunk_store', 'wasm_memory.bin', 'wasm_module.bin']);
    assert.deepEqual(fs.readFileSync(path.join(dir, 'wasm_memory.bin')), canister.heap);
    assert.deepEqual(fs.readFileSync(path.join(dir, 'stable_memory.bin')), canister.stableMemory);
    assert.deepEqual(fs.readFileSync(path.join(dir, 'wasm_module.bin')), canister.module);
    assert.deepEqual(fs.readFileSync(path.join(dir, 'wasm_chunk_store', `${chunkHash}.bin`)), chunk);
    const metadata = JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(metadata.wasm_memory_size, 2 * MIB);
    assert.deepEqual(metadata.certified_data, [...Buffer.from('certified')]);

    // --sparse: the same bytes, the heap's zero pages left as holes.
    const sparseDir = path.join(s.home, 'sparse-snapshot');
    const sparse = await s.cli(['backup', 'restore', canisterBackup.id as string, '--to-snapshot-dir', sparseDir, '--sparse', '--destination', s.repo]);
    assert.equal(sparse.code, 0, sparse.stderr);
    const heapFile = path.join(sparseDir, 'wasm_memory.bin');
    assert.deepEqual(fs.readFileSync(heapFile), canister.heap);
    let zeroBlocks = 0;
    for (let at = 0; at < canister.heap.length; at += 4096) if (canister.heap.subarray(at, at + 4096).every((b) => b === 0)) zeroBlocks++;
    assert.ok(zeroBlocks > 0, 'the canister-like heap has zero pages');
    assert.ok(fs.statSync(heapFile).blocks * 512 <= canister.heap.length - zeroBlocks * 4096 + 64 * 1024, `${fs.statSync(heapFile).blocks * 512} bytes allocated, ${zeroBlocks} zero blocks of ${canister.heap.length / 4096}`);

    const again = json(await s.cli(['backup', 'create', '--from-snapshot-dir', dir, '--type', 'incremental', '--destination', s.repo, '--json']));
    assert.equal((again.source as { kind: string }).kind, 'snapshot-dir');
    assert.equal(again.logicalSize, canisterBackup.logicalSize);
    assert.equal(again.storedSize, 0, 'every chunk is in the repository already');
    const repository = await openRepo(s);
    const chunksOf = async (id: string) => (await repository.readManifest(id)).entries.map((e) => [e.name, [...chunkRefs(e)].map((r) => r.id.toString('hex'))]);
    assert.deepEqual(await chunksOf(again.id as string), await chunksOf(canisterBackup.id as string));
  });

  test('the canister is stopped for the snapshot and started again; --no-stop warns and never stops it; --delete-snapshot leaves none', async (t) => {
    const s = await setup(t);
    const canister = s.replica.canister(s.canisterId);
    const seen = statusAtSnapshot(s.replica, s.canisterId);

    let before = s.replica.methodCounts();
    const stopped = await s.cli(['backup', 'create', s.canisterId, '--destination', s.repo, ...s.ic]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.deepEqual(seen, ['stopped']);
    assert.equal(callsSince(s.replica, before, 'stop_canister'), 1);
    assert.equal(callsSince(s.replica, before, 'start_canister'), 1);
    assert.equal(canister.status, 'running');
    assert.match(stopped.stderr, /stopping canister .*\ntook snapshot \w+\nstarted canister /);
    assert.equal(canister.snapshotCount, 1, 'the snapshot stays on the canister by default');

    before = s.replica.methodCounts();
    const live = await s.cli(['backup', 'create', s.canisterId, '--no-stop', '--destination', s.repo, ...s.ic]);
    assert.equal(live.code, 0, live.stderr);
    assert.match(live.stderr, /^agentvault: warning: snapshotting canister \S+ while it runs; its state may be inconsistent$/m);
    assert.deepEqual(seen, ['stopped', 'running']);
    assert.equal(callsSince(s.replica, before, 'stop_canister'), 0);
    assert.equal(callsSince(s.replica, before, 'start_canister'), 0);
    assert.equal(canister.status, 'running');

    const other = newCanister(s.replica, s.identity);
    const deleted = await s.cli(['backup', 'create', other, '--delete-snapshot', '--destination', s.repo, ...s.ic]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stderr, /deleted snapshot \w+/);
    assert.equal(s.replica.canister(other).snapshotCount, 0);
    assert.equal(s.replica.canister(other).status, 'running');
  });

  test('with 10 snapshots present, a backup replaces the oldest and 10 remain', async (t) => {
    const s = await setup(t);
    const canister = s.replica.canister(s.canisterId);
    // Ids ascend while times descend, so "oldest" must come from the times, not the id order.
    const base = s.replica.replica.nowNs() - 3_600_000_000_000n;
    const taken = Array.from({ length: 10 }, (_, i) => canister.captureSnapshot(base + BigInt(10 - i) * 1_000_000_000n));
    const oldest = taken[9]!.idHex;
    const result = await s.cli(['backup', 'create', s.canisterId, '--destination', s.repo, ...s.ic]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`replaced the oldest snapshot ${oldest}`));
    assert.equal(canister.snapshotCount, 10);
    assert.equal(canister.findSnapshot(Buffer.from(oldest, 'hex')), undefined);
    for (const s2 of taken.slice(0, 9)) assert.ok(canister.findSnapshot(s2.id), 'the others stay');
  });

  test('--canister and --canister-id work like the positional id; --all backs up every configured canister', async (t) => {
    const s = await setup(t);
    const second = newCanister(s.replica, s.identity);
    const byFlag = json(await s.cli(['backup', 'create', '--canister', s.canisterId, '--destination', s.repo, '--json', ...s.ic]));
    assert.equal((byFlag.source as { canisterId: string }).canisterId, s.canisterId);
    const byIdFlag = json(await s.cli(['backup', 'create', '--canister-id', second, '--destination', s.repo, '--json', ...s.ic]));
    assert.equal((byIdFlag.source as { canisterId: string }).canisterId, second);
    const both = await s.cli(['backup', 'create', s.canisterId, '--canister', second, '--destination', s.repo, ...s.ic]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give one canister id/);

    const configDir = path.join(s.home, '.config', 'agentvault');
    fs.mkdirSync(configDir, { recursive: true });
    fs.writeFileSync(path.join(configDir, 'config.json'), JSON.stringify({ version: 1, ic: { canisters: [s.canisterId, second] } }));
    const all = await s.cli(['backup', 'create', '--all', '--destination', s.repo, ...s.ic]);
    assert.equal(all.code, 0, all.stderr);
    const ids = all.stdout.trim().split('\n');
    assert.equal(ids.length, 2);
    const repository = await openRepo(s);
    assert.deepEqual(await Promise.all(ids.map(async (id) => (await repository.readManifest(id)).source.canisterId)), [s.canisterId, second]);
  });

  test('a secp256k1 identity PEM backs up and restores', async (t) => {
    const s = await setup(t, { identity: (dir) => secp256k1Identity(dir) });
    const backedUp = fingerprint(s.replica, s.canisterId);
    const id = (await s.cli(['backup', 'create', s.canisterId, '--destination', s.repo, '-q', ...s.ic])).stdout.trim();
    assert.match(id, /^[0-9a-z]{12}$/);
    s.replica.canister(s.canisterId).writeRandomPages('stable', 3);
    const restored = await s.cli(['backup', 'restore', id, '--destination', s.repo, ...s.ic]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(fingerprint(s.replica, s.canisterId), backedUp);
  });

});

function openRepo(s: Setup): Promise<Repository> {
  return Repository.open(new LocalBackend(s.repo), { password: PASSWORD.AGENTVAULT_PASSWORD });
}
