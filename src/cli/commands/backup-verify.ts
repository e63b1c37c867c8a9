// agentvault backup verify <backup-id> | --all [--read-data]
import { AgentvaultError, UsageError } from '../../errors.js';
import { checkRepository } from '../../repository/check.js';
import type { CommandContext } from '../context.js';
import { withRepositoryOptions, type CommandGroup } from '../command-group.js';
import { formatBytes } from '../format.js';
import { ProgressDisplay } from '../progress-display.js';

export function registerBackupVerify(group: CommandGroup): void {
  const cmd = group
    .command('verify [backup-id]', 'Check that backups are complete and intact')
    .option('--all', 'Verify every backup')
    .option('--read-data', 'Read and verify every stored byte, not just the structure');
  withRepositoryOptions(cmd).action(group.action(backupVerify));
}

async function backupVerify(ctx: CommandContext, ref?: string): Promise<void> {
  const all = ctx.opts.bool('all') === true;
  if (all === (ref !== undefined)) throw new UsageError('give a backup id or --all');
  const repository = await ctx.openRepository();
  const unreadable: string[] = [];
  const manifests = all
    ? await repository.listBackups({ onUnreadable: (id, err) => unreadable.push(`backup ${id}: ${err.message}`) })
    : [await repository.readManifest(await repository.resolveBackupId(ref!))];
  const readData = ctx.opts.bool('read-data') === true;
  const progress = new ProgressDisplay('verify', process.stderr, ctx.showProgress);
  const report = await checkRepository(repository, manifests, {
    readData,
    onProgress: (bytes, total) => progress.update({ bytes, totalBytes: total, entries: 0, currentEntry: undefined, elapsedMs: 0 }),
  }).finally(() => progress.done());
  report.problems.unshift(...unreadable);

  if (ctx.json) ctx.outJson({ ok: report.problems.length === 0, readData, ...report });
  else {
    for (const p of report.problems) ctx.out(`problem: ${p}`);
    const what = `${report.backups} backup(s), ${report.chunks} chunks in ${report.packs} packs`;
    if (readData && !report.decrypted) ctx.warn('data checked by checksum only: this key can write but not decrypt');
    ctx.out(report.problems.length === 0 ? `ok: ${what}${readData ? `, ${formatBytes(report.bytesRead)} read and verified` : ''}` : `${report.problems.length} problem(s) in ${what}`);
  }
  if (report.problems.length > 0) throw new AgentvaultError('CORRUPT', `verification failed: ${report.problems.length} problem(s)${ctx.json ? '' : ' (listed above)'}`);
}
