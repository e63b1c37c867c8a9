// Resumable chunked upload of signed transactions to one or more gateways.
//
// For each gateway: POST /tx (the header; with the data inside when it is one chunk), then
// POST /chunk for every chunk not yet acknowledged. Progress is written to the transaction's
// upload entry (archive-state.ts) after every acknowledgement and before the next request, so
// an interrupted upload resumes at the first unacknowledged chunk and never pays twice.
//
// Concurrency: up to `concurrency` transactions are in flight per gateway, but the chunks of one
// transaction go one at a time, in order. Real nodes accept chunks in any order; arlocal stores
// them in arrival order and serves `GET /<id>` in that order, and its chunk API mixes up
// concurrent uploads (notes/arweave.md §2, bugs 2-3). Parallel transactions with in-order chunks
// are correct on both, and a backup has several packs to keep the pipe full.
import { ArweaveError } from './errors.js';
import type { ArchiveState, UploadEntry } from './archive-state.js';
import type { GatewayClient } from './client.js';
import { chunkToPost, headerToPost, type PreparedTransaction } from './transaction.js';

export interface UploaderOptions {
  readonly clients: readonly GatewayClient[];
  readonly state: ArchiveState;
  /** Transactions in flight per gateway (default 4). */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  /** Called with the bytes of every acknowledged header-with-data or chunk. */
  readonly onSent?: (bytes: number, gateway: string) => void;
}

export class Uploader {
  readonly #slots = new Map<string, Semaphore>();
  readonly #abort = new AbortController();
  readonly #signal: AbortSignal;
  #failure: Error | undefined;

  constructor(readonly options: UploaderOptions) {
    const concurrency = options.concurrency ?? 4;
    for (const client of options.clients) this.#slots.set(client.url, new Semaphore(concurrency));
    this.#signal = options.signal ? AbortSignal.any([options.signal, this.#abort.signal]) : this.#abort.signal;
  }

  get clients(): readonly GatewayClient[] {
    return this.options.clients;
  }

  /**
   * Sends `tx` to every gateway. The first failure anywhere stops the other uploads of this
   * uploader (their progress is saved) and is what every pending call rejects with.
   */
  async upload(entry: UploadEntry, tx: PreparedTransaction, data: Buffer): Promise<void> {
    if (this.#failure) throw this.#failure;
    const results = await Promise.allSettled(this.options.clients.map((client) => this.#toGateway(client, entry, tx, data)));
    for (const r of results) if (r.status === 'rejected') this.#fail(r.reason as Error);
    if (this.#failure) throw this.#failure;
  }

  #fail(err: Error): void {
    // The aborts this failure causes elsewhere are not the story: keep the first real error.
    if (this.#failure) return;
    if (this.options.signal?.aborted) {
      this.#failure = err;
      return;
    }
    this.#failure = err;
    this.#abort.abort(err);
  }

  async #toGateway(client: GatewayClient, entry: UploadEntry, tx: PreparedTransaction, data: Buffer): Promise<void> {
    const progress = (entry.gateways[client.url] ??= { posted: false, acked: 0 });
    if (progress.posted && (tx.inBody || progress.acked >= tx.chunkCount)) return;
    const release = await this.#slots.get(client.url)!.acquire(this.#signal);
    try {
      if (!progress.posted) {
        await client.postTransaction(headerToPost(tx, data), this.#signal);
        progress.posted = true;
        if (tx.inBody) progress.acked = tx.chunkCount;
        await this.options.state.saveUpload(entry);
        if (tx.inBody) this.options.onSent?.(data.length, client.url);
      }
      for (let i = progress.acked; i < tx.chunkCount; i++) {
        this.#signal.throwIfAborted();
        try {
          await client.postChunk(chunkToPost(tx, i, data), this.#signal);
        } catch (err) {
          if (err instanceof ArweaveError && err.code !== 'REJECTED') {
            throw new ArweaveError(err.code, `${err.message}; ${i} of ${tx.chunkCount} chunks of transaction ${tx.id} are acknowledged`, { status: err.status, cause: err });
          }
          throw err;
        }
        progress.acked = i + 1;
        await this.options.state.saveUpload(entry);
        const chunk = tx.tree.chunks[i]!;
        this.options.onSent?.(chunk.maxByteRange - chunk.minByteRange, client.url);
      }
    } catch (err) {
      this.#fail(err as Error);
      throw this.#failure ?? err;
    } finally {
      release();
    }
  }
}

/** A counting semaphore whose waiters give up when the signal aborts. */
class Semaphore {
  #free: number;
  readonly #waiting: Array<() => void> = [];

  constructor(size: number) {
    this.#free = Math.max(1, size);
  }

  async acquire(signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    if (this.#free > 0) {
      this.#free--;
    } else {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const i = this.#waiting.indexOf(grant);
          if (i >= 0) this.#waiting.splice(i, 1);
          reject(signal.reason);
        };
        const grant = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        this.#waiting.push(grant);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    };
  }
}
