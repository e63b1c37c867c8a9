// agentvault archive delete <tx-id>: forgets the local record of an archive. Nothing on Arweave
// can be deleted, and the command says so.
import { ArchiveState } from '../../arweave/archive-state.js';
import { isTransactionId } from '../../arweave/client.js';
import { AgentvaultError, UsageError } from '../../errors.js';
import type { CommandContext } from '../context.js';
import type { CommandGroup } from '../command-group.js';
import { openArchiveState, txArgument } from './archive-options.js';

export function registerArchiveDelete(group: CommandGroup): void {
  group
    .command('delete [tx-id]', 'Remove the local record of an archive (the data on Arweave is permanent)')
    .option('--destination <path>', 'Repository path')
    .option('--json', 'Machine-readable output')
    .action(group.action(archiveDelete));
}

async function archiveDelete(ctx: CommandContext, positional?: string): Promise<void> {
  const tx = txArgument(ctx, positional, true)!;
  if (!isTransactionId(tx)) throw new UsageError(`${JSON.stringify(tx)} is not an Arweave transaction id`);
  const opened = await openArchiveState(ctx);
  if (!opened) throw new AgentvaultError('NO_REPOSITORY', `no repository at ${await ctx.repositoryPath()}`);
  const lock = await ArchiveState.lock(opened.location);
  try {
    const state = await ArchiveState.open(opened.location, opened.state.file.repository);
    const found = state.archivesByTx(tx);
    if (found.length === 0) throw new AgentvaultError('NOT_FOUND', `no archive with manifest transaction ${tx} is recorded in ${opened.location} (see agentvault archive list)`);
    for (const { gateway } of found) delete state.gateway(gateway).archives[tx];
    await state.save();
    const backup = found[0]!.archive.backup;
    const note = 'the data on Arweave is permanent: it was not deleted and cannot be; anyone with the transaction id can still fetch it (encrypted archives stay unreadable without the password or key)';
    if (ctx.json) ctx.outJson({ removed: tx, backup, gateways: found.map((f) => f.gateway), permanent: true, note });
    else {
      ctx.out(`removed the local record of archive ${tx} (backup ${backup})`);
      ctx.warn(note);
    }
  } finally {
    await lock.release();
  }
}
