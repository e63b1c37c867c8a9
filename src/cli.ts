#!/usr/bin/env node
// agentvault command line: dispatches `agentvault <group> <command>` to the group's cac instance.
// All work lives in the library; commands only parse, call and print.
import { readFileSync } from 'node:fs';
import { AgentvaultError } from './errors.js';
import { CommandGroup } from './cli/command-group.js';
import type { CommandIo } from './cli/context.js';

// Each group's modules load only when that group runs: `--version` and `backup list` must not
// pay for the IC agent's or arweave's start-up.
type Register = (g: CommandGroup) => void;
const GROUPS: Record<string, { description: string; load: () => Promise<Register> }> = {
  backup: { description: 'Create, list, restore, verify, delete and prune backups', load: async () => (await import('./cli/commands/backup.js')).registerBackupCommands },
  archive: { description: 'Archive backups to Arweave, check, list, download and price them', load: async () => (await import('./cli/commands/archive.js')).registerArchiveCommands },
  wallet: { description: 'The Arweave wallet that pays for archives', load: async () => (await import('./cli/commands/wallet.js')).registerWalletCommands },
  status: { description: 'Status, module hash, cycles, controllers and settings of a canister', load: async () => (await import('./cli/commands/status.js')).registerStatusCommand },
  health: { description: 'Check a canister: running, code as in its newest backup, enough cycles', load: async () => (await import('./cli/commands/health.js')).registerHealthCommand },
  canister: { description: 'List or set the controllers of a canister', load: async () => (await import('./cli/commands/canister.js')).registerCanisterCommands },
  list: { description: 'The canisters in the config', load: async () => (await import('./cli/commands/list.js')).registerListCommand },
  config: { description: 'IC settings: network, identity, canisters, pre-deployment backup, minimum cycles', load: async () => (await import('./cli/commands/config.js')).registerConfigCommands },
  deploy: { description: 'Install a Wasm module into a canister (after a backup, if configured)', load: async () => (await import('./cli/commands/deploy.js')).registerDeployCommand },
  replica: { description: 'Run the local IC replica emulator (for trying agentvault and for tests)', load: async () => (await import('./cli/commands/replica.js')).registerReplicaCommand },
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function usage(): string {
  const lines = [`agentvault ${version()} — deduplicating, encrypted backups of canisters, files and streams`, '', 'Usage: agentvault <group> <command> [options]', '', 'Groups:'];
  for (const [name, g] of Object.entries(GROUPS)) lines.push(`  ${name.padEnd(10)} ${g.description}`);
  lines.push('', 'Run `agentvault <group> --help` for its commands.');
  return lines.join('\n');
}

export async function main(argv: readonly string[], io: CommandIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const [groupName, ...rest] = argv;
  if (groupName === undefined || groupName === '--help' || groupName === '-h' || groupName === 'help') {
    io.stdout.write(`${usage()}\n`);
    return groupName === undefined ? 2 : 0;
  }
  if (groupName === '--version' || groupName === '-v') {
    io.stdout.write(`${version()}\n`);
    return 0;
  }
  const group = GROUPS[groupName];
  try {
    if (!group) throw new AgentvaultError('USAGE', `unknown command ${JSON.stringify(groupName)}; run agentvault --help`);
    const commandGroup = new CommandGroup(groupName, rest, io);
    (await group.load())(commandGroup);
    await commandGroup.run();
    return 0;
  } catch (err) {
    return reportError(err, io);
  }
}

function reportError(err: unknown, io: CommandIo): number {
  if (err instanceof AgentvaultError) {
    io.stderr.write(`agentvault: ${err.message}\n`);
    return err.exitCode;
  }
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ERR_STREAM_PREMATURE_CLOSE' || e?.code === 'EPIPE') {
    io.stderr.write('agentvault: output closed before the command finished\n');
    return 1;
  }
  io.stderr.write(`agentvault: ${e?.message ?? String(err)}\n`);
  if (io.env.AGENTVAULT_DEBUG) io.stderr.write(`${e?.stack ?? ''}\n`);
  return 1;
}

// Run when executed directly (bin or `node dist/cli.js`), not when imported by tests.
const invokedPath = process.argv[1] ? new URL(`file://${process.argv[1]}`).pathname : '';
if (invokedPath.endsWith('/cli.js') || invokedPath.endsWith('/cli.ts') || invokedPath.endsWith('/agentvault')) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`agentvault: ${(err as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
