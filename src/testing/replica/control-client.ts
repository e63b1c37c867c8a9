// A typed client for the control API, for tests and the demo that drive an emulator in another
// process (`node dist/testing/replica/main.js`).
import { Principal } from '@dfinity/principal';
import type { MemoryRegion } from './canister.js';
import type {
  CanisterInfoResponse,
  CreateCanisterRequest,
  DigestResponse,
  SetCanisterRequest,
  WriteRandomPagesRequest,
} from './control-api.js';
import type { FaultConfig } from './faults.js';
import type { RequestKind } from './replica.js';

export class ReplicaControlClient {
  /** @param url the emulator's base URL, e.g. `http://127.0.0.1:4943`. */
  constructor(readonly url: string) {}

  async createCanister(request: CreateCanisterRequest = {}): Promise<Principal> {
    const { canisterId } = await this.#post<{ canisterId: string }>('/_/canisters', request);
    return Principal.fromText(canisterId);
  }

  async writeRandomPages(canisterId: Principal | string, request: WriteRandomPagesRequest): Promise<number[]> {
    const { offsets } = await this.#post<{ offsets: number[] }>(`/_/canisters/${text(canisterId)}/write-random-pages`, request);
    return offsets;
  }

  setCanister(canisterId: Principal | string, request: SetCanisterRequest): Promise<CanisterInfoResponse> {
    return this.#post(`/_/canisters/${text(canisterId)}/set`, request);
  }

  canisterInfo(canisterId: Principal | string): Promise<CanisterInfoResponse> {
    return this.#post(`/_/canisters/${text(canisterId)}/info`, {});
  }

  digest(canisterId: Principal | string, region: MemoryRegion | 'module'): Promise<DigestResponse> {
    return this.#post(`/_/canisters/${text(canisterId)}/digest`, { region });
  }

  /** Sets the given fault fields, leaves the others; returns the whole fault state. */
  setFaults(config: FaultConfig): Promise<Required<FaultConfig>> {
    return this.#post('/_/faults', config);
  }

  clearFaults(): Promise<Required<FaultConfig>> {
    return this.#post('/_/faults/clear', {});
  }

  requestCounts(): Promise<Record<RequestKind, number>> {
    return this.#post('/_/requests', {});
  }

  /** Calls and queries by method name, e.g. `{ "stop_canister": 1 }`. */
  methodCounts(): Promise<Record<string, number>> {
    return this.#post('/_/methods', {});
  }

  async #post<T>(path: string, body: unknown): Promise<T> {
    const response = await fetch(new URL(path, this.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await response.json()) as T | { error: string };
    if (!response.ok) {
      const message = typeof json === 'object' && json !== null && 'error' in json ? json.error : response.statusText;
      throw new Error(`replica control ${path}: ${response.status} ${message}`);
    }
    return json as T;
  }
}

function text(id: Principal | string): string {
  return typeof id === 'string' ? id : id.toText();
}
