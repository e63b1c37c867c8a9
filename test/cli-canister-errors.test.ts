// Canister backups and restores that go wrong: each ends with one `agentvault: …` line and exit 1,
// and leaves the canister running; interrupted transfers are retried or resumed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { LocalBackend } from '../src/backend/local.js';
import { Repository } from '../src/repository/repository.js';
import type { CliResult } from './helpers/cli.js';
import {
  assertOneLineError,
  callsSince,
  canisterSetup,
  closedPort,
  ed25519Identity,
  icArgs,
  PASSWORD,
  startCli,
  uploadStateFile,
  waitFor,
  type CanisterSetup as Setup,
} from './helpers/ic.js';

const MIB = 1024 * 1024;
const SLICE = 2_000_000;

function setup(t: TestContext, heapMib = 2): Promise<Setup> {
  return canisterSetup(t, (replica, identity) =>
    replica
      .createCanister({
        controllers: [identity.principal],
        heap: { bytes: heapMib * MIB, content: 'canister-like', seed: 'heap' },
        stable: { bytes: MIB, content: 'random', seed: 'stable' },
      })
      .toText(),
  );
}

/** Exit 1, one error line matching `pattern`, and the canister running. */
function assertFailed(s: Setup, result: CliResult, pattern: RegExp): void {
  assert.equal(result.code, 1, result.stderr);
  assert.match(assertOneLineError(result.stderr), pattern);
  assert.equal(s.replica.canister(s.canisterId).status, 'running');
}

function fingerprint(s: Setup, canisterId = s.canisterId) {
  const c = s.replica.canister(canisterId);
  return { module: c.sha256('module'), heap: c.sha256('heap'), stable: c.sha256('stable') };
}

async function backupCount(s: Setup): Promise<number> {
  return (await (await Repository.open(new LocalBackend(s.repo), { password: PASSWORD.AGENTVAULT_PASSWORD })).listBackups()).length;
}

