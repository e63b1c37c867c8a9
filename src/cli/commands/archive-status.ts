// agentvault archive status [<tx-id>]: pending / confirmed (with confirmations) / not found.
// For archives in the local state it checks the manifest and every pack transaction, and an
// archive becomes completed here once all are mined. Without a tx id: every archive not yet
// completed. Needs no password.
import { ArchiveState } from '../../arweave/archive-state.js';
import { GatewayClient, isTransactionId, type TransactionStatus } from '../../arweave/client.js';
import { refreshArchive } from '../../arweave/confirm.js';
import { UsageError } from '../../errors.js';
import type { CommandContext } from '../context.js';
import type { CommandGroup } from '../command-group.js';
import { clientOptions, openArchiveState, primaryGateway, txArgument, withGatewayOptions } from './archive-options.js';

export function registerArchiveStatus(group: CommandGroup): void {
  const cmd = group
    .command('status [tx-id]', 'Is an archive (or any transaction) pending, confirmed, or not found?')
    .option('--destination <path>', 'Repository whose archive records to check and update')
    .option('--json', 'Machine-readable output');
  withGatewayOptions(cmd).action(group.action(archiveStatus));
}

interface StatusLine {
  readonly tx: string;
  readonly kind: 'archive' | 'pack' | 'transaction';
  readonly gateway: string;
  readonly status: string;
  readonly confirmations?: number;
  readonly height?: number;
  readonly backup?: string;
  readonly pendingPacks?: number;
  readonly failedPacks?: number;
}

async function archiveStatus(ctx: CommandContext, positional?: string): Promise<void> {
  const tx = txArgument(ctx, positional, false);
  if (tx !== undefined && !isTransactionId(tx)) throw new UsageError(`${JSON.stringify(tx)} is not an Arweave transaction id`);
  const options = await clientOptions(ctx);
  const opened = await openArchiveState(ctx);
  const lines: StatusLine[] = [];
  if (opened) {
    const lock = await ArchiveState.lock(opened.location);
    try {
      // Re-read under the lock: an upload may have changed it meanwhile.
      const state = await ArchiveState.open(opened.location, opened.state.file.repository);
      for (const [gateway, g] of Object.entries(state.file.gateways)) {
        const client = new GatewayClient(gateway, options);
        for (const archive of Object.values(g.archives)) {
          const wanted = tx === undefined ? archive.status !== 'completed' : archive.tx === tx;
          if (!wanted) continue;
          const check = await refreshArchive(state, client, archive);
          lines.push({ tx: archive.tx, kind: 'archive', gateway, status: check.status, ...(check.confirmations !== undefined ? { confirmations: check.confirmations } : {}), backup: archive.backup, pendingPacks: check.pendingPacks, failedPacks: check.failedPacks });
        }
        if (tx !== undefined && lines.length === 0) {
          for (const [packId, pack] of Object.entries(g.packs)) {
            if (pack.tx !== tx) continue;
            const status = await client.status(tx);
            if (status.state === 'confirmed') Object.assign(pack, { status: 'confirmed', confirmations: status.confirmations, height: status.height });
            else if (status.state === 'not-found') pack.status = 'failed';
            lines.push({ tx, kind: 'pack', gateway, ...describe(status), backup: `pack ${packId}` });
          }
        }
      }
      await state.save();
    } finally {
      await lock.release();
    }
  }
  if (tx !== undefined && lines.length === 0) {
    const client = new GatewayClient(await primaryGateway(ctx), options);
    lines.push({ tx, kind: 'transaction', gateway: client.url, ...describe(await client.status(tx)) });
  }

  if (ctx.json) {
    ctx.outJson(lines);
    return;
  }
  if (lines.length === 0) {
    ctx.out('no archive is waiting for confirmation');
    return;
  }
  for (const l of lines) ctx.out(format(l));
}

function describe(status: TransactionStatus): { status: string; confirmations?: number; height?: number } {
  if (status.state === 'confirmed') return { status: 'confirmed', confirmations: status.confirmations, height: status.height };
  return { status: status.state };
}

function format(l: StatusLine): string {
  const what = l.kind === 'archive' ? `archive of backup ${l.backup}` : l.kind === 'pack' ? l.backup! : 'transaction';
  let status = l.status;
  if (l.status === 'confirmed' || l.status === 'completed') status += l.confirmations !== undefined ? ` (${l.confirmations} confirmation${l.confirmations === 1 ? '' : 's'}${l.height !== undefined ? `, block ${l.height}` : ''})` : '';
  if (l.kind === 'archive' && l.status === 'pending' && l.pendingPacks) status += ` (${l.pendingPacks} pack transaction(s) not mined yet)`;
  if (l.status === 'not-found') status = 'not found';
  if (l.kind === 'archive' && l.status === 'uploading') status += ` (interrupted; run \`agentvault archive upload ${l.backup} --retry\`)`;
  if (l.kind === 'archive' && l.status === 'failed') status += ` (a transaction was dropped; run \`agentvault archive upload ${l.backup} --retry\`)`;
  return `${l.tx}  ${status}  ${what} at ${l.gateway}`;
}
