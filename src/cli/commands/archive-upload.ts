// agentvault archive upload <backup-id> [--retry] [--async] [--timeout s] [--chunk-size bytes]
//   [--regions a,b] [--public] [--wallet f] [--concurrency n] [--wait s]
// and the `backup create --archive` hook.
import { archiveBackup, type ArchiveUploadResult } from '../../arweave/archiver.js';
import type { GatewayClient } from '../../arweave/client.js';
import { ArweaveError } from '../../arweave/errors.js';
import { describeCost } from '../../arweave/pricing.js';
import { checkChunkSize } from '../../arweave/transaction.js';
import type { ArweaveWallet } from '../../arweave/wallet.js';
import { AgentvaultError, UsageError } from '../../errors.js';
import type { Manifest } from '../../repository/manifest.js';
import type { Repository } from '../../repository/repository.js';
import type { CommandContext } from '../context.js';
import { withRepositoryOptions, type CommandGroup } from '../command-group.js';
import { formatBytes } from '../format.js';
import { withInterrupt } from '../interrupt.js';
import { ProgressDisplay } from '../progress-display.js';
import { loadWallet, parseChunkSize, uploadClients, withGatewayOptions } from './archive-options.js';

export function registerArchiveUpload(group: CommandGroup): void {
  const cmd = group
    .command('upload <backup-id>', 'Archive a backup to Arweave (id, unique prefix, or latest)')
    .option('--wallet <jwk-file>', 'Wallet that pays (default: the configured one)')
    .option('--retry', 'Continue an interrupted upload instead of refusing to pay again')
    .option('--async', 'Do not wait for the transactions to be mined (check later with archive status)')
    .option('--wait <seconds>', 'How long to wait for mining before leaving the archive pending (default 3600)')
    .option('--chunk-size <bytes>', 'Arweave chunk size, 32768..262144 (default 262144, the only size mainnet nodes accept)')
    .option('--concurrency <n>', 'Pack transactions uploading at once per gateway (default 4)')
    .option('--regions <names>', 'Upload to the gateways of these configured regions (comma-separated), seeding the same transactions to each')
    .option('--public', 'Allow archiving an unencrypted repository: the data becomes public, permanently');
  withGatewayOptions(withRepositoryOptions(cmd)).action(group.action(archiveUpload));
}

interface UploadSettings {
  readonly wallet: ArweaveWallet;
  readonly clients: GatewayClient[];
  readonly retry: boolean;
  readonly wait: boolean;
  readonly waitTimeoutMs: number | undefined;
  readonly chunkSize: number | undefined;
  readonly concurrency: number | undefined;
  readonly isPublic: boolean;
}

async function uploadSettings(ctx: CommandContext): Promise<UploadSettings> {
  const o = ctx.opts;
  const chunkSize = parseChunkSize(ctx);
  if (chunkSize !== undefined) checkChunkSize(chunkSize);
  const wait = o.int('wait', { min: 0 });
  return {
    wallet: await loadWallet(ctx),
    clients: await uploadClients(ctx),
    retry: o.bool('retry') === true,
    wait: o.bool('async') !== true,
    waitTimeoutMs: wait !== undefined ? wait * 1000 : undefined,
    chunkSize,
    concurrency: o.int('concurrency', { min: 1, max: 64 }),
    isPublic: o.bool('public') === true,
  };
}

async function archiveUpload(ctx: CommandContext, ref: string): Promise<void> {
  const settings = await uploadSettings(ctx);
  const repository = await ctx.openRepository();
  const backupId = await repository.resolveBackupId(ref);
  let result: ArchiveUploadResult;
  try {
    result = await runUpload(ctx, repository, backupId, settings);
  } catch (err) {
    // Interrupted, or a gateway that timed out, failed or went away: what was acknowledged is saved.
    if (err instanceof AgentvaultError && err.code === 'ABORTED') {
      throw new AgentvaultError('ABORTED', `interrupted; what the gateway acknowledged is saved: run \`agentvault archive upload ${backupId} --retry\` to continue`, { cause: err });
    }
    if (err instanceof ArweaveError && (err.code === 'TIMEOUT' || err.code === 'NETWORK' || err.code === 'HTTP')) {
      throw new ArweaveError(err.code, `${err.message}; run \`agentvault archive upload ${backupId} --retry\` to continue where it stopped`, { cause: err });
    }
    throw err;
  }
  report(ctx, result);
}

