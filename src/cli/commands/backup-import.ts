// agentvault backup import --stdin | --input <file>
import fs from 'node:fs';
import { UsageError } from '../../errors.js';
import { gatherCredentials } from '../credentials.js';
import { importBackupStream } from '../../stream/operations.js';
import type { CommandContext } from '../context.js';
import { withRepositoryOptions, type CommandGroup } from '../command-group.js';
import { formatBytes } from '../format.js';
import { withInterrupt } from '../interrupt.js';
import { ProgressDisplay } from '../progress-display.js';
import { Options } from '../options.js';
import { backupCreateJson } from './backup-create.js';
import { repositoryInitOptions, withInitOptions } from './backup-init.js';

export function registerBackupImport(group: CommandGroup): void {
  const cmd = group
    .command('import', 'Store a backup stream (from backup export or backup create --stdout) in the repository')
    .option('--stdin', 'Read the stream from stdin')
    .option('--input <file>', 'Read the stream from a file')
    .option('--stream-password-file <file>', "The stream's password, when it differs from the repository's")
    .option('--stream-key-file <file>', "The stream's age identity file, when it differs from the repository's")
    .option('--encrypt', 'Encrypt a new repository (the default); --no-encrypt creates an unencrypted one');
  withInitOptions(withRepositoryOptions(cmd)).action(group.action(backupImport));
}

async function backupImport(ctx: CommandContext): Promise<void> {
  const file = ctx.opts.string('input');
  const fromStdin = ctx.opts.bool('stdin') === true;
  if (fromStdin === (file !== undefined)) throw new UsageError('give --stdin or --input <file>');
  if (fromStdin && process.stdin.isTTY) throw new UsageError('stdin is a terminal: pipe a backup stream in');
  const input = file !== undefined ? fs.createReadStream(file) : process.stdin;

  const { repository } = await ctx.openOrCreateRepository(await repositoryInitOptions(ctx));
  // The stream is unlocked with its own credentials when given, else with the repository's.
  const streamArgs = [
    ...(ctx.opts.string('stream-password-file') !== undefined ? ['--password-file', ctx.opts.string('stream-password-file')!] : []),
    ...(ctx.opts.string('stream-key-file') !== undefined ? ['--key-file', ctx.opts.string('stream-key-file')!] : []),
  ];
  const credentials = streamArgs.length > 0 ? await gatherCredentials(new Options({}, streamArgs), {}) : await ctx.credentials();

  const progress = new ProgressDisplay('import', process.stderr, ctx.showProgress);
  const manifest = await withInterrupt((signal) => importBackupStream({ repository, input, credentials, signal, onProgress: progress.update })).finally(() => progress.done());
  if (ctx.json) ctx.outJson(backupCreateJson(manifest));
  else {
    ctx.out(manifest.id);
    ctx.info(`imported ${manifest.type} backup ${manifest.id} of ${manifest.source.name}: ${formatBytes(manifest.stats.logicalSize)}, stored ${formatBytes(manifest.stats.storedSize)} new`);
  }
}
