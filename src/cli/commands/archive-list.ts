// agentvault archive list [--status pending|completed|failed] [--show-cost] [--json]
// The archives recorded in this repository's archive state (no network, no password).
import type { ArchiveRecord } from '../../arweave/archive-state.js';
import { winstonToAr } from '../../arweave/pricing.js';
import type { CommandContext } from '../context.js';
import type { CommandGroup } from '../command-group.js';
import { formatBytes, formatDate, formatTable } from '../format.js';
import { openArchiveState } from './archive-options.js';

const STATUSES = ['pending', 'completed', 'failed', 'uploading'] as const;

export function registerArchiveList(group: CommandGroup): void {
  group
    .command('list', 'List archives of this repository, oldest first')
    .option('--status <status>', 'Only archives that are pending, completed, failed or uploading (interrupted)')
    .option('--show-cost', 'Also show what each archive paid, in AR and winston')
    .option('--destination <path>', 'Repository path')
    .option('--json', 'Machine-readable output')
    .action(group.action(archiveList));
}

async function archiveList(ctx: CommandContext): Promise<void> {
  const status = ctx.opts.choice('status', STATUSES);
  const opened = await openArchiveState(ctx);
  const rows: Array<ArchiveRecord & { gateway: string }> = [];
  for (const [gateway, g] of Object.entries(opened?.state.file.gateways ?? {})) {
    for (const archive of Object.values(g.archives)) if (status === undefined || archive.status === status) rows.push({ ...archive, gateway });
  }
  rows.sort((a, b) => a.created.localeCompare(b.created) || a.gateway.localeCompare(b.gateway));
  const showCost = ctx.opts.bool('show-cost') === true;
  if (ctx.json) {
    ctx.outJson(rows.map((r) => ({ ...r, ...(showCost ? { costAr: winstonToAr(BigInt(r.cost)) } : {}) })));
    return;
  }
  if (rows.length === 0) {
    ctx.info(status ? `no ${status} archives` : `no archives recorded${opened ? ` in ${opened.location}` : ''}`);
    return;
  }
  const header = ['TX', 'BACKUP', 'STATUS', 'CREATED', 'PACKS', 'UPLOADED', 'GATEWAY', ...(showCost ? ['COST (AR)', 'COST (WINSTON)'] : [])];
  const table = rows.map((r) => [
    r.tx,
    r.backup,
    r.status,
    formatDate(r.created),
    `${r.uploadedPacks}/${r.packIds.length}`,
    formatBytes(r.uploadedBytes),
    r.gateway,
    ...(showCost ? [winstonToAr(BigInt(r.cost)), r.cost] : []),
  ]);
  ctx.out(formatTable(header, table, new Set([5, ...(showCost ? [7, 8] : [])])));
  if (showCost) {
    const total = rows.reduce((n, r) => n + BigInt(r.cost), 0n);
    ctx.info(`${rows.length} archive(s); paid ${winstonToAr(total)} AR (${total} winston) in all`);
  }
}
