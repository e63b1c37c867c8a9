// The IC commands besides backup: status, health, canister controller / set-controller, list,
// config, deploy and replica, each run as the built CLI against the emulator in this process.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { LocalBackend } from '../src/backend/local.js';
import { Repository } from '../src/repository/repository.js';
import { buildWasmModule, DEFAULT_TEST_GLOBALS } from '../src/testing/index.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { assertOneLineError, canisterSetup, ed25519Identity, icArgs, PASSWORD, startCli, waitFor, type CanisterSetup as Setup } from './helpers/ic.js';
import { tempDir } from './helpers/tmp.js';

const MIB = 1024 * 1024;

function setup(t: TestContext): Promise<Setup> {
  const canister = { heap: { bytes: MIB, content: 'canister-like' }, stable: { bytes: MIB, content: 'random' } } as const;
  return canisterSetup(t, (replica, identity) => replica.createCanister({ controllers: [identity.principal], ...canister }).toText(), { repoInEnv: true });
}

function ok(result: CliResult): CliResult {
  assert.equal(result.code, 0, result.stderr);
  return result;
}

function failed(result: CliResult, code: number, pattern: RegExp): void {
  assert.equal(result.code, code, `${result.stdout}\n${result.stderr}`);
  assert.match(assertOneLineError(result.stderr), pattern);
}

function writeWasm(dir: string, seed: string): { file: string; hash: string } {
  const bytes = buildWasmModule({ globals: DEFAULT_TEST_GLOBALS, sizeBytes: 20_000, seed });
  const file = path.join(dir, `${seed}.wasm`);
  fs.writeFileSync(file, bytes);
  return { file, hash: createHash('sha256').update(bytes).digest('hex') };
}

