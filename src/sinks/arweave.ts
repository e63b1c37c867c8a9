// Stores packs on Arweave: each PackRecord that reaches this sink becomes one data transaction
// (docs/FORMAT.md §10), uploaded to every gateway of the uploader, recorded in the archive state.
// Other records pass by. Several packs are in flight at once; when that many are, the sink stops
// taking records, so the slower of Arweave and the source sets the pace.
//
// A pack with an upload entry to resume (an interrupted upload, or a transaction another gateway
// already holds) continues that transaction instead of signing a new one: nothing is paid twice.
import { Writable } from 'node:stream';
import type { ArchiveState, UploadEntry } from '../arweave/archive-state.js';
import { packTags, type TagContext } from '../arweave/tags.js';
import { createDataTransaction, resumeTransaction, type PreparedTransaction } from '../arweave/transaction.js';
import type { Uploader } from '../arweave/uploader.js';
import type { ArweaveWallet } from '../arweave/wallet.js';
import type { PackedRecord, PackRecord } from '../types.js';

export interface ArweaveSinkOptions {
  readonly uploader: Uploader;
  readonly state: ArchiveState;
  readonly wallet: ArweaveWallet;
  readonly tags: TagContext;
  readonly chunkSize: number;
  /** A fresh `last_tx` anchor. */
  readonly anchor: () => Promise<string>;
  /** Winston for one transaction of `bytes`. */
  readonly price: (bytes: number) => Promise<bigint>;
  /** Upload entries to continue, by pack id. */
  readonly resume?: ReadonlyMap<string, UploadEntry>;
  /** Packs uploading at once (default 4). */
  readonly maxInFlight?: number;
}

export interface ArchivedPackResult {
  readonly packId: string;
  readonly txId: string;
  readonly size: number;
  /** Winston this upload paid for it (0 when it continued a transaction already paid for). */
  readonly reward: bigint;
  readonly chunkSize: number;
}

export class ArweaveSink extends Writable {
  readonly archived = new Map<string, ArchivedPackResult>();
  readonly #inFlight = new Set<Promise<void>>();
  #error: Error | undefined;

  constructor(readonly options: ArweaveSinkOptions) {
    super({ objectMode: true, highWaterMark: 1 });
  }

  override _write(record: PackedRecord, _e: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (record.type !== 'pack') {
      callback();
      return;
    }
    if (this.#error) {
      callback(this.#error);
      return;
    }
    const job: Promise<void> = this.#archive(record).then(
      () => void this.#inFlight.delete(job),
      (err: Error) => {
        this.#inFlight.delete(job);
        this.#error ??= err;
      },
    );
    this.#inFlight.add(job);
    if (this.#inFlight.size < (this.options.maxInFlight ?? 4)) callback();
    else void Promise.race(this.#inFlight).then(() => callback(this.#error));
  }

  override _final(callback: (err?: Error | null) => void): void {
    void Promise.all(this.#inFlight).then(() => callback(this.#error));
  }

  async #archive(pack: PackRecord): Promise<void> {
    const { state, uploader } = this.options;
    const data = pack.parts.length === 1 ? pack.parts[0]! : Buffer.concat(pack.parts);
    const resumed = this.options.resume?.get(pack.packId);
    let entry: UploadEntry;
    let tx: PreparedTransaction;
    let reward: bigint;
    if (resumed) {
      tx = await resumeTransaction(resumed.header, data, resumed.chunkSize);
      entry = resumed;
      // Paid once the network has the header: only an entry never posted anywhere costs now.
      reward = Object.values(resumed.gateways).some((g) => g.posted) ? 0n : BigInt(resumed.header.reward);
    } else {
      reward = await this.options.price(data.length);
      tx = await createDataTransaction({
        wallet: this.options.wallet,
        data,
        tags: packTags(this.options.tags, pack.packId),
        anchor: await this.options.anchor(),
        reward,
        chunkSize: this.options.chunkSize,
      });
      entry = { version: 1, tx: tx.id, kind: 'pack', packId: pack.packId, backup: this.options.tags.backupId, chunkSize: tx.chunkSize, header: tx.header, created: new Date().toISOString(), gateways: {} };
      // Saved before anything is posted: a crash after POST /tx still knows the transaction.
      await state.saveUpload(entry);
    }
    await uploader.upload(entry, tx, data);
    const posted = new Date().toISOString();
    for (const client of uploader.clients) {
      const known = state.gateway(client.url).packs[pack.packId];
      const keep = known && known.tx === tx.id && known.status !== 'failed';
      if (!keep) state.gateway(client.url).packs[pack.packId] = { tx: tx.id, size: data.length, backup: entry.backup, reward: tx.header.reward, chunkSize: tx.chunkSize, status: 'pending', posted };
    }
    await state.save();
    await state.removeUpload(tx.id);
    this.archived.set(pack.packId, { packId: pack.packId, txId: tx.id, size: data.length, reward, chunkSize: tx.chunkSize });
  }
}
