// The emulated replica behind the HTTP routes: validates requests as the replica (and, for the
// effective canister id, the boundary node) does, runs calls through the ingress history, and
// answers with certificates, signed query responses, or plain-text protocol errors.
import { Cbor } from '@dfinity/agent';
import { Principal } from '@dfinity/principal';
import { EmulatedCanister, type CanisterStatusKind, type MemoryInit } from './canister.js';
import { authenticateRequest, type CanisterCallContent } from './envelope.js';
import { ErrorCode, HttpProtocolError, ReplicaReject } from './errors.js';
import { ReplicaFaults } from './faults.js';
import { label, type CertifiedLeaf } from './hash-tree.js';
import { IngressHistory, type IngressEntry } from './ingress-history.js';
import { ManagementCanister } from './management.js';
import { EmulatedSubnet, type SignedQueryResponse } from './subnet.js';
import { buildWasmModule, type WasmGlobal } from './wasm-module.js';

export interface ReplicaOptions {
  /** How long a v3 call waits for its result before answering 202 (the replica's default is 10 s). */
  readonly syncCallTimeoutMs?: number;
  /** How long `stop_canister` may stay pending before it fails with IC0206 (default 5 min). */
  readonly stopTimeoutMs?: number;
  /**
   * Reject effective canister ids a boundary node would refuse (outside the subnet's range, e.g.
   * `aaaaa-aa`) and management calls whose URL does not name the canister in their arguments.
   * Default true: it catches client bugs that mainnet would punish.
   */
  readonly strictEffectiveCanisterId?: boolean;
  /** Reply bytes the ingress history keeps before old replies become `done` (default 64 MiB). */
  readonly replyBudgetBytes?: number;
  /**
   * Certificates signed by a subnet key the root (NNS) key delegated to, as on a mainnet
   * application subnet, instead of by the root key itself, as on a local replica (default false).
   */
  readonly nnsDelegation?: boolean;
}

/** An HTTP answer from the emulated replica. */
export interface HttpReply {
  readonly status: number;
  readonly contentType: string;
  readonly body: Uint8Array;
}

export interface CreateCanisterOptions {
  /** A specific id inside the subnet's range; the next free one by default. */
  readonly id?: Principal | string;
  readonly controllers?: ReadonlyArray<Principal | string>;
  /** Default 10T cycles. */
  readonly cycles?: bigint;
  /** Module bytes; `null` for an empty canister. By default a valid generated module. */
  readonly module?: Uint8Array | null;
  /** Size of the generated module (default 32 KiB). */
  readonly moduleBytes?: number;
  /** Exported globals of the generated module (default `[{ i32: 1 }, { i64: 2n }]`). */
  readonly globals?: readonly WasmGlobal[];
  /** Heap bytes (kept, not copied) or a fresh heap; default 1 MiB of canister-like content. */
  readonly heap?: Uint8Array | MemoryInit;
  /** Stable memory; empty by default. */
  readonly stable?: Uint8Array | MemoryInit;
  readonly status?: CanisterStatusKind;
  readonly certifiedData?: Uint8Array;
  /** Wasm chunk store entries (each at most 1 MiB). */
  readonly chunks?: readonly Uint8Array[];
}

export type RequestKind = 'status' | 'call-v3' | 'call-v2' | 'read_state' | 'query' | 'control';

export const DEFAULT_CANISTER_CYCLES = 10_000_000_000_000n;
export const DEFAULT_TEST_GLOBALS: readonly WasmGlobal[] = [{ i32: 1 }, { i64: 2n }];
/** `MAX_INGRESS_BYTES_PER_MESSAGE_APP_SUBNET`: the largest call a subnet accepts. */
export const MAX_INGRESS_BYTES = 2 * 1024 * 1024;

const MANAGEMENT_CANISTER = Principal.managementCanister();
const CBOR = 'application/cbor';
const TEXT = 'text/plain; charset=utf-8';

