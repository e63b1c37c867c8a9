// The emulator as a separate process (src/testing/replica/main.ts): its startup line, its identity
// PEM, the agent against it, and the control API driving it from here.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { Cbor, HttpAgent } from '@dfinity/agent';
import { ICManagementCanister } from '@dfinity/ic-management';
import { Principal } from '@dfinity/principal';
import { ed25519IdentityFromPem, MAX_SNAPSHOT_SLICE_BYTES, ReplicaControlClient } from '../src/testing/index.js';

const repositoryRoot = path.resolve(import.meta.dirname, '..');

interface StartupLine {
  url: string;
  canisterId: string;
  identityPem: string;
  rootKey: string;
}

function firstLine(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error('the emulator printed nothing')), timeoutMs);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    lines.once('line', (line) => {
      clearTimeout(timer);
      lines.close();
      resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`the emulator exited with ${code}: ${stderr}`)));
  });
}

describe('replica emulator process', () => {
  let child: ChildProcess;
  let workDir: string;
  let startup: StartupLine;
  let control: ReplicaControlClient;

  before(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'replica-process-test-'));
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/testing/replica/main.ts',
        '--heap-mib',
        '3',
        '--stable-mib',
        '1',
        '--module-kib',
        '64',
        '--identity-pem',
        path.join(workDir, 'identity.pem'),
        '--state-file',
        path.join(workDir, 'replica.json'),
      ],
      { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    startup = JSON.parse(await firstLine(child, 30_000)) as StartupLine;
    control = new ReplicaControlClient(startup.url);
  });

  after(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(workDir, { recursive: true, force: true });
  });

  test('prints url, canister id, identity PEM path and root key; writes the same to the state file', async () => {
    assert.match(startup.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(startup.identityPem, path.join(workDir, 'identity.pem'));
    assert.match(startup.rootKey, /^308182301d060d2b0601040182dc7c0503010201060c2b0601040182dc7c05030201036100[0-9a-f]{192}$/);
    assert.deepEqual(JSON.parse(await readFile(path.join(workDir, 'replica.json'), 'utf8')), startup);

    const pem = await readFile(startup.identityPem, 'utf8');
    // dfx's layout (ring's PKCS#8 v2): version 1, Ed25519 OID, seed, [1] { BIT STRING public key }.
    const der = Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
    assert.equal(der.length, 85);
    assert.equal(der.subarray(0, 16).toString('hex'), '3053020101300506032b657004220420');
    assert.equal(der.subarray(48, 53).toString('hex'), 'a123032100');
    const info = await control.canisterInfo(startup.canisterId);
    assert.deepEqual(info.controllers, [ed25519IdentityFromPem(pem).getPrincipal().toText()]);
    assert.equal(info.heapBytes, 3 * 1024 * 1024);
    assert.equal(info.stableBytes, 1024 * 1024);
  });

  test('a backup read through the agent matches the digest the control API reports', async () => {
    const identity = ed25519IdentityFromPem(await readFile(startup.identityPem, 'utf8'));
    const agent = await HttpAgent.create({ host: startup.url, identity, shouldFetchRootKey: true });
    assert.equal(Buffer.from(agent.rootKey!).toString('hex'), startup.rootKey);
    const ic = ICManagementCanister.create({ agent });
    const canisterId = Principal.fromText(startup.canisterId);

    await ic.stopCanister(canisterId);
    const { id: snapshotId } = await ic.takeCanisterSnapshot({ canisterId });
    const heapDigest = await control.digest(canisterId, 'heap');
    const hash = createHash('sha256');
    for (let offset = 0; offset < heapDigest.size; offset += MAX_SNAPSHOT_SLICE_BYTES) {
      const size = Math.min(MAX_SNAPSHOT_SLICE_BYTES, heapDigest.size - offset);
      const { chunk } = await ic.readCanisterSnapshotData({ canisterId, snapshotId, kind: { wasmMemory: { offset: BigInt(offset), size: BigInt(size) } } });
      hash.update(Uint8Array.from(chunk));
    }
    assert.equal(hash.digest('hex'), heapDigest.sha256);

    const offsets = await control.writeRandomPages(canisterId, { region: 'heap', count: 7, seed: 1 });
    assert.equal(offsets.length, 7);
    assert.ok(offsets.every((offset) => offset % 4096 === 0));
    assert.notEqual((await control.digest(canisterId, 'heap')).sha256, heapDigest.sha256);

    await control.setCanister(canisterId, { cycles: '123456789', status: 'running' });
    const status = await ic.canisterStatus(canisterId);
    assert.equal(status.cycles, 123_456_789n);
    assert.deepEqual(status.status, { running: null });
  });

  test('the control API creates canisters and sets faults in the other process', async () => {
    const identity = ed25519IdentityFromPem(await readFile(startup.identityPem, 'utf8'));
    const ic = ICManagementCanister.create({ agent: await HttpAgent.create({ host: startup.url, identity, shouldFetchRootKey: true }) });
    const canisterId = await control.createCanister({
      controllers: [identity.getPrincipal().toText()],
      heapBytes: 2 * 65536,
      stableBytes: 65536,
      content: 'random',
      seed: 'control',
      globals: [{ i32: 9 }, { i64: '-5' }],
    });
    const snapshot = await ic.takeCanisterSnapshot({ canisterId });
    const metadata = await ic.readCanisterSnapshotMetadata({ canisterId, snapshotId: snapshot.id });
    assert.deepEqual(metadata.globals, [{ i32: 9 }, { i64: -5n }]);
    assert.equal(metadata.stableMemorySize, 65536n);

    await control.setFaults({ transientFailures: [{ method: 'canister_status', remaining: 1, kind: 'reject' }] });
    await assert.rejects(ic.canisterStatus(canisterId), /IC0210/);
    await ic.canisterStatus(canisterId);
    const faults = await control.clearFaults();
    assert.deepEqual(faults.transientFailures, []);
    assert.ok((await control.requestCounts())['call-v3'] > 0);
  });
});

describe('replica emulator process with --nns-delegation', () => {
  test('the printed root key is the NNS key: it verifies certificates through the subnet’s delegation', async () => {
    const workDir = await mkdtemp(path.join(tmpdir(), 'replica-process-test-'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/testing/replica/main.ts', '--heap-mib', '1', '--stable-mib', '0', '--identity-pem', path.join(workDir, 'identity.pem'), '--nns-delegation'], {
      cwd: repositoryRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const startup = JSON.parse(await firstLine(child, 30_000)) as StartupLine;
      const identity = ed25519IdentityFromPem(await readFile(startup.identityPem, 'utf8'));
      // The key from the startup line, not fetched: what a user would pin.
      const agent = await HttpAgent.create({ host: startup.url, identity, rootKey: Buffer.from(startup.rootKey, 'hex'), shouldFetchRootKey: false });
      const status = await ICManagementCanister.create({ agent }).canisterStatus(Principal.fromText(startup.canisterId));
      assert.deepEqual(status.status, { running: null });
      // Its certificates carry a delegation (signed by that key) to the subnet's own key.
      const { certificate } = await agent.readState(Principal.fromText(startup.canisterId), { paths: [[new TextEncoder().encode('time')]] });
      const decoded = Cbor.decode<{ delegation?: { subnet_id: Uint8Array; certificate: Uint8Array } }>(certificate);
      assert.ok(decoded.delegation, 'a delegation');
      assert.equal(decoded.delegation.subnet_id.length, 29);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      await rm(workDir, { recursive: true, force: true });
    }
  });
});
