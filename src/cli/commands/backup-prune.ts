// agentvault backup prune [--older-than <days>] [--keep-last n] [--keep-daily n] [--keep-weekly n] [--keep-monthly n]
import { collectGarbage } from '../../repository/prune.js';
import { applyRetention, type RetentionPolicy } from '../../repository/retention.js';
import type { CommandContext } from '../context.js';
import { withRepositoryOptions, type CommandGroup } from '../command-group.js';
import { formatBytes, formatDate } from '../format.js';
import { sourceFilter } from './backup-list.js';

export function registerBackupPrune(group: CommandGroup): void {
  const cmd = group
    .command('prune', 'Delete backups a retention policy does not keep, then reclaim unused space')
    .option('--older-than <days>', 'Backups older than this many days may be deleted')
    .option('--keep-last <n>', 'Keep the n newest backups of each source')
    .option('--keep-daily <n>', 'Keep the newest backup of each of the last n days with backups')
    .option('--keep-weekly <n>', 'Keep the newest backup of each of the last n weeks with backups')
    .option('--keep-monthly <n>', 'Keep the newest backup of each of the last n months with backups')
    .option('--canister <id>', 'Only apply the policy to this source')
    .option('--source <name>', 'Only apply the policy to this source')
    .option('--dry-run', 'Show what would be deleted; change nothing');
  withRepositoryOptions(cmd).action(group.action(backupPrune));
}

async function backupPrune(ctx: CommandContext): Promise<void> {
  const o = ctx.opts;
  const policy: RetentionPolicy = {
    ...opt('olderThanDays', o.int('older-than', { min: 0 })),
    ...opt('keepLast', o.int('keep-last', { min: 0 })),
    ...opt('keepDaily', o.int('keep-daily', { min: 0 })),
    ...opt('keepWeekly', o.int('keep-weekly', { min: 0 })),
    ...opt('keepMonthly', o.int('keep-monthly', { min: 0 })),
  };
  const dryRun = o.bool('dry-run') === true;
  const repository = await ctx.openRepository();
  const lock = await repository.lock(true);
  try {
    const filter = sourceFilter(ctx);
    const backups = (await repository.listBackups()).filter((m) => filter === undefined || m.source.name === filter);
    const { keep, remove } = applyRetention(backups, policy);
    if (!dryRun) for (const m of remove) await repository.deleteManifest(m.id);
    const gc = await collectGarbage(repository, { dryRun });
    if (ctx.json) {
      ctx.outJson({ dryRun, policy, removed: remove.map((m) => m.id), kept: keep.map((m) => m.id), gc });
      return;
    }
    for (const m of remove) ctx.out(`${dryRun ? 'would delete' : 'deleted'} ${m.id}  ${formatDate(m.created)}  ${m.type}  ${m.source.name}`);
    ctx.info(`${remove.length} backup(s) ${dryRun ? 'would be ' : ''}deleted, ${keep.length} kept; ${dryRun ? 'would free' : 'freed'} ${formatBytes(gc.bytesFreed)} (${gc.packsDeleted} pack(s) removed, ${gc.packsRewritten} rewritten)`);
  } finally {
    await lock.release();
  }
}

function opt<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}
