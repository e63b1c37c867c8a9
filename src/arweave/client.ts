// The handful of gateway calls agentvault makes, each with its own timeout and retries.
//
// arweave-js ignores its `timeout` option (its fetch has no AbortSignal) and sleeps ~40 s after
// any failed chunk, so requests go through here instead: every attempt is bounded by an
// AbortSignal timer, and 429 / 5xx / network errors / timeouts are retried with exponential
// backoff (p-retry), honouring Retry-After. Everything else fails at once with a message that
// names the gateway and the call.
import pRetry, { AbortError } from 'p-retry';
import { UsageError } from '../errors.js';
import { ArweaveError } from './errors.js';

export interface ClientOptions {
  /** Per attempt, including reading the body (default 30 s). */
  readonly timeoutMs?: number;
  /** Further attempts after a retryable failure (default 5). */
  readonly retries?: number;
  readonly minRetryDelayMs?: number;
  readonly maxRetryDelayMs?: number;
  readonly onRetry?: (event: RetryEvent) => void;
}

export interface RetryEvent {
  readonly gateway: string;
  readonly what: string;
  readonly attempt: number;
  readonly retriesLeft: number;
  readonly error: ArweaveError;
}

/** Counters for one client: what went over the wire. */
export interface TransferStats {
  requests: number;
  retries: number;
  bytesSent: number;
  bytesReceived: number;
  chunksPosted: number;
}

export interface TransactionTag {
  /** base64url of the UTF-8 name, as on the wire. */
  readonly name: string;
  readonly value: string;
}

/** A format-2 transaction as JSON on the wire (binary fields base64url, numbers as strings). */
export interface TransactionHeader {
  readonly format: 2;
  readonly id: string;
  readonly last_tx: string;
  readonly owner: string;
  readonly tags: readonly TransactionTag[];
  readonly target: string;
  readonly quantity: string;
  /** "" unless the data travels inside the transaction (one chunk or less). */
  readonly data: string;
  readonly data_size: string;
  readonly data_root: string;
  readonly reward: string;
  readonly signature: string;
}

/** Body of POST /chunk; `offset` is the tx-relative end byte of the chunk. */
export interface ChunkBody {
  readonly data_root: string;
  readonly data_size: string;
  readonly data_path: string;
  readonly offset: string;
  readonly chunk: string;
}

export type TransactionStatus =
  | { readonly state: 'confirmed'; readonly height: number; readonly blockHash: string; readonly confirmations: number }
  | { readonly state: 'pending' }
  | { readonly state: 'not-found' };

/** Chunk errors after which resending the same chunk can never succeed (arweave-js's list). */
const FATAL_CHUNK_ERRORS = new Set([
  'invalid_json',
  'chunk_too_big',
  'data_path_too_big',
  'offset_too_big',
  'data_size_too_big',
  'chunk_proof_ratio_not_attractive',
  'invalid_proof',
]);

const TX_ID = /^[a-zA-Z0-9_-]{43}$/;

export function isTransactionId(s: string): boolean {
  return TX_ID.test(s);
}

