// agentvault backup delete <backup-id>: forget a backup and reclaim the space only it used.
import { collectGarbage } from '../../repository/prune.js';
import type { CommandContext } from '../context.js';
import { withRepositoryOptions, type CommandGroup } from '../command-group.js';
import { formatBytes } from '../format.js';

export function registerBackupDelete(group: CommandGroup): void {
  const cmd = group
    .command('delete <backup-id>', 'Delete a backup and reclaim the space only it used')
    .option('--keep-data', 'Only forget the backup; leave reclaiming to a later prune')
    .option('--dry-run', 'Show what would be deleted');
  withRepositoryOptions(cmd).action(group.action(backupDelete));
}

async function backupDelete(ctx: CommandContext, ref: string): Promise<void> {
  const repository = await ctx.openRepository();
  const lock = await repository.lock(true);
  try {
    const id = await repository.resolveBackupId(ref);
    const manifest = await repository.readManifest(id);
    const dryRun = ctx.opts.bool('dry-run') === true;
    if (!dryRun) await repository.deleteManifest(id);
    const gc = ctx.opts.bool('keep-data') ? undefined : await collectGarbage(repository, { dryRun });
    if (ctx.json) ctx.outJson({ deleted: id, dryRun, source: manifest.source, gc: gc ?? null });
    else {
      ctx.out(`${dryRun ? 'would delete' : 'deleted'} backup ${id} (${manifest.type} of ${manifest.source.name})`);
      if (gc) ctx.info(`${dryRun ? 'would free' : 'freed'} ${formatBytes(gc.bytesFreed)} (${gc.packsDeleted} pack(s) removed, ${gc.packsRewritten} rewritten)`);
    }
  } finally {
    await lock.release();
  }
}
