// agentvault archive download <tx-id> [--region nearest|<name>]: an archived backup (manifest and
// packs, every byte verified) into the local repository — recreated from the archive when there
// is none at the path.
import { downloadArchive } from '../../arweave/download.js';
import { ArweaveArchive } from '../../sources/arweave.js';
import type { CommandContext } from '../context.js';
import { withRepositoryOptions, type CommandGroup } from '../command-group.js';
import { formatBytes } from '../format.js';
import { withInterrupt } from '../interrupt.js';
import { archiveCredentials, readClients, txArgument, withGatewayOptions } from './archive-options.js';

export function registerArchiveDownload(group: CommandGroup): void {
  const cmd = group
    .command('download [tx-id]', 'Fetch an archived backup into the local repository (created from the archive if absent)')
    .option('--region <region>', '"nearest" (lowest latency, falling back to the next), or a configured region name');
  withGatewayOptions(withRepositoryOptions(cmd)).action(group.action(archiveDownload));
}

async function archiveDownload(ctx: CommandContext, positional?: string): Promise<void> {
  const tx = txArgument(ctx, positional, true)!;
  const clients = await readClients(ctx, ctx.opts.string('region'));
  const result = await withInterrupt(async (signal) => {
    const archive = await ArweaveArchive.fetch(clients, tx, signal);
    ctx.info(`archive ${tx} from ${archive.gateway}: backup ${archive.backupId}, signed by ${archive.owner}`);
    const credentials = await archiveCredentials(ctx, archive.body.encrypted);
    const path = await ctx.repositoryPath();
    return downloadArchive({
      archive,
      path,
      credentials,
      openExisting: () => ctx.openRepository(),
      recordState: true,
      signal,
      onPack: (bytes, done, total) => ctx.info(`pack ${done}/${total} (${formatBytes(bytes)}) verified`),
    });
  });
  const summary = {
    backup: result.manifest.id,
    repository: result.repository.location,
    repositoryCreated: result.created,
    downloadedPacks: result.downloadedPacks,
    downloadedBytes: result.downloadedBytes,
    presentPacks: result.presentPacks,
    manifestWritten: result.manifestWritten,
  };
  if (ctx.json) {
    ctx.outJson(summary);
    return;
  }
  ctx.out(result.manifest.id);
  ctx.info(
    `${result.created ? 'recreated the repository at' : 'added to'} ${result.repository.location}: backup ${result.manifest.id}, ` +
      `${result.downloadedPacks} pack(s) downloaded (${formatBytes(result.downloadedBytes)}), ${result.presentPacks} already present` +
      `${result.manifestWritten ? '' : '; the backup was there already'}`,
  );
}