/** A gateway base URL in one canonical spelling: scheme://host[:port], no trailing slash. */
export function normalizeGatewayUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.includes('://') ? raw : `https://${raw}`);
  } catch {
    throw new UsageError(`not a gateway URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`a gateway URL must be http(s): ${raw}`);
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

interface RequestSpec {
  readonly what: string;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly json?: unknown;
  readonly signal: AbortSignal | undefined;
  /** Statuses handed back to the caller instead of failing (2xx always are). */
  readonly accept?: readonly number[];
}

interface Answer {
  readonly status: number;
  readonly body: Buffer;
}

export class GatewayClient {
  readonly url: string;
  readonly stats: TransferStats = { requests: 0, retries: 0, bytesSent: 0, bytesReceived: 0, chunksPosted: 0 };
  readonly timeoutMs: number;
  readonly retries: number;

  constructor(
    url: string,
    readonly options: ClientOptions = {},
  ) {
    this.url = normalizeGatewayUrl(url);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = options.retries ?? 5;
  }

  async info(signal?: AbortSignal): Promise<{ height: number; current: string }> {
    const info = this.#json<{ height?: unknown; current?: unknown }>(await this.#request({ what: 'GET /info', method: 'GET', path: '/info', signal }), 'GET /info');
    if (typeof info.height !== 'number') throw this.#bad('GET /info', 'no height');
    return { height: info.height, current: String(info.current ?? '') };
  }

  /** Winston for storing `bytes` in one transaction. */
  async price(bytes: number, signal?: AbortSignal): Promise<bigint> {
    return this.#winston(await this.#request({ what: `GET /price/${bytes}`, method: 'GET', path: `/price/${bytes}`, signal }), `GET /price/${bytes}`);
  }

  async balance(address: string, signal?: AbortSignal): Promise<bigint> {
    const what = `GET /wallet/${address}/balance`;
    return this.#winston(await this.#request({ what, method: 'GET', path: `/wallet/${address}/balance`, signal }), what);
  }

  /** A recent block hash (or the wallet's last tx) for `last_tx`: valid for about 50 blocks. */
  async anchor(signal?: AbortSignal): Promise<string> {
    const text = (await this.#request({ what: 'GET /tx_anchor', method: 'GET', path: '/tx_anchor', signal })).body.toString('utf8').trim();
    if (!/^[a-zA-Z0-9_-]{43,}$/.test(text)) throw this.#bad('GET /tx_anchor', 'not an anchor');
    return text;
  }

  /**
   * Posts a signed transaction. Resolves 'accepted', or 'known' when the gateway already has it
   * (a resumed upload re-posting: real nodes answer 208, arlocal 404, so that is checked).
   */
  async postTransaction(header: TransactionHeader, signal?: AbortSignal): Promise<'accepted' | 'known'> {
    const what = `POST /tx (${header.id})`;
    const answer = await this.#request({ what, method: 'POST', path: '/tx', json: header, signal, accept: [400, 402, 403, 404, 410] });
    if (answer.status === 208) return 'known';
    if (answer.status >= 200 && answer.status < 300) return 'accepted';
    const text = answer.body.toString('utf8').slice(0, 300).replace(/\s+/g, ' ').trim();
    if (answer.status === 410 || answer.status === 402 || /enough (tokens|funds)|insufficient/i.test(text)) {
      throw new ArweaveError('INSUFFICIENT_FUNDS', `${this.url} refused transaction ${header.id}: the wallet cannot pay for it (${text || answer.status})`, { status: answer.status });
    }
    if ((await this.status(header.id, signal)).state !== 'not-found') return 'known';
    throw new ArweaveError('REJECTED', `${this.url} rejected transaction ${header.id}: ${answer.status} ${text}`.trim(), { status: answer.status });
  }

  async postChunk(chunk: ChunkBody, signal?: AbortSignal): Promise<void> {
    const what = `POST /chunk (offset ${chunk.offset} of ${chunk.data_root})`;
    const attempt = async () => {
      const answer = await this.#attempt({ what, method: 'POST', path: '/chunk', json: chunk, signal, accept: [400, 413] });
      if (answer.status >= 200 && answer.status < 300) return;
      const reason = chunkError(answer.body);
      if (answer.status === 413 || FATAL_CHUNK_ERRORS.has(reason)) {
        throw new AbortError(new ArweaveError('REJECTED', `${this.url} rejected a chunk (${what}): ${reason || answer.status}`, { status: answer.status }));
      }
      // data_root_not_found and disk-pool limits are temporary on real nodes: try again.
      throw new ArweaveError('HTTP', `${this.url} did not take a chunk (${what}): ${reason || answer.status}`, { status: answer.status, retryable: true });
    };
    await this.#retrying(what, signal, attempt);
    this.stats.chunksPosted++;
  }

  async status(id: string, signal?: AbortSignal): Promise<TransactionStatus> {
    const what = `GET /tx/${id}/status`;
    const answer = await this.#request({ what, method: 'GET', path: `/tx/${id}/status`, signal, accept: [404] });
    if (answer.status === 404) return { state: 'not-found' };
    // Real nodes answer 202 "Pending"; arlocal 200 "Pending".
    const text = answer.body.toString('utf8').trim();
    if (answer.status === 202 || text === 'Pending') return { state: 'pending' };
    const parsed = this.#json<{ block_height?: unknown; block_indep_hash?: unknown; number_of_confirmations?: unknown }>(answer, what);
    if (typeof parsed.block_height !== 'number' || typeof parsed.block_indep_hash !== 'string') throw this.#bad(what, 'no block');
    return {
      state: 'confirmed',
      height: parsed.block_height,
      blockHash: parsed.block_indep_hash,
      confirmations: typeof parsed.number_of_confirmations === 'number' ? parsed.number_of_confirmations : 0,
    };
  }

  /** The transaction's header, or undefined when the gateway does not serve it (unknown, pending). */
  async transaction(id: string, signal?: AbortSignal): Promise<TransactionHeader | undefined> {
    const what = `GET /tx/${id}`;
    const answer = await this.#request({ what, method: 'GET', path: `/tx/${id}`, signal, accept: [404, 410] });
    if (answer.status !== 200) return undefined;
    return pickHeader(this.#json<Record<string, unknown>>(answer, what), what, this.url);
  }

  /** A transaction's data as raw bytes (`GET /<id>`). Never trusted: callers verify it. */
  async data(id: string, signal?: AbortSignal): Promise<Buffer> {
    const what = `GET /${id}`;
    const answer = await this.#request({ what, method: 'GET', path: `/${id}`, signal, accept: [404, 410] });
    if (answer.status !== 200) throw new ArweaveError('NOT_FOUND', `${this.url} does not have the data of transaction ${id}`, { status: answer.status });
    return answer.body;
  }

  async graphql<T>(query: string, variables: Record<string, unknown>, signal?: AbortSignal): Promise<T> {
    const parsed = this.#json<{ data?: T; errors?: Array<{ message?: string }> }>(
      await this.#request({ what: 'POST /graphql', method: 'POST', path: '/graphql', json: { query, variables }, signal }),
      'POST /graphql',
    );
    if (parsed.errors?.length || parsed.data === undefined) throw this.#bad('POST /graphql', parsed.errors?.[0]?.message ?? 'no data');
    return parsed.data;
  }

  /** Round-trip time of one GET /info, in ms (no retries): for picking the nearest gateway. */
  async latency(signal?: AbortSignal): Promise<number> {
    const started = performance.now();
    await this.#attempt({ what: 'GET /info', method: 'GET', path: '/info', signal });
    return performance.now() - started;
  }

  // ---- plumbing ------------------------------------------------------------------------------

  async #request(spec: RequestSpec): Promise<Answer> {
    return this.#retrying(spec.what, spec.signal, () => this.#attempt(spec));
  }

  async #retrying<T>(what: string, signal: AbortSignal | undefined, attempt: () => Promise<T>): Promise<T> {
    try {
      return await pRetry(attempt, {
        retries: this.retries,
        factor: 2,
        minTimeout: this.options.minRetryDelayMs ?? 500,
        maxTimeout: this.options.maxRetryDelayMs ?? 15_000,
        randomize: true,
        ...(signal ? { signal } : {}),
        shouldRetry: (err) => err instanceof ArweaveError && err.retryable,
        onFailedAttempt: async (err) => {
          if (!(err instanceof ArweaveError) || !err.retryable || err.retriesLeft <= 0) return;
          this.stats.retries++;
          this.options.onRetry?.({ gateway: this.url, what, attempt: err.attemptNumber, retriesLeft: err.retriesLeft, error: err });
          if (err.retryAfterMs) await sleep(Math.min(err.retryAfterMs, this.options.maxRetryDelayMs ?? 15_000), signal);
        },
      });
    } catch (err) {
      if (signal?.aborted) throw signal.reason ?? err;
      if (err instanceof ArweaveError && err.retryable && this.retries > 0) {
        throw new ArweaveError(err.code, `${err.message} (gave up after ${this.retries + 1} attempts)`, { status: err.status, cause: err });
      }
      throw err;
    }
  }

  async #attempt(spec: RequestSpec): Promise<Answer> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = spec.signal ? AbortSignal.any([spec.signal, timeout]) : timeout;
    const body = spec.json === undefined ? undefined : Buffer.from(JSON.stringify(spec.json));
    this.stats.requests++;
    this.stats.bytesSent += body?.length ?? 0;
    let status: number;
    let bytes: Buffer;
    let retryAfter: string | null;
    try {
      const res = await fetch(`${this.url}${spec.path}`, {
        method: spec.method,
        signal,
        ...(body ? { body, headers: { 'content-type': 'application/json' } } : {}),
      });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      bytes = Buffer.from(await res.arrayBuffer());
    } catch (err) {
      if (spec.signal?.aborted) throw new AbortError(spec.signal.reason instanceof Error ? spec.signal.reason : new Error('aborted'));
      if (timeout.aborted) {
        throw new ArweaveError('TIMEOUT', `${this.url} did not answer ${spec.what} within ${formatSeconds(this.timeoutMs)}`, { retryable: true, cause: err });
      }
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ArweaveError('NETWORK', `cannot reach ${this.url} (${spec.what}): ${cause?.code ?? cause?.message ?? (err as Error).message}`, { retryable: true, cause: err });
    }
    this.stats.bytesReceived += bytes.length;
    if ((status >= 200 && status < 300) || spec.accept?.includes(status)) return { status, body: bytes };
    const text = bytes.toString('utf8').slice(0, 200).replace(/\s+/g, ' ').trim();
    const retryable = status === 429 || status >= 500;
    throw new ArweaveError('HTTP', `${this.url} answered ${spec.what} with ${status}${text ? ` ${text}` : ''}`, {
      status,
      retryable,
      ...(retryable && retryAfter ? { retryAfterMs: parseRetryAfter(retryAfter) } : {}),
    });
  }

  #json<T>(answer: Answer, what: string): T {
    try {
      return JSON.parse(answer.body.toString('utf8')) as T;
    } catch {
      throw this.#bad(what, 'not JSON');
    }
  }

  #winston(answer: Answer, what: string): bigint {
    const text = answer.body.toString('utf8').trim();
    if (!/^\d+$/.test(text)) throw this.#bad(what, 'not a number of winston');
    return BigInt(text);
  }

  #bad(what: string, why: string): ArweaveError {
    return new ArweaveError('BAD_RESPONSE', `${this.url} gave an unexpected answer to ${what}: ${why}`);
  }
}

function pickHeader(raw: Record<string, unknown>, what: string, gateway: string): TransactionHeader {
  const s = (k: string): string => {
    const v = raw[k];
    if (typeof v !== 'string') throw new ArweaveError('BAD_RESPONSE', `${gateway} gave an unexpected answer to ${what}: no ${k}`);
    return v;
  };
  const tags = raw.tags;
  if (!Array.isArray(tags) || tags.some((t) => typeof t?.name !== 'string' || typeof t?.value !== 'string')) {
    throw new ArweaveError('BAD_RESPONSE', `${gateway} gave an unexpected answer to ${what}: bad tags`);
  }
  if (raw.format !== 2 && raw.format !== '2') throw new ArweaveError('BAD_RESPONSE', `${gateway}: ${what} is not a format-2 transaction`);
  return {
    format: 2,
    id: s('id'),
    last_tx: s('last_tx'),
    owner: s('owner'),
    tags: (tags as TransactionTag[]).map((t) => ({ name: t.name, value: t.value })),
    target: typeof raw.target === 'string' ? raw.target : '',
    quantity: typeof raw.quantity === 'string' ? raw.quantity : '0',
    data: typeof raw.data === 'string' ? raw.data : '',
    data_size: String(raw.data_size ?? '0'),
    data_root: s('data_root'),
    reward: s('reward'),
    signature: s('signature'),
  };
}

function chunkError(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { error?: unknown };
    return typeof parsed.error === 'string' ? parsed.error : '';
  } catch {
    return body.toString('utf8').slice(0, 100).trim();
  }
}

function parseRetryAfter(value: string): number | undefined {
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