describe('canister backup and restore failures', { concurrency: 4 }, () => {
  test('an identity that does not control the canister: backup and restore refused before anything changes', async (t) => {
    const s = await setup(t);
    const id = (await s.cli(['backup', 'create', s.canisterId, '--destination', s.repo, '-q', ...s.ic])).stdout.trim();
    const stranger = ed25519Identity(s.home, 'stranger.pem');
    const notController = new RegExp(`^agentvault: ${stranger.principal} is not a controller of canister ${s.canisterId}; use a controller's identity`);
    const before = s.replica.methodCounts();
    assertFailed(s, await s.cli(['backup', 'create', s.canisterId, '--destination', s.repo, ...icArgs(s.replica, stranger)]), notController);
    assertFailed(s, await s.cli(['backup', 'restore', id, '--destination', s.repo, ...icArgs(s.replica, stranger)]), notController);
    assert.equal(callsSince(s.replica, before, 'stop_canister'), 0);
    assert.equal(s.replica.canister(s.canisterId).snapshotCount, 1, 'only the first backup made a snapshot');
  });

  test('a canister that does not exist', async (t) => {
    const s = await setup(t);
    const missing = s.replica.replica.subnet.canisterIdAt(4242n).toText();
    const result = await s.cli(['backup', 'create', missing, '--destination', s.repo, ...s.ic]);
    assertFailed(s, result, new RegExp(`^agentvault: canister ${missing} was not found on ${s.replica.url}$`));
  });

  test('a network nobody listens on', async (t) => {
    const s = await setup(t);
    const url = `http://127.0.0.1:${await closedPort()}`;
    const result = await s.cli(['backup', 'create', s.canisterId, '--destination', s.repo, '--network', url, '--identity-pem', s.identity.pemFile]);
    assertFailed(s, result, new RegExp(`^agentvault: cannot reach the IC at ${url} \\(connect\\): connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+$`));
  });

  test('identity files that are not identities: garbage, a broken PEM, a missing file', async (t) => {
    const s = await setup(t);
    const cases: Array<[string, string | null, RegExp]> = [
      ['garbage.pem', 'not a key at all\n', /is not an identity PEM \(expected a dfx\/icp Ed25519 or secp256k1 key\)$/],
      ['broken-ed25519.pem', '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n', /is not a valid Ed25519 identity PEM$/],
      ['broken-secp256k1.pem', '-----BEGIN EC PRIVATE KEY-----\nbm90IGEga2V5\n-----END EC PRIVATE KEY-----\n', /is not a valid secp256k1 identity PEM$/],
      ['missing.pem', null, /^agentvault: cannot read the identity file .*missing\.pem: ENOENT$/],
    ];
    for (const [name, content, pattern] of cases) {
      const file = path.join(s.home, name);
      if (content !== null) fs.writeFileSync(file, content);
      const result = await s.cli(['backup', 'create', s.canisterId, '--destination', s.repo, '--network', s.replica.url, '--identity-pem', file]);
      assertFailed(s, result, pattern);
    }
  });

  test('a canister that refuses to stop: backup and restore give up after --stop-timeout and leave it running', async (t) => {
    const s = await setup(t);
    const id = (await s.cli(['backup', 'create', s.canisterId, '--destination', s.repo, '-q', ...s.ic])).stdout.trim();
    s.replica.faults.refuseToStop(s.canisterId);
    const snapshots = s.replica.canister(s.canisterId).snapshotCount;

    let started = Date.now();
    const backup = await s.cli(['backup', 'create', s.canisterId, '--stop-timeout', '2', '--destination', s.repo, ...s.ic]);
    assertFailed(s, backup, new RegExp(`^agentvault: canister ${s.canisterId} did not stop within 2 s \\(a canister stops only once its open calls finish\\); try again later or raise --stop-timeout$`));
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
    assert.equal(s.replica.canister(s.canisterId).snapshotCount, snapshots, 'no snapshot was taken');

    const before = s.replica.methodCounts();
    started = Date.now();
    const restore = await s.cli(['backup', 'restore', id, '--stop-timeout', '1', '--destination', s.repo, ...s.ic]);
    assertFailed(s, restore, /did not stop within 1 s/);
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
    assert.equal(callsSince(s.replica, before, 'upload_canister_snapshot_metadata'), 0);
  });

  test('a restore into a canister at its 10-snapshot limit is refused and the canister runs again', async (t) => {
    const s = await setup(t);
    const id = (await s.cli(['backup', 'create', s.canisterId, '--delete-snapshot', '--destination', s.repo, '-q', ...s.ic])).stdout.trim();
    const canister = s.replica.canister(s.canisterId);
    for (let i = 0; i < 10; i++) canister.captureSnapshot(s.replica.replica.nowNs());
    const result = await s.cli(['backup', 'restore', id, '--destination', s.repo, ...s.ic]);
    assertFailed(s, result, new RegExp(`^agentvault: canister ${s.canisterId} has reached its snapshot limit \\(.*maximum number of snapshots allowed: 10\\.\\); delete one of its snapshots and try again$`));
    assert.equal(canister.snapshotCount, 10, 'none was deleted');
  });

  test('dropped connections and transient rejects while downloading are retried: the backup succeeds', async (t) => {
    const s = await setup(t);
    s.replica.faults.dropConnections(2);
    s.replica.faults.failTransiently('read_canister_snapshot_data', 2, 'reject');
    s.replica.faults.failTransiently('read_canister_snapshot_metadata', 1, 'http-503');
    const before = s.replica.methodCounts();
    const result = await s.cli(['backup', 'create', s.canisterId, '--destination', s.repo, '--json', ...s.ic]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).logicalSize > 3 * MIB, true);
    assert.ok(callsSince(s.replica, before, 'read_canister_snapshot_data') >= 3 + 2, 'the failed reads were sent again');
    assert.equal(s.replica.canister(s.canisterId).status, 'running');
    assert.equal(s.replica.faults.describe().dropNextRequests, 0);
  });

  test('a download that fails for good writes no backup and leaves the canister running', async (t) => {
    const s = await setup(t);
    const canister = s.replica.canister(s.canisterId);
    s.replica.faults.slowReplies(300, { method: 'read_canister_snapshot_data' });
    const run = startCli(['backup', 'create', s.canisterId, '--destination', s.repo, ...s.ic], { home: s.home, env: PASSWORD });
    // The snapshot vanishes under the download (deleted by someone else): not retryable.
    await waitFor(() => canister.snapshotCount > 0, 'the snapshot');
    canister.deleteSnapshot(canister.listSnapshots()[0]!.id);
    const result = await run.result;
    assertFailed(s, result, /^agentvault: read_canister_snapshot_(data|metadata) on canister \S+ was rejected: Could not find the snapshot ID \w+ for canister \S+ \(IC0305\)$/);
    assert.equal(await backupCount(s), 0);
  });

  test('an upload that keeps failing stops the restore with the canister running; the same restore then resumes', async (t) => {
    const s = await setup(t, 6);
    const backedUp = fingerprint(s);
    const id = (await s.cli(['backup', 'create', s.canisterId, '--destination', s.repo, '-q', ...s.ic])).stdout.trim();
    s.replica.canister(s.canisterId).writeRandomPages('heap', 100);
    s.replica.canister(s.canisterId).writeRandomPages('stable', 10);
    // 6 MiB heap: 4 slices; 1 MiB stable memory and the module: 1 each.
    const slices = Math.ceil((6 * MIB) / SLICE) + 2;

    s.replica.faults.slowReplies(400, { method: 'upload_canister_snapshot_data' });
    const stateFile = uploadStateFile(s.home, s.canisterId, id);
    const run = startCli(['backup', 'restore', id, '--destination', s.repo, ...s.ic], { home: s.home, env: PASSWORD });
    await waitFor(() => uploaded(stateFile) >= SLICE, 'the first heap slice');
    s.replica.faults.failTransiently('upload_canister_snapshot_data', 1000, 'reject');
    const failed = await run.result;
    assertFailed(s, failed, /^agentvault: upload_canister_snapshot_data on canister \S+ was rejected: .*\(IC0210\); the upload progress is saved: run the same restore again to resume$/);
    assert.match(failed.stderr, /started canister \S+ again; run the same restore to resume the upload/);
    assert.ok(fs.existsSync(stateFile));

    s.replica.faults.clear();
    const before = s.replica.methodCounts();
    const resumed = await s.cli(['backup', 'restore', id, '--destination', s.repo, ...s.ic]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming the upload into snapshot \w+/);
    const calls = callsSince(s.replica, before, 'upload_canister_snapshot_data');
    assert.ok(calls < slices, `the resumed run uploaded ${calls} of ${slices} slices`);
    assert.equal(callsSince(s.replica, before, 'upload_canister_snapshot_metadata'), 0, 'the snapshot of the first run is reused');
    assert.deepEqual(fingerprint(s), backedUp);
    assert.equal(s.replica.canister(s.canisterId).status, 'running');
    assert.equal(fs.existsSync(stateFile), false);
  });

  test('a restore killed mid-upload (SIGKILL) resumes where it stopped', async (t) => {
    const s = await setup(t, 6);
    const backedUp = fingerprint(s);
    const id = (await s.cli(['backup', 'create', s.canisterId, '--destination', s.repo, '-q', ...s.ic])).stdout.trim();
    s.replica.canister(s.canisterId).writeRandomPages('heap', 100);
    const slices = Math.ceil((6 * MIB) / SLICE) + 2;

    s.replica.faults.slowReplies(400, { method: 'upload_canister_snapshot_data' });
    const stateFile = uploadStateFile(s.home, s.canisterId, id);
    const before = s.replica.methodCounts();
    const run = startCli(['backup', 'restore', id, '--destination', s.repo, ...s.ic], { home: s.home, env: PASSWORD });
    await waitFor(() => uploaded(stateFile) >= 2 * SLICE, 'two heap slices');
    run.child.kill('SIGKILL');
    assert.equal((await run.result).signal, 'SIGKILL');
    const firstRun = callsSince(s.replica, before, 'upload_canister_snapshot_data');

    s.replica.faults.clear();
    const middle = s.replica.methodCounts();
    const resumed = await s.cli(['backup', 'restore', id, '--destination', s.repo, ...s.ic]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming the upload/);
    const secondRun = callsSince(s.replica, middle, 'upload_canister_snapshot_data');
    assert.ok(secondRun <= slices - 2, `the resumed run uploaded ${secondRun} of ${slices} slices (the killed run sent ${firstRun})`);
    assert.deepEqual(fingerprint(s), backedUp);
    assert.equal(s.replica.canister(s.canisterId).status, 'running');
  });

});

/** Bytes of the heap the restore has recorded as uploaded (0 before its progress file exists). */
function uploaded(stateFile: string): number {
  try {
    return (JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { regions: Record<string, number> }).regions['wasm_memory.bin'] ?? 0;
  } catch {
    return 0;
  }
}
