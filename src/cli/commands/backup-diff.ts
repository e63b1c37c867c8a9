// agentvault backup diff <a> <b>
import { diffBackups } from '../../repository/diff.js';
import type { CommandContext } from '../context.js';
import { withRepositoryOptions, type CommandGroup } from '../command-group.js';
import { formatBytes } from '../format.js';

export function registerBackupDiff(group: CommandGroup): void {
  const cmd = group.command('diff <from> <to>', 'Show what changed between two backups');
  withRepositoryOptions(cmd).action(group.action(backupDiff));
}

async function backupDiff(ctx: CommandContext, fromRef: string, toRef: string): Promise<void> {
  const repository = await ctx.openRepository();
  const from = await repository.readManifest(await repository.resolveBackupId(fromRef));
  const to = await repository.readManifest(await repository.resolveBackupId(toRef));
  const d = diffBackups(from, to);
  if (ctx.json) {
    ctx.outJson(d);
    return;
  }
  ctx.out(`${d.from} → ${d.to}`);
  ctx.out(`  added:   ${formatBytes(d.addedBytes)}`);
  ctx.out(`  removed: ${formatBytes(d.removedBytes)}`);
  ctx.out(`  shared:  ${formatBytes(d.sharedBytes)}`);
  ctx.out(`  entries: ${d.entries.added.length} added, ${d.entries.removed.length} removed, ${d.entries.changed.length} changed, ${d.entries.unchanged} unchanged`);
  const show = (mark: string, names: string[]) => {
    for (const n of names.slice(0, 50)) ctx.out(`  ${mark} ${n}`);
    if (names.length > 50) ctx.out(`  ${mark} … ${names.length - 50} more`);
  };
  show('+', d.entries.added);
  show('-', d.entries.removed);
  show('M', d.entries.changed);
}
