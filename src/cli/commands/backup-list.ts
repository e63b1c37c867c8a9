// agentvault backup list [--canister <id>] [--source <name>] [--show-size] [--json]
import type { Manifest } from '../../repository/manifest.js';
import type { CommandContext } from '../context.js';
import { withRepositoryOptions, type CommandGroup } from '../command-group.js';
import { formatBytes, formatDate, formatTable } from '../format.js';
import { backupCreateJson } from './backup-create.js';

export function registerBackupList(group: CommandGroup): void {
  const cmd = group
    .command('list', 'List backups, oldest first')
    .option('--canister <id>', 'Only backups of this canister')
    .option('--source <name>', 'Only backups of this source (file, stdin name, project, canister)')
    .option('--show-size', 'Also show exact byte counts and chunk counts');
  withRepositoryOptions(cmd).action(group.action(backupList));
}

export function sourceFilter(ctx: CommandContext): string | undefined {
  return ctx.opts.string('canister') ?? ctx.opts.string('source');
}

async function backupList(ctx: CommandContext): Promise<void> {
  const repository = await ctx.openRepository();
  const filter = sourceFilter(ctx);
  const backups = (await repository.listBackups({ onUnreadable: (id, err) => ctx.warn(`skipping backup ${id}: ${err.message}`) })).filter((m) => filter === undefined || m.source.name === filter);
  if (ctx.json) {
    ctx.outJson(backups.map(backupCreateJson));
    return;
  }
  if (backups.length === 0) {
    ctx.info(filter !== undefined ? `no backups of ${filter} in ${repository.location}` : `no backups in ${repository.location}`);
    return;
  }
  const exact = ctx.opts.bool('show-size') === true;
  const header = ['ID', 'CREATED', 'TYPE', 'PARENT', 'SOURCE', 'SIZE', 'STORED', ...(exact ? ['SIZE (B)', 'STORED (B)', 'CHUNKS', 'NEW'] : [])];
  const rows = backups.map((m: Manifest) => [
    m.id,
    formatDate(m.created),
    m.type,
    m.parent ?? '-',
    `${m.source.kind}:${m.source.name}`,
    formatBytes(m.stats.logicalSize),
    formatBytes(m.stats.storedSize),
    ...(exact ? [String(m.stats.logicalSize), String(m.stats.storedSize), String(m.stats.chunks), String(m.stats.newChunks)] : []),
  ]);
  ctx.out(formatTable(header, rows, new Set([5, 6, 7, 8, 9, 10])));
  const stored = backups.reduce((n, m) => n + m.stats.storedSize, 0);
  ctx.info(`${backups.length} backup(s), ${formatBytes(stored)} stored`);
}
