// agentvault archive estimate <backup-size | backup-id>: what storing it on Arweave costs now.
// A size ("5MiB", "1048576") is priced as one transaction; a backup is priced as the
// transactions archiving it would create: packs not yet archived at the gateway, plus its
// manifest.
import { estimateArchive, planArchive } from '../../arweave/archiver.js';
import { ArchiveState } from '../../arweave/archive-state.js';
import { describeCost, parseSize, winstonToAr } from '../../arweave/pricing.js';
import type { CommandContext } from '../context.js';
import { withRepositoryOptions, type CommandGroup } from '../command-group.js';
import { formatBytes } from '../format.js';
import { uploadClients, withGatewayOptions } from './archive-options.js';

export function registerArchiveEstimate(group: CommandGroup): void {
  const cmd = group
    .command('estimate <size-or-backup>', 'Price a size (e.g. 5MiB) or a backup (only what is not archived yet)')
    .option('--regions <names>', 'Count packs as archived only when every gateway of these regions has them');
  withGatewayOptions(withRepositoryOptions(cmd)).action(group.action(archiveEstimate));
}

async function archiveEstimate(ctx: CommandContext, what: string): Promise<void> {
  const clients = await uploadClients(ctx);
  const primary = clients[0]!;
  const size = parseSize(what);
  if (size !== undefined) {
    const winston = await primary.price(size);
    if (ctx.json) ctx.outJson({ bytes: size, winston: winston.toString(), ar: winstonToAr(winston), gateway: primary.url });
    else ctx.out(`${describeCost(winston)} to store ${formatBytes(size)} (${size} bytes) in one transaction, at ${primary.url}`);
    return;
  }
  const repository = await ctx.openRepository();
  const backupId = await repository.resolveBackupId(what);
  const state = await ArchiveState.open(repository.location, repository.config.id);
  const plan = await planArchive(repository, backupId, state, clients.map((c) => c.url));
  const e = await estimateArchive(repository, plan, primary);
  if (ctx.json) {
    ctx.outJson({ backup: backupId, gateway: primary.url, ...e, winston: e.cost.toString(), ar: winstonToAr(e.cost) });
    return;
  }
  if (e.alreadyArchived) {
    ctx.out(`${describeCost(0n)}: backup ${backupId} is archived already (transaction ${e.alreadyArchived})`);
    return;
  }
  ctx.out(`${describeCost(e.cost)} to archive backup ${backupId}: ${formatBytes(e.newBytes)} (${e.newBytes} bytes) in ${e.newPacks} new pack(s) and the manifest`);
  ctx.info(`${e.packs} pack(s) needed: ${e.reusedPacks} already archived at ${primary.url}${e.continuedPacks ? `, ${e.continuedPacks} with a transaction paid for already` : ''}, ${e.newPacks} new`);
}
