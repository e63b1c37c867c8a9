// Fault switches: the misbehaviour a backup tool must survive, switched on by tests (in process)
// or through the control API (`POST /_/faults`).
import { Principal } from '@dfinity/principal';

/**
 * `http-503`: the HTTP layer answers 503 before execution; the agent retries by itself.
 * `reject`: a certified SYS_TRANSIENT reject (IC0210, heap delta rate limited) that the
 * application has to retry.
 */
export type TransientFailureKind = 'http-503' | 'reject';

export interface TransientFailure {
  /** Management canister method name, e.g. `read_canister_snapshot_data`. */
  readonly method: string;
  readonly remaining: number;
  readonly kind: TransientFailureKind;
}

/** The full fault state, also the JSON shape of the control API. */
export interface FaultConfig {
  /** Delay before every API response, in ms (0: off). */
  readonly delayMs?: number;
  /** Restricts `delayMs` to calls and queries of this management method. */
  readonly delayMethod?: string | null;
  /** Destroys the connection of the next N API requests instead of answering. */
  readonly dropNextRequests?: number;
  /** Drop after the request was executed (the reply is lost, the effect is not). */
  readonly dropAfterExecution?: boolean;
  readonly transientFailures?: readonly TransientFailure[];
  /** Canister ids whose stop never completes: they stay `stopping`. */
  readonly refuseToStop?: readonly string[];
  /** `/api/v3/.../call` answers 404, so the agent falls back to v2 call + read_state polling. */
  readonly syncCallsDisabled?: boolean;
  /** Offsets the emulator clock (certificate `time`, expiry checks), in ms. */
  readonly clockSkewMs?: number;
}

export type DropDecision = 'before-execution' | 'after-execution' | null;

export class ReplicaFaults {
  #delayMs = 0;
  #delayMethod: string | null = null;
  #dropNextRequests = 0;
  #dropAfterExecution = false;
  #transientFailures: TransientFailure[] = [];
  #refuseToStop = new Set<string>();
  #syncCallsDisabled = false;
  #clockSkewMs = 0;
  readonly #listeners = new Set<() => void>();

  /** Delays every API response by `delayMs` (or only calls/queries of `options.method`). */
  slowReplies(delayMs: number, options: { method?: string } = {}): void {
    this.configure({ delayMs, delayMethod: options.method ?? null });
  }

  /** Destroys the connections of the next `count` API requests. */
  dropConnections(count: number, options: { afterExecution?: boolean } = {}): void {
    this.configure({ dropNextRequests: count, dropAfterExecution: options.afterExecution ?? false });
  }

  /** Makes `method` fail `times` times with a transient error, then succeed again. */
  failTransiently(method: string, times: number, kind: TransientFailureKind = 'reject'): void {
    this.configure({ transientFailures: [...this.#transientFailures.filter((f) => f.method !== method), { method, remaining: times, kind }] });
  }

  /** While set, `stop_canister` on this canister never completes; clearing it lets it stop. */
  refuseToStop(canisterId: Principal | string, refuse = true): void {
    const id = typeof canisterId === 'string' ? canisterId : canisterId.toText();
    const next = new Set(this.#refuseToStop);
    if (refuse) next.add(id);
    else next.delete(id);
    this.configure({ refuseToStop: [...next] });
  }

  disableSyncCalls(disabled = true): void {
    this.configure({ syncCallsDisabled: disabled });
  }

  skewClock(ms: number): void {
    this.configure({ clockSkewMs: ms });
  }

  clear(): void {
    this.configure({
      delayMs: 0,
      delayMethod: null,
      dropNextRequests: 0,
      dropAfterExecution: false,
      transientFailures: [],
      refuseToStop: [],
      syncCallsDisabled: false,
      clockSkewMs: 0,
    });
  }

  /** Sets the given fields and leaves the others as they are. */
  configure(config: FaultConfig): void {
    if (config.delayMs !== undefined) this.#delayMs = nonNegative(config.delayMs, 'delayMs');
    if (config.delayMethod !== undefined) this.#delayMethod = config.delayMethod;
    if (config.dropNextRequests !== undefined) this.#dropNextRequests = nonNegative(config.dropNextRequests, 'dropNextRequests');
    if (config.dropAfterExecution !== undefined) this.#dropAfterExecution = config.dropAfterExecution;
    if (config.transientFailures !== undefined) {
      this.#transientFailures = config.transientFailures.map((f) => ({
        method: f.method,
        remaining: nonNegative(f.remaining, 'remaining'),
        kind: f.kind === 'http-503' ? 'http-503' : 'reject',
      }));
    }
    if (config.refuseToStop !== undefined) this.#refuseToStop = new Set(config.refuseToStop.map((id) => Principal.fromText(id).toText()));
    if (config.syncCallsDisabled !== undefined) this.#syncCallsDisabled = config.syncCallsDisabled;
    if (config.clockSkewMs !== undefined) this.#clockSkewMs = config.clockSkewMs;
    for (const listener of this.#listeners) listener();
  }

  describe(): Required<FaultConfig> {
    return {
      delayMs: this.#delayMs,
      delayMethod: this.#delayMethod,
      dropNextRequests: this.#dropNextRequests,
      dropAfterExecution: this.#dropAfterExecution,
      transientFailures: this.#transientFailures.map((f) => ({ ...f })),
      refuseToStop: [...this.#refuseToStop],
      syncCallsDisabled: this.#syncCallsDisabled,
      clockSkewMs: this.#clockSkewMs,
    };
  }

  // --- hooks for the emulator -------------------------------------------------------------------

  /** Called on every change; the replica uses it to let refused stops complete. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Consumes one pending connection drop, if any. */
  takeDrop(): DropDecision {
    if (this.#dropNextRequests === 0) return null;
    this.#dropNextRequests--;
    return this.#dropAfterExecution ? 'after-execution' : 'before-execution';
  }

  /** Delay for a request; `method` is the management method of a call or query, if any. */
  delayFor(method: string | undefined): number {
    if (this.#delayMs === 0) return 0;
    if (this.#delayMethod !== null && this.#delayMethod !== method) return 0;
    return this.#delayMs;
  }

  /**
   * Consumes one pending failure of `method` of the given kind: the HTTP layer asks for
   * `http-503` before execution, execution asks for `reject`.
   */
  takeTransientFailure(method: string, kind: TransientFailureKind): boolean {
    const index = this.#transientFailures.findIndex((f) => f.method === method && f.kind === kind && f.remaining > 0);
    if (index < 0) return false;
    const failure = this.#transientFailures[index]!;
    this.#transientFailures[index] = { ...failure, remaining: failure.remaining - 1 };
    return true;
  }

  refusesToStop(canisterId: Principal): boolean {
    return this.#refuseToStop.has(canisterId.toText());
  }

  get syncCallsDisabled(): boolean {
    return this.#syncCallsDisabled;
  }

  get clockSkewMs(): number {
    return this.#clockSkewMs;
  }
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number`);
  return Math.floor(value);
}
