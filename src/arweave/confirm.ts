// Whether archived transactions made it into blocks. An archive is completed only when its
// manifest transaction and every pack transaction it lists are mined at that gateway; a
// transaction the gateway no longer knows was dropped (the mempool holds a pending transaction
// ~50 blocks), and its archive failed: `archive upload <id> --retry` uploads it again.
import type { ArchivedPackState, ArchiveRecord, ArchiveState, ArchiveStatus, TxStatus } from './archive-state.js';
import { sleep, type GatewayClient, type TransactionStatus } from './client.js';

export interface ArchiveCheck {
  readonly gateway: string;
  readonly status: ArchiveStatus;
  /** Of the manifest transaction, once mined. */
  readonly confirmations: number | undefined;
  readonly pendingPacks: number;
  readonly failedPacks: number;
}

/** Asks the gateway about the archive's unconfirmed transactions and updates the state (not saved). */
export async function refreshArchive(state: ArchiveState, client: GatewayClient, archive: ArchiveRecord, signal?: AbortSignal): Promise<ArchiveCheck> {
  // Its manifest was never (fully) posted: only `archive upload --retry` can move it on.
  if (archive.status === 'uploading') return { gateway: client.url, status: 'uploading', confirmations: undefined, pendingPacks: 0, failedPacks: 0 };
  const gateway = state.gateway(client.url);
  let pendingPacks = 0;
  let failedPacks = 0;
  for (const packId of archive.packIds) {
    const pack = gateway.packs[packId];
    if (!pack || pack.status === 'failed') {
      failedPacks++;
      continue;
    }
    if (pack.status === 'confirmed') continue;
    const now = applyStatus(pack, await client.status(pack.tx, signal));
    if (now === 'pending') pendingPacks++;
    if (now === 'failed') failedPacks++;
  }
  let confirmations = archive.confirmations;
  if (archive.status !== 'failed') {
    const status = await client.status(archive.tx, signal);
    if (status.state === 'confirmed') confirmations = status.confirmations;
    if (status.state === 'not-found') archive.status = 'failed';
    else if (failedPacks > 0) archive.status = 'failed';
    else if (status.state === 'confirmed' && pendingPacks === 0) {
      if (archive.status !== 'completed') archive.completed = new Date().toISOString();
      archive.status = 'completed';
    } else archive.status = 'pending';
  }
  if (confirmations !== undefined) archive.confirmations = confirmations;
  return { gateway: client.url, status: archive.status, confirmations, pendingPacks, failedPacks };
}

function applyStatus(pack: ArchivedPackState, status: TransactionStatus): TxStatus {
  if (status.state === 'confirmed') {
    pack.status = 'confirmed';
    pack.confirmations = status.confirmations;
    pack.height = status.height;
  } else if (status.state === 'not-found') pack.status = 'failed';
  return pack.status;
}

export interface WaitOptions {
  /** Give up (leaving the archive pending) after this long. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly onCheck?: (checks: readonly ArchiveCheck[]) => void;
}

/**
 * Polls until every archive is completed or failed, or the time is up; saves the state after
 * each round. Polls quickly at first (a local gateway mines at once), then every 30 s at most.
 */
export async function waitForArchives(state: ArchiveState, targets: ReadonlyArray<{ client: GatewayClient; archive: ArchiveRecord }>, options: WaitOptions): Promise<ArchiveCheck[]> {
  const deadline = Date.now() + options.timeoutMs;
  let interval = 250;
  for (;;) {
    const checks: ArchiveCheck[] = [];
    for (const { client, archive } of targets) checks.push(await refreshArchive(state, client, archive, options.signal));
    await state.save();
    options.onCheck?.(checks);
    if (checks.every((c) => c.status === 'completed' || c.status === 'failed') || Date.now() >= deadline) return checks;
    await sleep(Math.min(interval, Math.max(0, deadline - Date.now())), options.signal);
    interval = Math.min(interval * 1.5, 30_000);
  }
}