export class Replica {
  readonly subnet: EmulatedSubnet;
  readonly faults = new ReplicaFaults();
  readonly management: ManagementCanister;
  readonly #canisters = new Map<string, EmulatedCanister>();
  readonly #ingress: IngressHistory;
  readonly #options: Required<ReplicaOptions>;
  readonly #requestCounts = new Map<RequestKind, number>();
  readonly #methodCounts = new Map<string, number>();
  #nextCanisterIndex = 0n;

  constructor(options: ReplicaOptions = {}) {
    this.#options = {
      syncCallTimeoutMs: options.syncCallTimeoutMs ?? 10_000,
      stopTimeoutMs: options.stopTimeoutMs ?? 5 * 60_000,
      strictEffectiveCanisterId: options.strictEffectiveCanisterId ?? true,
      replyBudgetBytes: options.replyBudgetBytes ?? 64 * 1024 * 1024,
      nnsDelegation: options.nnsDelegation ?? false,
    };
    this.subnet = new EmulatedSubnet({ nnsDelegation: this.#options.nnsDelegation });
    this.#ingress = new IngressHistory(this.#options.replyBudgetBytes);
    this.management = new ManagementCanister({
      faults: this.faults,
      stopTimeoutMs: this.#options.stopTimeoutMs,
      nowNs: () => this.nowNs(),
      findCanister: (id) => this.findCanister(id),
      createCanister: (init) => this.createCanister({ ...init, module: null, heap: { bytes: 0 } }),
      deleteCanister: (id) => this.#canisters.delete(id.toText()),
      hostsCanister: (id) => this.subnet.hostsCanister(id),
    });
    this.faults.onChange(() => this.management.settlePendingStops());
  }

  /** The emulator's clock in nanoseconds (wall clock plus the clock-skew fault). */
  nowNs(): bigint {
    return BigInt(Date.now() + this.faults.clockSkewMs) * 1_000_000n;
  }

  // --- canisters ----------------------------------------------------------------------------------

  createCanister(options: CreateCanisterOptions = {}): EmulatedCanister {
    const id = options.id === undefined ? this.#nextFreeCanisterId() : toPrincipal(options.id);
    if (!this.subnet.hostsCanister(id)) throw new RangeError(`canister id ${id.toText()} is outside this subnet's range`);
    if (this.#canisters.has(id.toText())) throw new Error(`canister ${id.toText()} already exists`);
    const canister = new EmulatedCanister(id, (options.controllers ?? []).map(toPrincipal), options.cycles ?? DEFAULT_CANISTER_CYCLES);
    const module =
      options.module === undefined
        ? buildWasmModule({ globals: options.globals ?? DEFAULT_TEST_GLOBALS, sizeBytes: options.moduleBytes ?? 32 * 1024, seed: id.toText() })
        : options.module;
    canister.setModule(module);
    if (options.globals && options.module !== undefined) canister.globals = options.globals;
    canister.setMemory('heap', options.heap ?? { bytes: 1024 * 1024, content: 'canister-like' });
    if (options.stable) canister.setMemory('stable', options.stable);
    if (options.status) canister.setStatus(options.status);
    if (options.certifiedData) canister.certifiedData = options.certifiedData;
    for (const chunk of options.chunks ?? []) canister.addChunk(chunk);
    this.#canisters.set(id.toText(), canister);
    return canister;
  }

  findCanister(id: Principal | string): EmulatedCanister | undefined {
    return this.#canisters.get(toPrincipal(id).toText());
  }

  canister(id: Principal | string): EmulatedCanister {
    const canister = this.findCanister(id);
    if (!canister) throw new Error(`no canister ${toPrincipal(id).toText()}`);
    return canister;
  }

  canisterIds(): Principal[] {
    return [...this.#canisters.values()].map((c) => c.id);
  }

  #nextFreeCanisterId(): Principal {
    for (;;) {
      const id = this.subnet.canisterIdAt(this.#nextCanisterIndex++);
      if (!this.#canisters.has(id.toText())) return id;
    }
  }

  // --- request accounting -------------------------------------------------------------------------

  countRequest(kind: RequestKind): void {
    this.#requestCounts.set(kind, (this.#requestCounts.get(kind) ?? 0) + 1);
  }

  /**
   * How many calls and queries of each method (management methods by name, e.g.
   * `upload_canister_snapshot_data`) arrived with a valid envelope, resends included.
   */
  methodCounts(): Record<string, number> {
    return Object.fromEntries(this.#methodCounts);
  }

  #countMethod(method: string): void {
    this.#methodCounts.set(method, (this.#methodCounts.get(method) ?? 0) + 1);
  }

  /** How many requests of each kind the HTTP server has seen. */
  requestCounts(): Record<RequestKind, number> {
    const kinds: RequestKind[] = ['status', 'call-v3', 'call-v2', 'read_state', 'query', 'control'];
    return Object.fromEntries(kinds.map((k) => [k, this.#requestCounts.get(k) ?? 0])) as Record<RequestKind, number>;
  }

  // --- HTTP interface -----------------------------------------------------------------------------

  async status(): Promise<HttpReply> {
    await this.#delay(undefined);
    return cbor(200, {
      ic_api_version: '0.18.0',
      impl_version: 'agentvault-replica-emulator',
      root_key: this.subnet.rootKeyDer,
      replica_health_status: 'healthy',
      certified_height: this.nowNs() / 1_000_000_000n,
    });
  }

  /**
   * `/api/v3/.../call` waits for the result and answers with its certificate (or 202 after the
   * sync timeout); `/api/v2/.../call` answers 202 at once and the client polls `read_state`.
   * A body that was seen before (same request id) is not executed again.
   */
  async call(ecidText: string, body: Uint8Array, version: 'v2' | 'v3'): Promise<HttpReply> {
    if (version === 'v3' && this.faults.syncCallsDisabled) return text(404, 'Not Found');
    const request = authenticateRequest(body, 'call', this.nowNs());
    const call = request.call!;
    this.#countMethod(call.methodName);
    this.#checkEffectiveCanisterId(ecidText, call);
    if (body.length > MAX_INGRESS_BYTES) {
      return text(
        413,
        `Request 0x${hex(request.requestId)} is too large. ` +
          `Message byte size ${body.length} is larger than the max allowed ${MAX_INGRESS_BYTES}.`,
      );
    }
    if (this.faults.takeTransientFailure(call.methodName, 'http-503')) {
      return text(503, 'Service is overloaded, try again later.');
    }

    let entry = this.#ingress.get(request.requestId);
    if (!entry) {
      try {
        this.#ingressFilter(request.sender, call);
      } catch (error) {
        if (error instanceof ReplicaReject) return nonReplicatedRejection(error);
        throw error;
      }
      this.#ingress.prune(this.nowNs());
      entry = this.#ingress.start(request.requestId, request.sender, request.ingressExpiryNs, () => this.#execute(request.sender, call));
    }
    if (version === 'v2') return { status: 202, contentType: TEXT, body: new Uint8Array(0) };

    const finished = await settlesWithin(entry.completion, this.#options.syncCallTimeoutMs);
    if (!finished) return text(202, 'Message did not complete execution and certification within the replica defined timeout.');
    return cbor(200, { status: 'replied', certificate: this.#certifyRequestStatus(entry) });
  }

  /** Certifies the requested paths (and `/time`). `time` is answered for any effective id. */
  async readState(ecidText: string, body: Uint8Array): Promise<HttpReply> {
    await this.#delay(undefined);
    const request = authenticateRequest(body, 'read_state', this.nowNs());
    const ecid = parsePrincipal(ecidText);
    const leaves: CertifiedLeaf[] = [];
    let requestStatusId: string | undefined;

    for (const path of request.paths ?? []) {
      const [first, ...rest] = path;
      const name = first ? Buffer.from(first).toString('utf8') : '';
      switch (name) {
        case 'time':
          break;
        case 'api_boundary_nodes':
          break;
        case 'subnet':
          leaves.push(...this.subnet.subnetLeaves().filter((leaf) => hasPrefix(leaf.path, path)));
          break;
        case 'request_status': {
          const requestId = rest[0];
          if (!requestId) throw new HttpProtocolError(404, 'Invalid path requested.');
          if (requestStatusId !== undefined && requestStatusId !== hex(requestId)) {
            throw new HttpProtocolError(400, 'Can only request a single request ID in request_status paths.');
          }
          requestStatusId = hex(requestId);
          const entry = this.#ingress.get(requestId);
          if (!entry) break;
          if (entry.sender.compareTo(request.sender) !== 'eq') {
            throw new HttpProtocolError(403, 'Request IDs must be for requests signed by the caller.');
          }
          leaves.push(...this.#ingress.leaves(entry).filter((leaf) => hasPrefix(leaf.path, path)));
          break;
        }
        case 'canister': {
          const canisterIdBytes = rest[0];
          if (!canisterIdBytes) throw new HttpProtocolError(404, 'Invalid path requested.');
          const canisterId = Principal.fromUint8Array(canisterIdBytes);
          if (canisterId.compareTo(ecid) !== 'eq') {
            throw new HttpProtocolError(
              400,
              `Effective principal id in URL ${ecid.toText()} does not match requested principal id: ${canisterId.toText()}.`,
            );
          }
          leaves.push(...this.#canisterLeaves(canisterId).filter((leaf) => hasPrefix(leaf.path, path)));
          break;
        }
        default:
          throw new HttpProtocolError(404, 'Invalid path requested.');
      }
    }
    return cbor(200, { certificate: this.subnet.signer.certify(leaves, this.nowNs()) });
  }

  /** Queries are answered by "the node" and carry its Ed25519 signature. */
  async query(ecidText: string, body: Uint8Array): Promise<HttpReply> {
    const request = authenticateRequest(body, 'query', this.nowNs());
    const call = request.call!;
    this.#countMethod(call.methodName);
    this.#checkEffectiveCanisterId(ecidText, call);
    await this.#delay(call.methodName);

    let response: SignedQueryResponse;
    try {
      response = { status: 'replied', reply: { arg: this.#executeQuery(request.sender, call) } };
    } catch (error) {
      if (!(error instanceof ReplicaReject)) throw error;
      response = { status: 'rejected', reject_code: error.rejectCode, reject_message: error.message, error_code: error.errorCodeText };
    }
    const signature = this.subnet.signQueryResponse(response, request.requestId, this.nowNs());
    return cbor(200, { ...response, signatures: [signature] });
  }

  // --- internals ----------------------------------------------------------------------------------

  #checkEffectiveCanisterId(ecidText: string, call: CanisterCallContent): void {
    const ecid = parsePrincipal(ecidText);
    const strict = this.#options.strictEffectiveCanisterId;
    if (strict && !this.subnet.hostsCanister(ecid)) {
      // What mainnet's boundary nodes answer for an id no subnet hosts (aaaaa-aa included).
      throw new HttpProtocolError(400, 'error: canister_not_found\ndetails: The specified canister does not exist.');
    }
    const isManagement = call.canisterId.compareTo(MANAGEMENT_CANISTER) === 'eq';
    if (!isManagement && call.canisterId.compareTo(ecid) !== 'eq') {
      throw new HttpProtocolError(
        400,
        `Specified CanisterId ${call.canisterId.toText()} does not match effective canister id in URL ${ecid.toText()}`,
      );
    }
    if (isManagement && strict && ManagementCanister.hasMethod(call.methodName)) {
      let target: Principal | undefined;
      try {
        target = this.management.effectiveCanisterId(call.methodName, call.arg);
      } catch {
        return; // undecodable arguments are rejected by the ingress filter with IC0408
      }
      if (target && target.compareTo(ecid) !== 'eq') {
        throw new HttpProtocolError(
          400,
          `Effective canister id in URL ${ecid.toText()} does not match the canister ${target.toText()} named by ${call.methodName}.`,
        );
      }
    }
  }

  #ingressFilter(sender: Principal, call: CanisterCallContent): void {
    if (call.canisterId.compareTo(MANAGEMENT_CANISTER) === 'eq') {
      this.management.inspectIngress(call.methodName, call.arg, sender);
      return;
    }
    if (!this.findCanister(call.canisterId)) {
      throw new ReplicaReject(ErrorCode.CanisterNotFound, `Canister ${call.canisterId.toText()} not found`);
    }
  }

  async #execute(sender: Principal, call: CanisterCallContent): Promise<Uint8Array> {
    await this.#delay(call.methodName);
    if (call.canisterId.compareTo(MANAGEMENT_CANISTER) === 'eq') {
      return this.management.execute(call.methodName, call.arg, sender);
    }
    // Emulated canisters have state but no code to run.
    const canister = this.canister(call.canisterId);
    if (canister.status !== 'running') {
      throw new ReplicaReject(ErrorCode.CanisterStopped, `Canister ${canister.id.toText()} is ${canister.status}`);
    }
    throw new ReplicaReject(
      ErrorCode.CanisterMethodNotFound,
      `Error from Canister ${canister.id.toText()}: Canister has no update method '${call.methodName}'.`,
    );
  }

  #executeQuery(sender: Principal, call: CanisterCallContent): Uint8Array {
    if (call.canisterId.compareTo(MANAGEMENT_CANISTER) === 'eq') {
      return this.management.query(call.methodName, call.arg, sender);
    }
    const canister = this.findCanister(call.canisterId);
    if (!canister) throw new ReplicaReject(ErrorCode.CanisterNotFound, `Canister ${call.canisterId.toText()} not found`);
    throw new ReplicaReject(
      ErrorCode.CanisterMethodNotFound,
      `Error from Canister ${canister.id.toText()}: Canister has no query method '${call.methodName}'.`,
    );
  }

  #certifyRequestStatus(entry: IngressEntry): Uint8Array {
    return this.subnet.signer.certify(this.#ingress.leaves(entry), this.nowNs());
  }

  /** `/canister/<id>/controllers` and `/module_hash`, as any caller may read them. */
  #canisterLeaves(id: Principal): CertifiedLeaf[] {
    const canister = this.findCanister(id);
    if (!canister) return [];
    const base = [label('canister'), id.toUint8Array()];
    const leaves: CertifiedLeaf[] = [
      { path: [...base, label('controllers')], value: Cbor.encode(canister.controllers.map((c) => c.toUint8Array())) },
    ];
    if (canister.moduleHash) leaves.push({ path: [...base, label('module_hash')], value: canister.moduleHash });
    return leaves;
  }

  async #delay(method: string | undefined): Promise<void> {
    const ms = this.faults.delayFor(method);
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  }
}

function toPrincipal(id: Principal | string): Principal {
  return typeof id === 'string' ? Principal.fromText(id) : id;
}

function parsePrincipal(text: string): Principal {
  try {
    return Principal.fromText(text);
  } catch {
    throw new HttpProtocolError(400, `Could not parse the effective canister id "${text}"`);
  }
}

function hasPrefix(path: readonly Uint8Array[], prefix: readonly Uint8Array[]): boolean {
  return prefix.length <= path.length && prefix.every((segment, i) => Buffer.from(segment).equals(path[i]!));
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function cbor(status: number, value: unknown): HttpReply {
  return { status, contentType: CBOR, body: Cbor.encode(value) };
}

function text(status: number, message: string): HttpReply {
  return { status, contentType: TEXT, body: Buffer.from(message, 'utf8') };
}

/** What the replica answers when its ingress filter refuses a call: uncertified, HTTP 200. */
function nonReplicatedRejection(reject: ReplicaReject): HttpReply {
  return cbor(200, {
    status: 'non_replicated_rejection',
    reject_code: reject.rejectCode,
    reject_message: reject.message,
    error_code: reject.errorCodeText,
  });
}

async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
