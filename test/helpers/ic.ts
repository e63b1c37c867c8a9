// Canister tests: the emulator in this process (so a test can set up and inspect canister state
// directly), identity PEMs in the test's home, and the built CLI spawned against the emulator.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { Secp256k1KeyIdentity } from '@dfinity/identity-secp256k1';
import { generateEd25519Pem } from '../../src/ic/pem.js';
import { startReplica, type RunningReplica, type StartReplicaOptions } from '../../src/testing/index.js';
import { CLI, cliEnv, runCli, type CliResult } from './cli.js';
import { tempDir } from './tmp.js';

export const PASSWORD = { AGENTVAULT_PASSWORD: 'correct horse battery staple' };

export async function testReplica(t: { after(fn: () => Promise<void>): void }, options: StartReplicaOptions = {}): Promise<RunningReplica> {
  const replica = await startReplica(options);
  t.after(() => replica.stop());
  return replica;
}

/** A test's own emulator, home, identity and canister, and the CLI pointed at them. */
export interface CanisterSetup {
  /** An emulator per test, so tests run side by side and call counts are the test's own. */
  readonly replica: RunningReplica;
  readonly home: string;
  readonly repo: string;
  readonly identity: TestIdentity;
  readonly canisterId: string;
  /** Network and identity arguments. */
  readonly ic: string[];
  /** Runs the CLI with the test's home and password (and `env`). */
  cli(args: readonly string[], env?: Record<string, string | undefined>): Promise<CliResult>;
}

export interface CanisterSetupOptions {
  /** The identity PEM written to the home (default Ed25519). */
  readonly identity?: (dir: string) => TestIdentity;
  /** Set AGENTVAULT_REPO to `repo` for every CLI run. */
  readonly repoInEnv?: boolean;
}

/** `createCanister` makes the test's canister, controlled by `identity`, and returns its id. */
export async function canisterSetup(
  t: TestContext,
  createCanister: (replica: RunningReplica, identity: TestIdentity) => string,
  options: CanisterSetupOptions = {},
): Promise<CanisterSetup> {
  const replica = await testReplica(t);
  const home = tempDir(t);
  const identity = (options.identity ?? ed25519Identity)(home);
  const repo = path.join(home, 'repo');
  const base = { ...PASSWORD, ...(options.repoInEnv ? { AGENTVAULT_REPO: repo } : {}) };
  return {
    replica,
    home,
    repo,
    identity,
    canisterId: createCanister(replica, identity),
    ic: icArgs(replica, identity),
    cli: (args, env = {}) => runCli(args, { home, env: { ...base, ...env } }),
  };
}

export interface TestIdentity {
  readonly principal: string;
  readonly pemFile: string;
}

/** A dfx-style Ed25519 PEM in `dir`. */
export function ed25519Identity(dir: string, name = 'identity.pem'): TestIdentity {
  const { identity, pem } = generateEd25519Pem();
  const pemFile = path.join(dir, name);
  fs.writeFileSync(pemFile, pem, { mode: 0o600 });
  return { principal: identity.getPrincipal().toText(), pemFile };
}

/**
 * A secp256k1 PEM as `openssl ecparam -name secp256k1 -genkey` writes it (the quill/dfx docs' way):
 * an "EC PARAMETERS" block, then the SEC1 "EC PRIVATE KEY" that dfx itself writes alone.
 */
export function secp256k1Identity(dir: string, name = 'secp256k1.pem'): TestIdentity {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
  const pem = privateKey.export({ type: 'sec1', format: 'pem' }).toString();
  const pemFile = path.join(dir, name);
  fs.writeFileSync(pemFile, `-----BEGIN EC PARAMETERS-----\nBgUrgQQACg==\n-----END EC PARAMETERS-----\n${pem}`, { mode: 0o600 });
  return { principal: Secp256k1KeyIdentity.fromPem(pem).getPrincipal().toText(), pemFile };
}

/** --network and --identity-pem for a CLI run against the emulator. */
export function icArgs(replica: { url: string }, identity: TestIdentity): string[] {
  return ['--network', replica.url, '--identity-pem', identity.pemFile];
}

/** A port nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RunningCli {
  readonly child: ChildProcessWithoutNullStreams;
  readonly result: Promise<CliResult>;
}

/** Starts the CLI and returns at once, for tests that act while it runs (kill it, flip faults). */
export function startCli(args: readonly string[], options: { home: string; env?: Record<string, string | undefined> }): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], { env: cliEnv(options.home, options.env), stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  const result = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, signal, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes });
    });
  });
  return { child, result };
}

/** Polls `condition` every 20 ms until it holds, failing after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The restore progress file the CLI keeps in `home` (see src/ic/upload-state.ts). */
export function uploadStateFile(home: string, canisterId: string, backupId: string): string {
  return path.join(home, '.local', 'state', 'agentvault', 'uploads', `${canisterId}-${backupId}.json`);
}

/** Calls of one method since `before` (from `replica.methodCounts()`). */
export function callsSince(replica: RunningReplica, before: Record<string, number>, method: string): number {
  return (replica.methodCounts()[method] ?? 0) - (before[method] ?? 0);
}

/** Every `agentvault:` message on stderr is one line: no stack traces, no wrapped output. */
export function assertOneLineError(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith('agentvault: ') && !l.startsWith('agentvault: warning:'));
  if (lines.length !== 1) throw new Error(`expected one error line, got:\n${stderr}`);
  if (/\n\s+at /.test(stderr)) throw new Error(`stack trace on stderr:\n${stderr}`);
  return lines[0]!;
}
