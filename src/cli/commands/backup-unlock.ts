// agentvault backup unlock [--all]: remove locks left by processes that are gone.
import { LocalBackend } from '../../backend/local.js';
import { describeLock, removeLocks } from '../../repository/lock.js';
import type { CommandContext } from '../context.js';
import type { CommandGroup } from '../command-group.js';

export function registerBackupUnlock(group: CommandGroup): void {
  group
    .command('unlock', 'Remove stale locks (of processes no longer running)')
    .option('--all', 'Remove every lock, also of running processes (dangerous)')
    .option('--destination <path>', 'Repository path')
    .option('--json', 'Machine-readable output')
    .action(group.action(backupUnlock));
}

async function backupUnlock(ctx: CommandContext): Promise<void> {
  // Locks are plain files: no key is needed to clear them.
  const store = new LocalBackend(await ctx.repositoryPath());
  const removed = await removeLocks(store, ctx.opts.bool('all') === true);
  if (ctx.json) ctx.outJson({ removed });
  else ctx.out(removed.length === 0 ? 'no stale locks' : removed.map((l) => `removed ${describeLock(l)}`).join('\n'));
}
