// agentvault backup init: create a repository explicitly (backup create also creates one).
import { LocalBackend } from '../../backend/local.js';
import { isChunkIdAlgorithm } from '../../crypto/chunk-id.js';
import { UsageError } from '../../errors.js';
import type { InitOptions } from '../../repository/repository.js';
import type { Command } from 'cac';
import type { CommandContext } from '../context.js';
import { withRepositoryOptions, type CommandGroup } from '../command-group.js';

export function withInitOptions(cmd: Command): Command {
  return cmd
    .option('--chunk-min <bytes>', 'New repository: minimum chunk size (default 2048)')
    .option('--chunk-avg <bytes>', 'New repository: average chunk size (default 8192)')
    .option('--chunk-max <bytes>', 'New repository: maximum chunk size (default 65536)')
    .option('--chunk-id <algorithm>', 'New repository: blake3-keyed (default) or hmac-sha256')
    .option('--pack-size <bytes>', 'New repository: pack file size (default 16 MiB)');
}

export async function repositoryInitOptions(ctx: CommandContext): Promise<Omit<InitOptions, 'password' | 'recipients'>> {
  const o = ctx.opts;
  const chunkId = o.string('chunk-id');
  if (chunkId !== undefined && !isChunkIdAlgorithm(chunkId)) throw new UsageError('--chunk-id must be blake3-keyed or hmac-sha256');
  const min = o.int('chunk-min', { min: 64 });
  const avg = o.int('chunk-avg', { min: 128 });
  const max = o.int('chunk-max', { min: 256, max: 16 << 20 });
  const packSize = o.int('pack-size', { min: 1 << 20, max: 1 << 30 });
  const chunker = { ...(min ? { min } : {}), ...(avg ? { avg } : {}), ...(max ? { max } : {}) };
  return {
    encryption: o.bool('encrypt') === false ? 'none' : 'aes-256-gcm',
    ...(Object.keys(chunker).length ? { chunker } : {}),
    ...(chunkId ? { chunkId } : {}),
    ...(packSize ? { packSize } : {}),
  };
}

export function registerBackupInit(group: CommandGroup): void {
  const cmd = group.command('init', 'Create a repository').option('--encrypt', 'Encrypt (default); --no-encrypt for an unencrypted repository');
  withInitOptions(withRepositoryOptions(cmd));
  cmd.action(
    group.action(async (ctx) => {
      const store = new LocalBackend(await ctx.repositoryPath());
      const repository = await ctx.createRepository(store, await repositoryInitOptions(ctx));
      if (ctx.json) ctx.outJson({ location: repository.location, id: repository.config.id, encryption: repository.config.encryption, chunker: repository.config.chunker });
      else ctx.out(repository.location);
    }),
  );
}