async function runUpload(ctx: CommandContext, repository: Repository, backupId: string, s: UploadSettings): Promise<ArchiveUploadResult> {
  const progress = new ProgressDisplay('archive', process.stderr, ctx.showProgress);
  const started = Date.now();
  return withInterrupt((signal) =>
    archiveBackup({
      repository,
      backupId,
      wallet: s.wallet,
      clients: s.clients,
      public: s.isPublic,
      retry: s.retry,
      wait: s.wait,
      ...(s.waitTimeoutMs !== undefined ? { waitTimeoutMs: s.waitTimeoutMs } : {}),
      ...(s.chunkSize !== undefined ? { chunkSize: s.chunkSize } : {}),
      ...(s.concurrency !== undefined ? { concurrency: s.concurrency } : {}),
      signal,
      onProgress: (bytes, totalBytes) => progress.update({ bytes, totalBytes, entries: 0, currentEntry: undefined, elapsedMs: Date.now() - started }),
      onInfo: (line) => {
        progress.done();
        ctx.info(line);
      },
    }),
  ).finally(() => progress.done());
}

function report(ctx: CommandContext, r: ArchiveUploadResult): void {
  if (ctx.json) {
    ctx.outJson(r);
    return;
  }
  ctx.out(r.tx);
  const where = r.gateways.join(', ');
  if (r.alreadyArchived) ctx.info(`backup ${r.backup} was already archived as ${r.tx} at ${where} (${r.status})`);
  else {
    ctx.info(
      `archived backup ${r.backup} as transaction ${r.tx} at ${where}: ${r.newPacks} new pack(s), ${r.reusedPacks} already archived` +
        `${r.resumedPacks ? `, ${r.resumedPacks} resumed` : ''}${r.seededPacks ? `, ${r.seededPacks} seeded` : ''}; ` +
        `${formatBytes(r.uploadedBytes)} stored for ${describeCost(r.cost)}`,
    );
  }
  if (r.status === 'completed') ctx.info(`completed: every transaction is mined${r.confirmations !== undefined ? ` (manifest: ${r.confirmations} confirmation(s))` : ''}`);
  else if (r.status === 'pending') ctx.info(`pending: not mined yet; check with \`agentvault archive status ${r.tx}\``);
  else if (r.status === 'failed') throw new AgentvaultError('MISSING_DATA', `archive ${r.tx} failed: a transaction was dropped by the gateway; run \`agentvault archive upload ${r.backup} --retry\``);
}

/** `backup create --archive`: checked before the backup runs, uploaded after it completes. */
export interface BackupArchiving {
  check(repository: Repository): void;
  upload(repository: Repository, manifest: Manifest): Promise<ArchiveUploadResult>;
}

export async function prepareBackupArchiving(ctx: CommandContext): Promise<BackupArchiving> {
  if (ctx.opts.bool('stdout')) throw new UsageError('--archive archives a backup stored in a repository; it does not go with --stdout');
  const settings = await uploadSettings(ctx);
  return {
    check(repository) {
      if (!repository.encrypted && !settings.isPublic) {
        throw new UsageError(`the repository at ${repository.location} is not encrypted: --archive would publish the backup to everyone, permanently; back up without --archive, then run \`agentvault archive upload <id> --public\` if that is what you want`);
      }
    },
    async upload(repository, manifest) {
      try {
        const result = await runUpload(ctx, repository, manifest.id, settings);
        if (!ctx.json) report(ctx, result);
        return result;
      } catch (err) {
        const resume = `resume with \`agentvault archive upload ${manifest.id} --retry\``;
        if (err instanceof AgentvaultError && err.code === 'ABORTED') {
          throw new AgentvaultError('ABORTED', `backup ${manifest.id} is stored in ${repository.location}; archiving it was interrupted: ${resume}`, { cause: err });
        }
        throw new AgentvaultError('INPUT', `backup ${manifest.id} is stored in ${repository.location}, but archiving it to Arweave failed: ${(err as Error).message}; ${resume}`, { cause: err });
      }
    },
  };
}
