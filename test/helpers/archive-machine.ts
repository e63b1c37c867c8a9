// A test "machine" for the archive CLI tests: its own HOME and repository, configured for one
// gateway (and wallet), and a funded-wallet helper.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli } from './cli.js';
import { AR, createWallet, type Gateway, type TestWallet } from './arlocal.js';
import { tempDir } from './tmp.js';

export const PASSWORD = { AGENTVAULT_PASSWORD: 'correct horse battery staple' };

export interface Machine {
  readonly home: string;
  readonly env: Record<string, string>;
}

/** `configure`: further `archive configure` options (regions, retries). */
export async function machine(t: Parameters<typeof tempDir>[0], gateway: { url: string }, wallet?: TestWallet, configure: readonly string[] = []): Promise<Machine> {
  const home = tempDir(t);
  const env = { ...PASSWORD, AGENTVAULT_REPO: path.join(home, 'repo') };
  const args = ['archive', 'configure', '--host', gateway.url, ...(wallet ? ['--wallet', wallet.path] : []), ...configure];
  const configured = await runCli(args, { home, env });
  assert.equal(configured.code, 0, configured.stderr);
  return { home, env };
}

export async function cli(m: Machine, args: string[], extra: { env?: Record<string, string | undefined>; input?: Buffer } = {}) {
  return runCli(args, { home: m.home, env: { ...m.env, ...extra.env }, ...(extra.input ? { input: extra.input } : {}) });
}

export async function funded(t: Parameters<typeof tempDir>[0], gateway: Gateway, winston = 100n * AR): Promise<TestWallet> {
  const wallet = await createWallet(tempDir(t));
  await gateway.mint(wallet.address, winston);
  return wallet;
}

/** Writes `bytes` to <home>/heap.bin and backs it up in 1 MiB packs (several pack transactions). */
export async function backupInPacks(m: Machine, bytes: Buffer): Promise<{ file: string; id: string }> {
  const file = path.join(m.home, 'heap.bin');
  fs.writeFileSync(file, bytes);
  const created = await cli(m, ['backup', 'create', '--file', file, '--pack-size', '1048576', '--json']);
  assert.equal(created.code, 0, created.stderr);
  return { file, id: JSON.parse(created.stdout).id as string };
}
