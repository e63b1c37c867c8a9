// `archive upload`: puts one backup of a local repository on Arweave (docs/FORMAT.md §10).
//
//   plan     which packs the backup needs; which of them each gateway already holds (reused),
//            which have an interrupted upload (resumed), which another gateway holds (seeded,
//            same transaction), and which are new
//   price    new transactions at the gateway's price; refuse when the wallet cannot pay
//   packs    each pack verified, then uploaded through the Arweave sink
//   manifest the archive manifest transaction, listing every pack's transaction
//   confirm  wait until every transaction is mined (unless --async): only then is the archive
//            completed
//
// Everything is recorded in the archive state as it happens, so `--retry` continues where an
// interrupted run stopped and nothing is paid twice.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AgentvaultError, UsageError } from '../errors.js';
import type { IndexedPack } from '../repository/index-format.js';
import { parseKeyFile, type KeyFile } from '../repository/keys.js';
import { chunkRefs, type Manifest } from '../repository/manifest.js';
import type { Repository } from '../repository/repository.js';
import { ArweaveSink } from '../sinks/arweave.js';
import type { PackRecord } from '../types.js';
import { encodeArchiveBody, sealPackList, type ArchivedPack } from './archive-format.js';
import { ArchiveState, type ArchiveRecord, type ArchiveStatus, type UploadEntry } from './archive-state.js';
import { GatewayClient, type ClientOptions, type TransactionHeader } from './client.js';
import { waitForArchives, type ArchiveCheck } from './confirm.js';
import { withFallback } from './gateways.js';
import { verifyPackBytes } from './pack-check.js';
import { checkBalance, priceOf } from './pricing.js';
import { decodeTags, manifestTags, TAG, tagValue, type TagContext } from './tags.js';
import { createDataTransaction, DEFAULT_CHUNK_SIZE, resumeTransaction, verifyHeader, type PreparedTransaction } from './transaction.js';
import { Uploader } from './uploader.js';
import type { ArweaveWallet } from './wallet.js';

export interface ArchivePlan {
  readonly manifest: Manifest;
  /** Every pack the backup needs, in order of first use. */
  readonly packs: readonly IndexedPack[];
  /** Pack id → transaction every target gateway holds already. */
  readonly reuse: ReadonlyMap<string, string>;
  /** Pack id → interrupted upload of it. */
  readonly resume: ReadonlyMap<string, UploadEntry>;
  /** Pack id → a transaction some other gateway holds, to seed to the targets lacking it. */
  readonly seed: ReadonlyMap<string, { readonly tx: string; readonly chunkSize: number; readonly holders: readonly string[] }>;
  /** Packs that need a new transaction. */
  readonly fresh: readonly IndexedPack[];
  /** An interrupted upload of this backup's manifest transaction. */
  readonly manifestUpload: UploadEntry | undefined;
  /** The archive every target already has (pending or completed). */
  readonly existing: string | undefined;
}

/** Works out what archiving `backupId` to `targets` involves. Reads only. */
export async function planArchive(repository: Repository, backupId: string, state: ArchiveState, targets: readonly string[]): Promise<ArchivePlan> {
  const manifest = await repository.readManifest(backupId);
  const index = await repository.loadIndex();
  const heldEverywhere = (packId: string): string | undefined => {
    const txs = new Set(targets.map((g) => state.packAt(g, packId)?.tx));
    const [tx] = txs;
    return txs.size === 1 && tx !== undefined ? tx : undefined;
  };

  // Where a chunk has several copies, prefer one in a pack the targets already hold.
  const packIds: string[] = [];
  const seen = new Set<string>();
  for (const entry of manifest.entries) {
    for (const ref of chunkRefs(entry)) {
      const locations = index.locations(ref.id);
      if (locations.length === 0) throw new AgentvaultError('MISSING_DATA', `backup ${backupId} cannot be archived: a chunk of ${JSON.stringify(entry.name)} is missing from the repository`);
      const location = locations.find((l) => heldEverywhere(l.packId) !== undefined) ?? locations[0]!;
      if (!seen.has(location.packId)) {
        seen.add(location.packId);
        packIds.push(location.packId);
      }
    }
  }
  const packs = packIds.map((id) => index.pack(id)!);

  const uploads = await state.uploads();
  const resumeAll = new Map(uploads.filter((u) => u.kind === 'pack' && u.packId !== undefined).map((u) => [u.packId!, u]));
  const manifestUpload = uploads.find((u) => u.kind === 'manifest' && u.backup === backupId);

  const reuse = new Map<string, string>();
  const resume = new Map<string, UploadEntry>();
  const seed = new Map<string, { tx: string; chunkSize: number; holders: string[] }>();
  const fresh: IndexedPack[] = [];
  for (const pack of packs) {
    const everywhere = heldEverywhere(pack.packId);
    const interrupted = resumeAll.get(pack.packId);
    if (everywhere !== undefined && !interrupted) {
      reuse.set(pack.packId, everywhere);
      continue;
    }
    if (interrupted) {
      resume.set(pack.packId, interrupted);
      continue;
    }
    const holders = state.gateways.filter((g) => state.packAt(g, pack.packId) !== undefined);
    const known = holders.length > 0 ? state.packAt(holders[0]!, pack.packId)! : undefined;
    if (known) seed.set(pack.packId, { tx: known.tx, chunkSize: known.chunkSize ?? DEFAULT_CHUNK_SIZE, holders: holders.filter((g) => state.packAt(g, pack.packId)!.tx === known.tx) });
    else fresh.push(pack);
  }

  const archiveTxs = new Set(targets.map((g) => state.archivesOfBackup(g, backupId).find((a) => a.status !== 'failed' && a.status !== 'uploading')?.tx));
  const [existingTx] = archiveTxs;
  const existing = archiveTxs.size === 1 && existingTx !== undefined && !manifestUpload ? existingTx : undefined;
  return { manifest, packs, reuse, resume, seed, fresh, manifestUpload, existing };
}

