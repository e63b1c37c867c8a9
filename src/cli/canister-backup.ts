// A canister backup into the repository, for commands other than `backup create` that need one
// (deploy's pre-deployment backup): the same library path — CanisterSnapshotSource and backup() —
// with the repository options and the configured compression.
import { backup } from '../backup.js';
import { isCodecName } from '../codecs/index.js';
import type { CanisterManagement } from '../ic/management.js';
import type { Manifest } from '../repository/manifest.js';
import { CanisterSnapshotSource } from '../sources/canister.js';
import type { CodecName } from '../types.js';
import { repositoryInitOptions } from './commands/backup-init.js';
import type { CommandContext } from './context.js';
import { withInterrupt } from './interrupt.js';
import { ProgressDisplay } from './progress-display.js';

export async function backupCanister(ctx: CommandContext, management: CanisterManagement, canisterId: string, metadata: Record<string, string> = {}): Promise<Manifest> {
  const source = await CanisterSnapshotSource.open({
    management,
    canisterId,
    onEvent: (m) => (m.startsWith('warning: ') ? ctx.warn(m.slice(9)) : ctx.info(m)),
  });
  // Open the repository first: a wrong password must not cost the canister a stop.
  const { repository } = await ctx.openOrCreateRepository(await repositoryInitOptions(ctx));
  await withInterrupt(() => source.takeSnapshot());
  const configured = (await ctx.userConfig()).backup;
  const codec: CodecName = configured?.compression !== undefined && isCodecName(configured.compression) ? configured.compression : 'zstd';
  const level = codec === configured?.compression ? configured.level : undefined;
  const progress = new ProgressDisplay('backup', process.stderr, ctx.showProgress);
  const result = await withInterrupt((signal) =>
    backup({
      repository,
      source,
      compression: { codec, ...(level !== undefined ? { level } : {}) },
      metadata,
      signal,
      onProgress: progress.update,
      onUnreadableBackup: (id, err) => ctx.warn(`ignoring backup ${id}: ${err.message}`),
    }),
  ).finally(() => progress.done());
  return result.manifest;
}