describe('IC commands', { concurrency: 3 }, () => {
  test('status: readable and --json; a stopped canister says so; a stranger is refused', async (t) => {
    const s = await setup(t);
    const canister = s.replica.canister(s.canisterId);
    const human = ok(await s.cli(['status', s.canisterId, ...s.ic])).stdout;
    assert.match(human, /^canister +\S+$/m);
    assert.match(human, /^status +running$/m);
    assert.match(human, new RegExp(`^module hash +${canister.moduleHash!.toString('hex')}$`, 'm'));
    assert.match(human, /^cycles +10000000000000 \(10\.00T\)$/m);
    assert.match(human, new RegExp(`^controllers +${s.identity.principal}$`, 'm'));
    assert.match(human, /^memory +.*bytes\)$/m);
    assert.match(human, /^freezing +2592000 s$/m);

    canister.setStatus('stopped');
    const status = JSON.parse(ok(await s.cli(['status', s.canisterId, '--json', ...s.ic])).stdout) as Record<string, unknown>;
    assert.equal(status.status, 'stopped');
    assert.equal(status.cycles, '10000000000000');
    assert.deepEqual(status.controllers, [s.identity.principal]);
    assert.equal(status.moduleHash, canister.moduleHash!.toString('hex'));
    assert.equal((status.settings as Record<string, string>).freezingThreshold, '2592000');

    const stranger = ed25519Identity(s.home, 'stranger.pem');
    failed(await s.cli(['status', s.canisterId, ...icArgs(s.replica, stranger)]), 1, /is not a controller of canister/);
  });

  test('health: running, module hash against the newest backup, cycles against the minimum', async (t) => {
    const s = await setup(t);
    const canister = s.replica.canister(s.canisterId);
    const noRepo = ok(await s.cli(['health', s.canisterId, ...s.ic]));
    assert.match(noRepo.stdout, /^ok +running$/m);
    assert.match(noRepo.stdout, /^ok +10\.00T cycles \(minimum 1\.00T\)$/m);
    assert.match(noRepo.stdout, /^note +no repository at .*: module hash not compared with a backup$/m);

    const id = ok(await s.cli(['backup', 'create', s.canisterId, '-q', ...s.ic])).stdout.trim();
    assert.match(ok(await s.cli(['health', s.canisterId, ...s.ic])).stdout, new RegExp(`^ok +module hash matches backup ${id} `, 'm'));

    canister.setModule(buildWasmModule({ globals: DEFAULT_TEST_GLOBALS, sizeBytes: 10_000, seed: 'upgraded' }));
    const differs = await s.cli(['health', s.canisterId, ...s.ic]);
    failed(differs, 1, new RegExp(`^agentvault: canister ${s.canisterId} is not healthy: module hash \\w+… differs from backup ${id} `));
    assert.match(differs.stdout, new RegExp(`^problem +module hash .* differs from backup ${id} `, 'm'));

    ok(await s.cli(['backup', 'create', s.canisterId, '-q', ...s.ic]));
    canister.setStatus('stopped');
    canister.cycles = 500_000_000_000n;
    const sick = await s.cli(['health', s.canisterId, '--json', ...s.ic]);
    assert.equal(sick.code, 1);
    const report = JSON.parse(sick.stdout) as { healthy: boolean; problems: string[]; backup: { moduleHash: string } };
    assert.equal(report.healthy, false);
    assert.deepEqual(report.problems, ['stopped, not running', '500.00B cycles, below the minimum 1.00T']);
    assert.equal(report.backup.moduleHash, canister.moduleHash!.toString('hex'));
    failed(sick, 1, /is not healthy: stopped, not running; 500\.00B cycles, below the minimum 1\.00T$/);

    canister.setStatus('running');
    ok(await s.cli(['health', s.canisterId, '--min-cycles', '100B', ...s.ic]));
    ok(await s.cli(['config', 'set', 'min-cycles', '2T']));
    failed(await s.cli(['health', s.canisterId, ...s.ic]), 1, /500\.00B cycles, below the minimum 2\.00T$/);
    failed(await s.cli(['health', s.canisterId, '--min-cycles', 'lots', ...s.ic]), 2, /--min-cycles must be a whole number of cycles or an amount like 1\.5T/);

    // Without the password the other checks still run.
    const noPassword = ok(await s.cli(['health', s.canisterId, '--min-cycles', '1', ...s.ic], { AGENTVAULT_PASSWORD: undefined }));
    assert.match(noPassword.stdout, /^note +backups not checked: this repository is encrypted/m);
  });

  test('canister controller lists (for anyone); set-controller adds, --replace sets and guards your own principal', async (t) => {
    const s = await setup(t);
    const canister = s.replica.canister(s.canisterId);
    const controllers = () => canister.controllers.map((c) => c.toText());
    const other = ed25519Identity(s.home, 'other.pem');
    const third = ed25519Identity(s.home, 'third.pem');

    assert.equal(ok(await s.cli(['canister', 'controller', s.canisterId, ...s.ic])).stdout, `${s.identity.principal}\n`);
    const asStranger = JSON.parse(ok(await s.cli(['canister', 'controller', s.canisterId, '--json', ...icArgs(s.replica, other)])).stdout) as { controllers: string[] };
    assert.deepEqual(asStranger.controllers, [s.identity.principal], 'controllers are public');
    failed(await s.cli(['canister', 'controller', s.replica.replica.subnet.canisterIdAt(999n).toText(), ...s.ic]), 1, /was not found/);

    assert.equal(ok(await s.cli(['canister', 'set-controller', s.canisterId, '--principal', other.principal, ...s.ic])).stdout, `${s.identity.principal}\n${other.principal}\n`);
    assert.deepEqual(controllers(), [s.identity.principal, other.principal]);
    assert.match(ok(await s.cli(['canister', 'set-controller', s.canisterId, '--principal', other.principal, ...s.ic])).stderr, /nothing to change/);

    failed(await s.cli(['canister', 'set-controller', s.canisterId, '--principal', third.principal, '--replace', ...s.ic]), 2, /--replace would remove your own principal .* add --force/);
    assert.deepEqual(controllers(), [s.identity.principal, other.principal]);
    ok(await s.cli(['canister', 'set-controller', s.canisterId, '--principal', s.identity.principal, '--principal', third.principal, '--replace', ...s.ic]));
    assert.deepEqual(controllers(), [s.identity.principal, third.principal]);
    failed(await s.cli(['canister', 'set-controller', s.canisterId, '--principal', 'not a principal', ...s.ic]), 2, /is not a principal/);
    failed(await s.cli(['canister', 'set-controller', s.canisterId, ...s.ic]), 2, /give --principal/);

    ok(await s.cli(['canister', 'set-controller', s.canisterId, '--principal', third.principal, '--replace', '--force', ...s.ic]));
    assert.deepEqual(controllers(), [third.principal]);
    failed(await s.cli(['status', s.canisterId, ...s.ic]), 1, /is not a controller/);
  });

  test('config set / show / unset and list: the ic section of the user config', async (t) => {
    const s = await setup(t);
    const second = s.replica.createCanister({ controllers: [s.identity.principal] }).toText();
    const configFile = path.join(s.home, '.config', 'agentvault', 'config.json');

    assert.equal(ok(await s.cli(['list'])).stdout, '');
    assert.match(ok(await s.cli(['list'])).stderr, /no canisters in .*config set canisters/);
    ok(await s.cli(['backup', 'config', '--algorithm', 'brotli']));

    assert.equal(ok(await s.cli(['config', 'set', 'canisters', `${s.canisterId}, ${second}`])).stdout, `canisters = ${s.canisterId},${second}\n`);
    ok(await s.cli(['config', 'set', 'network', s.replica.url]));
    ok(await s.cli(['config', 'set', 'identity-pem', s.identity.pemFile]));
    ok(await s.cli(['config', 'set', 'pre-deployment-backup', 'yes']));
    ok(await s.cli(['config', 'set', 'min-cycles', '2.5T']));
    const saved = JSON.parse(fs.readFileSync(configFile, 'utf8')) as { ic: Record<string, unknown>; backup: Record<string, unknown> };
    assert.deepEqual(saved.ic, { canisters: [s.canisterId, second], network: s.replica.url, identityPem: s.identity.pemFile, preDeploymentBackup: true, minCycles: '2500000000000' });
    assert.equal(saved.backup.compression, 'brotli', 'other sections are kept');

    const shown = ok(await s.cli(['config', 'show'])).stdout;
    assert.equal(shown, [`network = ${s.replica.url}`, `identity-pem = ${s.identity.pemFile}`, `canisters = ${s.canisterId},${second}`, 'pre-deployment-backup = true', 'min-cycles = 2500000000000', ''].join('\n'));
    assert.deepEqual(JSON.parse(ok(await s.cli(['config', 'show', '--json'])).stdout), saved.ic);

    assert.equal(ok(await s.cli(['list', '--format', 'ids'])).stdout, `${s.canisterId}\n${second}\n`);
    const table = ok(await s.cli(['list'])).stdout.split('\n');
    assert.match(table[0]!, /^#\s+CANISTER\s+NETWORK$/);
    assert.match(table[1]!, new RegExp(`^1\\s+${s.canisterId}\\s+${s.replica.url}$`));
    assert.deepEqual(JSON.parse(ok(await s.cli(['list', '--format', 'json'])).stdout).canisters, [s.canisterId, second]);

    // Network and identity now come from the config.
    assert.match(ok(await s.cli(['status', second])).stdout, /^status +running$/m);

    failed(await s.cli(['config', 'set', 'colour', 'blue']), 2, /unknown key "colour"; keys: network, identity, identity-pem, canisters, pre-deployment-backup, min-cycles$/);
    failed(await s.cli(['config', 'set', 'network', 'ftp://x']), 2, /--network URL must be http or https/);
    failed(await s.cli(['config', 'set', 'pre-deployment-backup', 'maybe']), 2, /true or false/);
    failed(await s.cli(['config', 'set', 'min-cycles', 'many']), 2, /min-cycles must be/);
    failed(await s.cli(['config', 'set', 'canisters', 'x,y']), 2, /"x" is not a canister id/);
    fs.writeFileSync(path.join(s.home, 'bad.pem'), 'nope');
    failed(await s.cli(['config', 'set', 'identity-pem', path.join(s.home, 'bad.pem')]), 1, /is not an identity PEM/);
    failed(await s.cli(['config', 'set', 'identity', '../x']), 2, /identity takes a dfx identity name/);

    ok(await s.cli(['config', 'unset', 'canisters']));
    assert.equal(ok(await s.cli(['list', '--format', 'ids'])).stdout, '');
    assert.equal((JSON.parse(fs.readFileSync(configFile, 'utf8')) as { ic: Record<string, unknown> }).ic.canisters, undefined);
  });

  test('deploy: upgrade by default; with pre-deployment-backup a backup first, and no deploy when it fails', async (t) => {
    const s = await setup(t);
    const canister = s.replica.canister(s.canisterId);
    const stable = canister.sha256('stable');
    const v2 = writeWasm(s.home, 'v2');
    const v3 = writeWasm(s.home, 'v3');
    const v4 = writeWasm(s.home, 'v4');

    const plain = ok(await s.cli(['deploy', s.canisterId, '--wasm', v2.file, ...s.ic]));
    assert.equal(plain.stdout, `deployed module ${v2.hash} to canister ${s.canisterId} (upgrade)\n`);
    assert.equal(canister.sha256('module'), v2.hash);
    assert.equal(canister.sha256('stable'), stable, 'an upgrade keeps stable memory');
    assert.equal(fs.existsSync(s.repo), false, 'no backup unless configured');

    ok(await s.cli(['config', 'set', 'pre-deployment-backup', 'true']));
    const withBackup = ok(await s.cli(['deploy', s.canisterId, '--wasm', v3.file, ...s.ic]));
    const [backupLine, deployLine] = withBackup.stdout.trim().split('\n');
    const backupId = /^pre-deployment backup (\w{12})$/.exec(backupLine!)?.[1];
    assert.ok(backupId, withBackup.stdout);
    assert.equal(deployLine, `deployed module ${v3.hash} to canister ${s.canisterId} (upgrade)`);
    const repository = await Repository.open(new LocalBackend(s.repo), { password: PASSWORD.AGENTVAULT_PASSWORD });
    const manifest = await repository.readManifest(backupId);
    assert.equal(manifest.source.moduleHash, v2.hash, 'the backup holds the code from before the deploy');
    assert.deepEqual(manifest.metadata, { reason: 'pre-deployment' });
    assert.equal(canister.status, 'running');

    const refused = await s.cli(['deploy', s.canisterId, '--wasm', v4.file, ...s.ic], { AGENTVAULT_PASSWORD: 'wrong' });
    failed(refused, 1, new RegExp(`^agentvault: the pre-deployment backup of canister ${s.canisterId} failed, so nothing was deployed: wrong password for this repository$`));
    assert.equal(canister.sha256('module'), v3.hash);
    assert.equal(canister.status, 'running');

    const json = JSON.parse(ok(await s.cli(['deploy', s.canisterId, '--wasm', v4.file, '--no-backup', '--json', ...s.ic])).stdout) as Record<string, unknown>;
    assert.deepEqual(json, { canisterId: s.canisterId, mode: 'upgrade', moduleHash: v4.hash, previousModuleHash: v3.hash, backup: null });
    assert.equal((await repository.listBackups()).length, 1);

    failed(await s.cli(['deploy', s.canisterId, '--wasm', v2.file, '--mode', 'install', ...s.ic]), 2, /already has code; --mode install is for an empty canister/);
    failed(await s.cli(['deploy', s.canisterId, ...s.ic]), 2, /give --wasm <file>/);
    failed(await s.cli(['deploy', s.canisterId, '--wasm', path.join(s.home, 'none.wasm'), ...s.ic]), 1, /cannot read the Wasm module .*none\.wasm: ENOENT/);
    ok(await s.cli(['deploy', s.canisterId, '--wasm', v2.file, '--mode', 'reinstall', '--no-backup', ...s.ic]));
    assert.equal(canister.stableMemory.length, 0, 'reinstall starts from empty state');

    const empty = s.replica.createCanister({ controllers: [s.identity.principal], module: null }).toText();
    failed(await s.cli(['deploy', empty, '--wasm', v2.file, ...s.ic]), 2, /has no code to upgrade: use --mode install/);
    const installed = ok(await s.cli(['deploy', empty, '--wasm', v2.file, '--mode', 'install', ...s.ic]));
    assert.match(installed.stderr, /has no code yet: nothing to back up/);
    assert.equal(s.replica.canister(empty).sha256('module'), v2.hash);
  });

  test('replica: the emulator as a command; npm run replica runs the same', async (t) => {
    const home = tempDir(t);
    const run = startCli(['replica', '--heap-mib', '1', '--stable-mib', '0', '--module-kib', '16', '--state-file', path.join(home, 'replica.json')], { home });
    t.after(() => run.child.kill('SIGKILL'));
    let stdout = '';
    run.child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    await waitFor(() => stdout.includes('\n'), 'the startup line');
    const info = JSON.parse(stdout.split('\n')[0]!) as { url: string; canisterId: string; identityPem: string; rootKey: string };
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(home, 'replica.json'), 'utf8')), info);
    const status = JSON.parse(ok(await runCli(['status', info.canisterId, '--json', '--network', info.url, '--identity-pem', info.identityPem], { home })).stdout) as Record<string, unknown>;
    assert.equal(status.status, 'running');
    assert.equal(status.memorySize, String(MIB + 16 * 1024 + 16));
    run.child.kill('SIGTERM');
    const result = await run.result;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /^replica emulator at http:\/\/127\.0\.0\.1:\d+; canister \S+ is controlled by \S+; Ctrl-C stops it$/m);

    const pkg = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '..', 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.equal(pkg.scripts.replica, 'node dist/testing/replica/main.js');
  });
});