/** The repository's config file and key files, as the manifest transaction carries them. */
export async function repositoryCredentials(repository: Repository): Promise<{ config: Buffer; keyFiles: KeyFile[] }> {
  const config = await repository.store.read('config', 'config');
  const keyFiles: KeyFile[] = [];
  for await (const f of repository.store.list('key')) keyFiles.push(parseKeyFile(await repository.store.read('key', f.name), f.name));
  keyFiles.sort((a, b) => a.id.localeCompare(b.id));
  return { config, keyFiles };
}

export async function manifestBody(repository: Repository, manifest: Manifest, packs: readonly ArchivedPack[]): Promise<Buffer> {
  const { config, keyFiles } = await repositoryCredentials(repository);
  return encodeArchiveBody({
    backupId: manifest.id,
    encrypted: repository.encrypted,
    config,
    keyFiles,
    manifest: await repository.store.read('manifest', manifest.id),
    packs: sealPackList(packs, manifest.id, repository.metaKey),
  });
}

export function tagContext(repository: Repository, manifest: Manifest): TagContext {
  return {
    repositoryId: repository.config.id,
    backupId: manifest.id,
    ...(manifest.source.kind === 'canister' ? { canisterId: manifest.source.name } : {}),
  };
}

export interface ArchiveEstimate {
  readonly packs: number;
  readonly reusedPacks: number;
  /** Packs whose transaction exists (interrupted or on another gateway): no new cost. */
  readonly continuedPacks: number;
  readonly newPacks: number;
  /** Bytes of new transactions: new packs plus the manifest. */
  readonly newBytes: number;
  readonly manifestBytes: number;
  readonly cost: bigint;
  readonly alreadyArchived: string | undefined;
}

/** What archiving would cost now: only transactions not yet paid for. */
export async function estimateArchive(repository: Repository, plan: ArchivePlan, price: GatewayClient, signal?: AbortSignal): Promise<ArchiveEstimate> {
  const manifestBytes = plan.existing ? 0 : plan.manifestUpload ? Number(plan.manifestUpload.header.data_size) : (await manifestBody(repository, plan.manifest, plan.packs.map((pack) => ({ txId: randomBytes(32).toString('base64url'), pack })))).length;
  const unpaid = [...plan.resume.values()].filter((u) => !Object.values(u.gateways).some((g) => g.posted));
  const sizes = [...plan.fresh.map((p) => p.size), ...(plan.existing || plan.manifestUpload ? [] : [manifestBytes])];
  const { total } = sizes.length > 0 ? await priceOf(price, sizes, signal) : { total: 0n };
  const cost = total + unpaid.reduce((n, u) => n + BigInt(u.header.reward), 0n) + (plan.manifestUpload && !Object.values(plan.manifestUpload.gateways).some((g) => g.posted) ? BigInt(plan.manifestUpload.header.reward) : 0n);
  return {
    packs: plan.packs.length,
    reusedPacks: plan.reuse.size,
    continuedPacks: plan.resume.size + plan.seed.size,
    newPacks: plan.fresh.length,
    newBytes: plan.fresh.reduce((n, p) => n + p.size, 0) + (plan.existing || plan.manifestUpload ? 0 : manifestBytes),
    manifestBytes,
    cost,
    alreadyArchived: plan.existing,
  };
}

