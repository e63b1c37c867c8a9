// agentvault backup export <backup-id> --stdout [--since <parent-id>] [--output <file>]
import fs from 'node:fs';
import { UsageError } from '../../errors.js';
import { exportBackupStream } from '../../stream/operations.js';
import type { CommandContext } from '../context.js';
import { withRepositoryOptions, type CommandGroup } from '../command-group.js';
import { withInterrupt } from '../interrupt.js';
import { ProgressDisplay } from '../progress-display.js';
import { temporarySibling } from '../../sinks/restore-target.js';

export function registerBackupExport(group: CommandGroup): void {
  const cmd = group
    .command('export <backup-id>', 'Write a backup as a self-describing stream (for backup import / restore --stdin)')
    .option('--stdout', 'Write the stream to stdout')
    .option('--output <file>', 'Write the stream to a file')
    .option('--since <parent-id>', 'Incremental stream: only what the parent backup does not have');
  withRepositoryOptions(cmd).action(group.action(backupExport));
}

async function backupExport(ctx: CommandContext, ref: string): Promise<void> {
  const output = ctx.opts.string('output');
  const toStdout = ctx.opts.bool('stdout') === true;
  if (toStdout === (output !== undefined)) throw new UsageError('give --stdout or --output <file>');
  if (toStdout && process.stdout.isTTY) throw new UsageError('stdout is a terminal: redirect the stream to a file or a pipe');
  const repository = await ctx.openRepository();
  const manifest = await repository.readManifest(await repository.resolveBackupId(ref));
  const sinceRef = ctx.opts.string('since');
  const since = sinceRef !== undefined ? await repository.readManifest(await repository.resolveBackupId(sinceRef)) : undefined;
  if (since?.id === manifest.id) throw new UsageError('--since names the backup itself');

  const progress = new ProgressDisplay('export', process.stderr, ctx.showProgress);
  const temp = output !== undefined ? temporarySibling(output) : undefined;
  const out = temp !== undefined ? fs.createWriteStream(temp, { flags: 'wx', mode: 0o600 }) : process.stdout;
  try {
    await withInterrupt((signal) => exportBackupStream({ repository, manifest, ...(since ? { since } : {}), output: out, signal, onProgress: progress.update }));
    if (temp !== undefined) {
      await new Promise<void>((resolve, reject) => (out as fs.WriteStream).end((err?: Error | null) => (err ? reject(err) : resolve())));
      fs.renameSync(temp, output!);
    }
  } catch (err) {
    if (temp !== undefined) {
      (out as fs.WriteStream).destroy();
      fs.rmSync(temp, { force: true });
    }
    throw err;
  } finally {
    progress.done();
  }
  ctx.info(`exported ${since ? `incremental (since ${since.id}) ` : ''}backup ${manifest.id}${output ? ` to ${output}` : ''}`);
}