export interface ArchiveUploadOptions {
  readonly repository: Repository;
  readonly backupId: string;
  readonly wallet: ArweaveWallet;
  /** Gateways to upload to; the first prices and anchors transactions. */
  readonly clients: readonly GatewayClient[];
  /** For talking to other gateways that hold a pack to seed (default: the first client's). */
  readonly clientOptions?: ClientOptions;
  /** Allow archiving an unencrypted repository: its data becomes public, permanently. */
  readonly public?: boolean;
  /** Continue interrupted uploads (required when there are any). */
  readonly retry?: boolean;
  /** Wait until every transaction is mined (default true). */
  readonly wait?: boolean;
  readonly waitTimeoutMs?: number;
  readonly chunkSize?: number;
  /** Transactions in flight per gateway. */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (sentBytes: number, totalBytes: number) => void;
  readonly onInfo?: (line: string) => void;
  readonly onCheck?: (checks: readonly ArchiveCheck[]) => void;
}

export interface ArchiveUploadResult {
  readonly backup: string;
  /** The archive manifest transaction: what `backup restore --arweave` takes. */
  readonly tx: string;
  readonly gateways: readonly string[];
  readonly status: ArchiveStatus;
  readonly confirmations: number | undefined;
  readonly packs: number;
  readonly reusedPacks: number;
  readonly resumedPacks: number;
  readonly seededPacks: number;
  readonly newPacks: number;
  /** Data bytes of the transactions this backup's archive created (its new packs + manifest). */
  readonly uploadedBytes: number;
  /** Bytes this run sent (headers with data and chunks, all gateways). */
  readonly sentBytes: number;
  readonly manifestBytes: number;
  /** Winston paid for this backup's archive. */
  readonly cost: bigint;
  readonly alreadyArchived: boolean;
}

export async function archiveBackup(options: ArchiveUploadOptions): Promise<ArchiveUploadResult> {
  const { repository, backupId, wallet, clients, signal } = options;
  if (clients.length === 0) throw new UsageError('no gateway to upload to');
  if (!repository.encrypted && !options.public) {
    throw new UsageError(`the repository at ${repository.location} is not encrypted: archiving would publish backup ${backupId} to everyone, permanently; give --public to do that on purpose`);
  }
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const info = options.onInfo ?? (() => undefined);
  const repoLock = await repository.lock(false);
  try {
    const archiveLock = await ArchiveState.lock(repository.location);
    try {
      const state = await ArchiveState.open(repository.location, repository.config.id);
      const targets = clients.map((c) => c.url);
      let plan = await planArchive(repository, backupId, state, targets);
      if (plan.existing) return await finishExisting(state, plan, options);

      const interrupted = plan.resume.size + (plan.manifestUpload ? 1 : 0);
      if (interrupted > 0 && !options.retry) {
        throw new UsageError(
          `an earlier archive upload was interrupted with ${interrupted} transaction(s) unfinished that backup ${backupId} needs; run \`agentvault archive upload ${backupId} --retry\` to continue them (starting over would pay for them again)`,
        );
      }
      const primary = clients[0]!;
      const seeded = await seedEntries(plan, options, signal);
      const seeds = seeded.entries;
      if (seeded.unreachable.length > 0) {
        info(`${seeded.unreachable.length} pack(s) archived elsewhere cannot be fetched to seed; they get new transactions`);
        const unreachable = new Set(seeded.unreachable.map((p) => p.packId));
        plan = { ...plan, fresh: [...plan.fresh, ...seeded.unreachable], seed: new Map([...plan.seed].filter(([id]) => !unreachable.has(id))) };
      }
      const estimate = await estimateArchive(repository, plan, primary, signal);
      const what = `archiving backup ${backupId} (${estimate.newPacks + (plan.manifestUpload ? 0 : 1)} new transaction(s), ${estimate.newBytes} bytes)`;
      for (const client of clients) await checkBalance(client, wallet.address, estimate.cost, what, signal);

      const resume = new Map([...plan.resume, ...seeds]);
      const toSend = plan.packs.filter((p) => !plan.reuse.has(p.packId));
      let sent = 0;
      const total = toSend.reduce((n, p) => n + p.size, 0) * clients.length + estimate.manifestBytes * clients.length;
      const uploader = new Uploader({
        clients,
        state,
        ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
        ...(signal ? { signal } : {}),
        onSent: (bytes) => {
          sent += bytes;
          options.onProgress?.(sent, total);
        },
      });
      const anchor = anchorSource(primary, signal);
      const context = tagContext(repository, plan.manifest);
      if (toSend.length > 0) info(`uploading ${toSend.length} pack(s) of backup ${backupId} to ${targets.join(', ')}`);
      const sink = new ArweaveSink({
        uploader,
        state,
        wallet,
        tags: context,
        chunkSize,
        anchor,
        price: (bytes) => primary.price(bytes, signal),
        resume,
        maxInFlight: Math.max(1, options.concurrency ?? 4),
      });
      await pipeline(Readable.from(readPacks(repository, toSend)), sink, ...(signal ? [{ signal }] : []));

      // The manifest lists every pack's transaction: reused ones and the ones just sent.
      const archivedPacks: ArchivedPack[] = plan.packs.map((pack) => ({ pack, txId: plan.reuse.get(pack.packId) ?? sink.archived.get(pack.packId)!.txId }));
      let body: Buffer;
      let tx: PreparedTransaction;
      let entry: UploadEntry;
      if (plan.manifestUpload) {
        entry = plan.manifestUpload;
        const saved = await state.uploadBody(entry.tx);
        if (!saved) throw new AgentvaultError('CORRUPT', `the body of the interrupted manifest transaction ${entry.tx} is missing from ${ArchiveState.directory(repository.location)}`);
        body = saved;
        tx = await resumeTransaction(entry.header, body, entry.chunkSize);
      } else {
        body = await manifestBody(repository, plan.manifest, archivedPacks);
        tx = await createDataTransaction({ wallet, data: body, tags: manifestTags(context), anchor: await anchor(), reward: await primary.price(body.length, signal) });
        entry = { version: 1, tx: tx.id, kind: 'manifest', backup: backupId, chunkSize: tx.chunkSize, header: tx.header, created: new Date().toISOString(), gateways: {} };
        await state.saveUploadBody(tx.id, body);
        await state.saveUpload(entry);
      }
      const record = archiveRecord(state, targets, plan, archivedPacks, tx, body.length, options.public === true);
      for (const gateway of targets) state.gateway(gateway).archives[tx.id] ??= { ...record };
      await state.save();
      info(`uploading the archive manifest of backup ${backupId}: transaction ${tx.id}`);
      await uploader.upload(entry, tx, body);
      for (const gateway of targets) state.gateway(gateway).archives[tx.id]!.status = 'pending'; // posted: mining decides the rest
      await state.save();
      await state.removeUpload(tx.id);

      let checks: ArchiveCheck[] = [];
      if (options.wait !== false) {
        info(`waiting for transaction ${tx.id} and its packs to be mined (--async does not wait)`);
        checks = await waitForArchives(state, clients.map((client) => ({ client, archive: state.gateway(client.url).archives[tx.id]! })), {
          timeoutMs: options.waitTimeoutMs ?? 3_600_000,
          ...(signal ? { signal } : {}),
          ...(options.onCheck ? { onCheck: options.onCheck } : {}),
        });
      }
      const final = state.gateway(targets[0]!).archives[tx.id]!;
      return {
        ...summary(final, targets, checks),
        reusedPacks: plan.reuse.size,
        resumedPacks: plan.resume.size,
        seededPacks: seeds.size,
        newPacks: plan.fresh.length,
        sentBytes: sent,
        alreadyArchived: false,
      };
    } finally {
      await archiveLock.release();
    }
  } finally {
    await repoLock.release();
  }
}

/** The archive record: counts what this backup's archive created (across retries too). */
function archiveRecord(state: ArchiveState, targets: readonly string[], plan: ArchivePlan, packs: readonly ArchivedPack[], tx: PreparedTransaction, manifestBytes: number, isPublic: boolean): ArchiveRecord {
  let uploadedPacks = 0;
  let uploadedBytes = manifestBytes;
  let cost = BigInt(tx.header.reward);
  for (const { pack, txId } of packs) {
    const known = state.gateway(targets[0]!).packs[pack.packId];
    if (known?.tx === txId && known.backup === plan.manifest.id) {
      uploadedPacks++;
      uploadedBytes += known.size;
      cost += BigInt(known.reward);
    }
  }
  return {
    backup: plan.manifest.id,
    tx: tx.id,
    status: 'uploading',
    created: new Date().toISOString(),
    packIds: packs.map((p) => p.pack.packId),
    uploadedPacks,
    uploadedBytes,
    manifestBytes,
    cost: cost.toString(),
    public: isPublic,
  };
}

function summary(archive: ArchiveRecord, targets: readonly string[], checks: readonly ArchiveCheck[]) {
  const worst = checks.find((c) => c.status === 'failed') ?? checks.find((c) => c.status !== 'completed');
  return {
    backup: archive.backup,
    tx: archive.tx,
    gateways: targets,
    status: worst?.status ?? archive.status,
    confirmations: archive.confirmations,
    packs: archive.packIds.length,
    uploadedBytes: archive.uploadedBytes,
    manifestBytes: archive.manifestBytes,
    cost: BigInt(archive.cost),
  };
}

/** The archive exists at every target already: report it, waiting for it when pending. */
async function finishExisting(state: ArchiveState, plan: ArchivePlan, options: ArchiveUploadOptions): Promise<ArchiveUploadResult> {
  const tx = plan.existing!;
  const targets = options.clients.map((c) => c.url);
  let checks: ArchiveCheck[] = [];
  const pending = options.clients.filter((c) => state.gateway(c.url).archives[tx]!.status !== 'completed');
  if (pending.length > 0 && options.wait !== false) {
    options.onInfo?.(`backup ${plan.manifest.id} is archived as transaction ${tx}; waiting for it to be mined`);
    checks = await waitForArchives(state, pending.map((client) => ({ client, archive: state.gateway(client.url).archives[tx]! })), {
      timeoutMs: options.waitTimeoutMs ?? 3_600_000,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onCheck ? { onCheck: options.onCheck } : {}),
    });
  }
  const archive = state.gateway(targets[0]!).archives[tx]!;
  return { ...summary(archive, targets, checks), reusedPacks: plan.packs.length, resumedPacks: 0, seededPacks: 0, newPacks: 0, sentBytes: 0, alreadyArchived: true };
}

/**
 * Upload entries that seed transactions other gateways hold to the targets lacking them: the
 * signed header comes from a holder (and is verified), the data from the local pack. Packs whose
 * header no holder serves are returned as `unreachable`: they need a new transaction.
 */
async function seedEntries(
  plan: ArchivePlan,
  options: ArchiveUploadOptions,
  signal: AbortSignal | undefined,
): Promise<{ entries: Map<string, UploadEntry>; unreachable: IndexedPack[] }> {
  const entries = new Map<string, UploadEntry>();
  const unreachable: IndexedPack[] = [];
  const clientOptions = options.clientOptions ?? options.clients[0]!.options;
  for (const [packId, { tx, chunkSize, holders }] of plan.seed) {
    const holderClients = holders.map((url) => options.clients.find((c) => c.url === url) ?? new GatewayClient(url, clientOptions));
    let header: TransactionHeader;
    try {
      header = await withFallback(
        holderClients,
        `fetching transaction ${tx} to seed it`,
        async (client) => {
          const found = await client.transaction(tx, signal);
          if (!found || found.id !== tx || !(await verifyHeader(found))) throw new AgentvaultError('NOT_FOUND', `${client.url} does not serve a valid header for transaction ${tx}`);
          return { ...found, data: '' };
        },
        signal,
      );
    } catch (err) {
      if (signal?.aborted) throw err;
      unreachable.push(plan.packs.find((p) => p.packId === packId)!);
      continue;
    }
    const done = Object.fromEntries(holders.map((g) => [g, { posted: true, acked: Number.MAX_SAFE_INTEGER }]));
    const entry: UploadEntry = {
      version: 1,
      tx,
      kind: 'pack',
      packId,
      backup: tagValue(decodeTags(header), TAG.backup) ?? plan.manifest.id,
      chunkSize,
      header,
      created: new Date().toISOString(),
      gateways: done,
    };
    // Not saved yet: the uploader writes it with the first acknowledgement (nothing to resume before).
    entries.set(packId, entry);
  }
  return { entries, unreachable };
}

async function* readPacks(repository: Repository, packs: readonly IndexedPack[]): AsyncGenerator<PackRecord> {
  for (const pack of packs) {
    const bytes = await repository.store.read('pack', pack.packId);
    // A damaged pack must not become permanent.
    verifyPackBytes(bytes, pack, repository.metaKey, 'in the local repository');
    yield { type: 'pack', packId: pack.packId, parts: [bytes], size: bytes.length, keys: pack.keys, entries: pack.entries };
  }
}

/** Anchors are valid for ~50 blocks; one is reused for a minute. */
function anchorSource(client: GatewayClient, signal: AbortSignal | undefined): () => Promise<string> {
  let cached: { value: Promise<string>; at: number } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > 60_000) {
      const value = client.anchor(signal);
      value.catch(() => (cached = undefined));
      cached = { value, at: Date.now() };
    }
    return cached.value;
  };
}
