// The management canister (`aaaaa-aa`): the ingress filter (what the replica refuses before
// execution, answered as a non-replicated rejection) and the execution of each method with the
// replica's rules, reject codes and messages (dfinity/ic `canister_manager.rs` / `types.rs`).
//
// Arguments and replies are Candid, typed by the `idlFactory` of @dfinity/ic-management 7.1.3,
// the same declarations the client uses.
import { IDL } from '@dfinity/candid';
import { idlFactory } from '@dfinity/ic-management/dist/candid/ic-management.idl.js';
import type {
  canister_settings,
  canister_status_result,
  delete_canister_snapshot_args,
  install_chunked_code_args,
  install_code_args,
  load_canister_snapshot_args,
  provisional_create_canister_with_cycles_args,
  provisional_top_up_canister_args,
  read_canister_snapshot_data_args,
  read_canister_snapshot_metadata_args,
  read_canister_snapshot_metadata_response,
  snapshot,
  take_canister_snapshot_args,
  update_settings_args,
  upload_canister_snapshot_data_args,
  upload_canister_snapshot_metadata_args,
  upload_chunk_args,
} from '@dfinity/ic-management/dist/candid/ic-management.js';
import { Principal } from '@dfinity/principal';
import { createHash } from 'node:crypto';
import { MAX_WASM_CHUNK_BYTES, type CanisterSnapshot, type EmulatedCanister } from './canister.js';
import { WASM_PAGE_SIZE } from './content.js';
import { ErrorCode, ReplicaReject } from './errors.js';
import type { ReplicaFaults } from './faults.js';
import { encodeWithBlob } from '../../ic/blob-arg.js';
import { decodeUploadDataArgs } from './upload-args.js';
import { globalsMatch, inspectWasmModule, InvalidWasmError, type WasmGlobal } from './wasm-module.js';

/** `MAX_SLICE_SIZE_BYTES`: the largest slice one `read_canister_snapshot_data` may return. */
export const MAX_SNAPSHOT_SLICE_BYTES = 2_000_000;
/** `max_number_of_snapshots_per_canister` on application subnets. */
export const MAX_SNAPSHOTS_PER_CANISTER = 10;
export const MAX_CONTROLLERS = 10;
/** Cycles a provisionally created canister gets when no amount is given. */
export const DEFAULT_PROVISIONAL_CYCLES = 100_000_000_000_000n;

const managementService = idlFactory({ IDL }) as IDL.ServiceClass;
const managementMethods = new Map<string, IDL.FuncClass>(managementService._fields);

/** What the management canister needs from the rest of the replica. */
export interface ManagementEnvironment {
  readonly faults: ReplicaFaults;
  /** How long a stop may stay pending before it is rejected with IC0206. */
  readonly stopTimeoutMs: number;
  nowNs(): bigint;
  findCanister(id: Principal): EmulatedCanister | undefined;
  createCanister(options: { id?: Principal; controllers: Principal[]; cycles: bigint }): EmulatedCanister;
  deleteCanister(id: Principal): void;
  /** Whether a canister id is one this subnet hosts (`specified_id` must be). */
  hostsCanister(id: Principal): boolean;
}

/** Methods a user may send as ingress when they control the canister named in the arguments. */
const CONTROLLER_ONLY_METHODS = new Set([
  'canister_status',
  'start_canister',
  'stop_canister',
  'uninstall_code',
  'delete_canister',
  'update_settings',
  'install_code',
  'install_chunked_code',
  'upload_chunk',
  'stored_chunks',
  'clear_chunk_store',
  'take_canister_snapshot',
  'load_canister_snapshot',
  'list_canister_snapshots',
  'delete_canister_snapshot',
  'read_canister_snapshot_metadata',
  'read_canister_snapshot_data',
  'upload_canister_snapshot_metadata',
  'upload_canister_snapshot_data',
]);
/** A local replica whitelists every principal for the provisional methods. */
const PROVISIONAL_METHODS = new Set(['provisional_create_canister_with_cycles', 'provisional_top_up_canister']);
const QUERY_METHODS = new Set(['canister_status', 'fetch_canister_logs']);

interface PendingStop {
  resolve(): void;
  reject(reason: ReplicaReject): void;
}

export class ManagementCanister {
  readonly #pendingStops = new Map<string, Set<PendingStop>>();

  constructor(private readonly env: ManagementEnvironment) {}

  static hasMethod(method: string): boolean {
    return managementMethods.has(method);
  }

  /**
   * The canister a call is about: where it must be routed, and the only valid effective canister
   * id in the URL. `undefined` for calls that may go anywhere (provisional create without id).
   */
  effectiveCanisterId(method: string, arg: Uint8Array): Principal | undefined {
    const decoded = this.#decodeArg<Record<string, unknown> | undefined>(method, arg);
    if (typeof decoded !== 'object' || decoded === null) return undefined; // e.g. raw_rand: ()
    if (method === 'install_chunked_code') return decoded['target_canister'] as Principal;
    if (method === 'provisional_create_canister_with_cycles') {
      const specified = decoded['specified_id'] as [] | [Principal];
      return specified[0];
    }
    const canisterId = decoded['canister_id'];
    return canisterId instanceof Principal ? canisterId : undefined;
  }

  /**
   * The ingress filter: throws the rejection the replica answers with HTTP 200
   * `non_replicated_rejection` (not certified, never executed).
   */
  inspectIngress(method: string, arg: Uint8Array, sender: Principal): void {
    if (!managementMethods.has(method)) {
      throw new ReplicaReject(ErrorCode.CanisterMethodNotFound, `Management canister has no method '${method}'`);
    }
    if (method === 'fetch_canister_logs') {
      throw new ReplicaReject(ErrorCode.CanisterRejectedMessage, 'fetch_canister_logs API is only accessible in non-replicated mode');
    }
    if (PROVISIONAL_METHODS.has(method)) {
      this.#decodeArg(method, arg);
      return;
    }
    if (!CONTROLLER_ONLY_METHODS.has(method)) {
      throw new ReplicaReject(ErrorCode.CanisterRejectedMessage, `Only canisters can call ic00 method ${method}`);
    }
    const canisterId = this.effectiveCanisterId(method, arg);
    if (!canisterId) throw new ReplicaReject(ErrorCode.InvalidManagementPayload, `Failed to extract the canister id of ${method}`);
    const canister = this.env.findCanister(canisterId);
    if (!canister) throw new ReplicaReject(ErrorCode.CanisterNotFound, `Canister ${canisterId.toText()} not found`);
    if (!canister.isController(sender)) {
      throw new ReplicaReject(
        ErrorCode.CanisterInvalidController,
        `Only controllers of canister ${canisterId.toText()} can call ic00 method ${method}`,
      );
    }
  }

  /** Executes a call and resolves with the Candid reply, or rejects with a `ReplicaReject`. */
  async execute(method: string, arg: Uint8Array, caller: Principal): Promise<Uint8Array> {
    if (this.env.faults.takeTransientFailure(method, 'reject')) {
      const id = this.#tryEffectiveCanister(method, arg)?.toText() ?? 'aaaaa-aa';
      throw new ReplicaReject(
        ErrorCode.CanisterHeapDeltaRateLimited,
        `Canister ${id} is heap delta rate limited: current delta debit is 2147483648, but limit is 1073741824.`,
      );
    }
    switch (method) {
      case 'canister_status':
        return this.#reply(method, this.#canisterStatus(this.#controlled(this.#canisterArg(method, arg), caller)));
      case 'start_canister':
        this.#startCanister(this.#controlled(this.#canisterArg(method, arg), caller));
        return this.#reply(method);
      case 'stop_canister':
        await this.#stopCanister(this.#controlled(this.#canisterArg(method, arg), caller));
        return this.#reply(method);
      case 'uninstall_code': {
        const canister = this.#controlled(this.#canisterArg(method, arg), caller);
        canister.uninstall();
        canister.bumpVersion();
        return this.#reply(method);
      }
      case 'delete_canister':
        this.#deleteCanister(this.#controlled(this.#canisterArg(method, arg), caller));
        return this.#reply(method);
      case 'update_settings':
        this.#updateSettings(this.#decodeArg<update_settings_args>(method, arg), caller);
        return this.#reply(method);
      case 'install_code':
        this.#installCode(this.#decodeArg<install_code_args>(method, arg), caller);
        return this.#reply(method);
      case 'install_chunked_code':
        this.#installChunkedCode(this.#decodeArg<install_chunked_code_args>(method, arg), caller);
        return this.#reply(method);
      case 'upload_chunk':
        return this.#reply(method, this.#uploadChunk(this.#decodeArg<upload_chunk_args>(method, arg), caller));
      case 'stored_chunks': {
        const canister = this.#controlled(this.#canisterArg(method, arg), caller);
        return this.#reply(method, [...canister.chunkStore.keys()].map((hex) => ({ hash: Buffer.from(hex, 'hex') })));
      }
      case 'clear_chunk_store':
        this.#controlled(this.#canisterArg(method, arg), caller).clearChunkStore();
        return this.#reply(method);
      case 'take_canister_snapshot':
        return this.#reply(method, this.#takeSnapshot(this.#decodeArg<take_canister_snapshot_args>(method, arg), caller));
      case 'load_canister_snapshot':
        this.#loadSnapshot(this.#decodeArg<load_canister_snapshot_args>(method, arg), caller);
        return this.#reply(method);
      case 'list_canister_snapshots': {
        const canister = this.#controlled(this.#canisterArg(method, arg), caller);
        return this.#reply(method, canister.listSnapshots().map(snapshotRecord));
      }
      case 'delete_canister_snapshot': {
        const args = this.#decodeArg<delete_canister_snapshot_args>(method, arg);
        const canister = this.#controlled(args.canister_id, caller);
        const owned = this.#ownedSnapshot(canister, args.snapshot_id);
        canister.deleteSnapshot(owned.id);
        return this.#reply(method);
      }
      case 'read_canister_snapshot_metadata':
        return this.#reply(method, this.#readMetadata(this.#decodeArg<read_canister_snapshot_metadata_args>(method, arg), caller));
      case 'read_canister_snapshot_data': {
        // The same bytes as #reply writes, with the 2 MB chunk copied once (blob-arg.ts).
        const chunk = this.#readData(this.#decodeArg<read_canister_snapshot_data_args>(method, arg), caller);
        return encodeWithBlob(managementMethods.get(method)!.retTypes[0]!, { chunk }, 'chunk');
      }
      case 'upload_canister_snapshot_metadata':
        return this.#reply(method, {
          snapshot_id: this.#uploadMetadata(this.#decodeArg<upload_canister_snapshot_metadata_args>(method, arg), caller),
        });
      case 'upload_canister_snapshot_data':
        this.#uploadData(this.#decodeArg<upload_canister_snapshot_data_args>(method, arg), caller);
        return this.#reply(method);
      case 'provisional_create_canister_with_cycles':
        return this.#reply(method, {
          canister_id: this.#provisionalCreate(this.#decodeArg<provisional_create_canister_with_cycles_args>(method, arg), caller),
        });
      case 'provisional_top_up_canister': {
        const args = this.#decodeArg<provisional_top_up_canister_args>(method, arg);
        this.#existing(args.canister_id).cycles += args.amount;
        return this.#reply(method);
      }
      default:
        throw new ReplicaReject(ErrorCode.CanisterMethodNotFound, `Management canister has no method '${method}'`);
    }
  }

  /** Query calls to the management canister (`canister_status` and `fetch_canister_logs`). */
  query(method: string, arg: Uint8Array, caller: Principal): Uint8Array {
    if (!QUERY_METHODS.has(method)) {
      throw new ReplicaReject(ErrorCode.CanisterMethodNotFound, `Management canister has no query method '${method}'`);
    }
    const canister = this.#controlled(this.#canisterArg(method, arg), caller);
    if (method === 'canister_status') return this.#reply(method, this.#canisterStatus(canister));
    return this.#reply(method, { canister_log_records: [] });
  }

  /** Completes stops that were held back by the refuse-to-stop fault once it is lifted. */
  settlePendingStops(): void {
    for (const [id, waiters] of this.#pendingStops) {
      const canister = this.env.findCanister(Principal.fromText(id));
      if (!canister || canister.status !== 'stopping' || this.env.faults.refusesToStop(canister.id)) continue;
      canister.setStatus('stopped');
      for (const waiter of waiters) waiter.resolve();
      this.#pendingStops.delete(id);
    }
  }

  // --- Candid -----------------------------------------------------------------------------------

  /**
   * Candid decoding checks the payload against the method's argument type. Uploads, decoded for
   * routing and ingress checks before they are handled, take a fast path (upload-args.ts).
   */
  #decodeArg<T>(method: string, arg: Uint8Array): T {
    if (method === 'upload_canister_snapshot_data') {
      const upload = decodeUploadDataArgs(arg);
      if (upload) return upload as T;
    }
    const func = managementMethods.get(method);
    if (!func) throw new ReplicaReject(ErrorCode.CanisterMethodNotFound, `Management canister has no method '${method}'`);
    try {
      return IDL.decode(func.argTypes, arg)[0] as T;
    } catch (error) {
      throw new ReplicaReject(ErrorCode.InvalidManagementPayload, `Error decoding candid: ${(error as Error).message}`);
    }
  }

  #reply(method: string, value?: unknown): Uint8Array {
    const func = managementMethods.get(method)!;
    return IDL.encode(func.retTypes, value === undefined ? [] : [value]);
  }

  #tryEffectiveCanister(method: string, arg: Uint8Array): Principal | undefined {
    try {
      return this.effectiveCanisterId(method, arg);
    } catch {
      return undefined;
    }
  }

  #canisterArg(method: string, arg: Uint8Array): Principal {
    return this.#decodeArg<{ canister_id: Principal }>(method, arg).canister_id;
  }

  // --- access -----------------------------------------------------------------------------------

  #existing(id: Principal): EmulatedCanister {
    const canister = this.env.findCanister(id);
    if (!canister) throw new ReplicaReject(ErrorCode.CanisterNotFound, `Canister ${id.toText()} not found.`);
    return canister;
  }

  /** `validate_controller`: checked again at execution, the ingress filter is not enough. */
  #controlled(id: Principal, caller: Principal): EmulatedCanister {
    const canister = this.#existing(id);
    if (!canister.isController(caller)) {
      throw new ReplicaReject(
        ErrorCode.CanisterInvalidController,
        `Only the controllers of the canister ${id.toText()} can control it.\n` +
          `Canister's controllers: ${canister.controllers.map((c) => c.toText()).join(' ')}\n` +
          `Sender's ID: ${caller.toText()}`,
      );
    }
    return canister;
  }

  // --- status, start, stop, delete, settings ----------------------------------------------------

  #canisterStatus(canister: EmulatedCanister): canister_status_result {
    const usage = canister.memoryUsage();
    const settings = canister.settings;
    return {
      status: { [canister.status]: null } as canister_status_result['status'],
      memory_size: usage.total,
      memory_metrics: {
        wasm_binary_size: usage.wasmBinary,
        wasm_chunk_store_size: usage.chunkStore,
        canister_history_size: 0n,
        stable_memory_size: usage.stableMemory,
        snapshots_size: usage.snapshots,
        wasm_memory_size: usage.wasmMemory,
        global_memory_size: usage.globals,
        custom_sections_size: 0n,
      },
      ready_for_migration: false,
      version: canister.version,
      cycles: canister.cycles,
      settings: {
        controllers: [...canister.controllers],
        freezing_threshold: settings.freezingThreshold,
        compute_allocation: settings.computeAllocation,
        memory_allocation: settings.memoryAllocation,
        reserved_cycles_limit: settings.reservedCyclesLimit,
        wasm_memory_limit: settings.wasmMemoryLimit,
        wasm_memory_threshold: settings.wasmMemoryThreshold,
        log_visibility: settings.logVisibility,
        environment_variables: settings.environmentVariables,
      },
      query_stats: {
        num_calls_total: 0n,
        num_instructions_total: 0n,
        request_payload_bytes_total: 0n,
        response_payload_bytes_total: 0n,
      },
      idle_cycles_burned_per_day: 0n,
      module_hash: canister.moduleHash ? [canister.moduleHash] : [],
      reserved_cycles: 0n,
    };
  }

  #startCanister(canister: EmulatedCanister): void {
    const key = canister.id.toText();
    const waiters = this.#pendingStops.get(key);
    this.#pendingStops.delete(key);
    canister.setStatus('running');
    for (const waiter of waiters ?? []) {
      waiter.reject(new ReplicaReject(ErrorCode.CanisterStoppingCancelled, `Canister ${key} has been restarted.`));
    }
  }

  /**
   * running → stopping → stopped; the call replies once the canister has stopped. With the
   * refuse-to-stop fault it stays `stopping` until the fault is lifted, `start_canister` cancels
   * it, or the stop times out (IC0206, SYS_TRANSIENT; the canister stays `stopping`).
   */
  async #stopCanister(canister: EmulatedCanister): Promise<void> {
    if (canister.status === 'stopped') return;
    canister.setStatus('stopping');
    if (!this.env.faults.refusesToStop(canister.id)) {
      canister.setStatus('stopped');
      return;
    }
    const key = canister.id.toText();
    await new Promise<void>((resolve, reject) => {
      const waiters = this.#pendingStops.get(key) ?? new Set<PendingStop>();
      this.#pendingStops.set(key, waiters);
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new ReplicaReject(ErrorCode.StopCanisterRequestTimeout, 'Stop canister request timed out'));
      }, this.env.stopTimeoutMs);
      const waiter: PendingStop = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (reason) => {
          clearTimeout(timer);
          reject(reason);
        },
      };
      waiters.add(waiter);
    });
  }

  #deleteCanister(canister: EmulatedCanister): void {
    if (canister.status !== 'stopped') {
      throw new ReplicaReject(ErrorCode.CanisterNotStopped, `Canister ${canister.id.toText()} must be stopped before it is deleted.`);
    }
    // Deleting a canister deletes its snapshots with it.
    this.env.deleteCanister(canister.id);
  }

  #updateSettings(args: update_settings_args, caller: Principal): void {
    const canister = this.#controlled(args.canister_id, caller);
    this.#applySettings(canister, args.settings);
    canister.bumpVersion();
  }

  #applySettings(canister: EmulatedCanister, settings: canister_settings): void {
    const controllers = settings.controllers[0];
    if (controllers && controllers.length > MAX_CONTROLLERS) {
      throw new ReplicaReject(
        ErrorCode.CanisterContractViolation,
        `Could not validate the settings: Invalid settings: At most ${MAX_CONTROLLERS} controllers can be specified.`,
      );
    }
    if (controllers) canister.setControllers(controllers);
    const s = canister.settings;
    if (settings.freezing_threshold[0] !== undefined) s.freezingThreshold = settings.freezing_threshold[0];
    if (settings.compute_allocation[0] !== undefined) s.computeAllocation = settings.compute_allocation[0];
    if (settings.memory_allocation[0] !== undefined) s.memoryAllocation = settings.memory_allocation[0];
    if (settings.reserved_cycles_limit[0] !== undefined) s.reservedCyclesLimit = settings.reserved_cycles_limit[0];
    if (settings.wasm_memory_limit[0] !== undefined) s.wasmMemoryLimit = settings.wasm_memory_limit[0];
    if (settings.wasm_memory_threshold[0] !== undefined) s.wasmMemoryThreshold = settings.wasm_memory_threshold[0];
    if (settings.log_visibility[0] !== undefined) s.logVisibility = settings.log_visibility[0];
    if (settings.environment_variables[0] !== undefined) s.environmentVariables = settings.environment_variables[0];
  }

  // --- code -------------------------------------------------------------------------------------

  #installCode(args: install_code_args, caller: Principal): void {
    const canister = this.#controlled(args.canister_id, caller);
    this.#install(canister, Uint8Array.from(args.wasm_module), args.mode);
  }

  #installChunkedCode(args: install_chunked_code_args, caller: Principal): void {
    const target = this.#controlled(args.target_canister, caller);
    const store = args.store_canister[0] ? this.#controlled(args.store_canister[0], caller) : target;
    const parts = args.chunk_hashes_list.map(({ hash }) => {
      const chunk = store.chunkStore.get(Buffer.from(hash).toString('hex'));
      if (!chunk) {
        throw new ReplicaReject(
          ErrorCode.CanisterContractViolation,
          `Error from Wasm chunk store: Chunk hash ${Buffer.from(hash).toString('hex')} was not found.`,
        );
      }
      return chunk;
    });
    const module = Buffer.concat(parts);
    const actualHash = createHash('sha256').update(module).digest();
    if (!actualHash.equals(Buffer.from(args.wasm_module_hash))) {
      throw new ReplicaReject(
        ErrorCode.CanisterContractViolation,
        `Error from Wasm chunk store: Wasm module hash ${actualHash.toString('hex')} ` +
          `does not match given hash ${Buffer.from(args.wasm_module_hash).toString('hex')}.`,
      );
    }
    this.#install(target, module, args.mode);
  }

  #install(canister: EmulatedCanister, module: Uint8Array, mode: install_code_args['mode']): void {
    const id = canister.id.toText();
    if ('install' in mode && canister.module !== null) {
      throw new ReplicaReject(
        ErrorCode.CanisterNonEmpty,
        `Canister ${id} cannot be installed because the canister is not empty. Try installing with mode='reinstall' instead.`,
      );
    }
    if ('upgrade' in mode && canister.module === null) {
      throw new ReplicaReject(
        ErrorCode.CanisterWasmModuleNotFound,
        `Error from Canister ${id}: Attempted to execute a message, but the canister contains no Wasm module.`,
      );
    }
    const persistence = 'upgrade' in mode ? mode.upgrade[0]?.wasm_memory_persistence[0] : undefined;
    const keepHeap = persistence !== undefined && 'keep' in persistence;
    try {
      canister.install(module, 'install' in mode ? 'install' : 'reinstall' in mode ? 'reinstall' : 'upgrade', keepHeap);
    } catch (error) {
      if (error instanceof InvalidWasmError) {
        throw new ReplicaReject(
          ErrorCode.CanisterInvalidWasm,
          `Error from Canister ${id}: Canister's Wasm module is not valid: ${error.message}`,
        );
      }
      throw error;
    }
    canister.bumpVersion();
  }

  #uploadChunk(args: upload_chunk_args, caller: Principal): { hash: Uint8Array } {
    const canister = this.#controlled(args.canister_id, caller);
    if (args.chunk.length > MAX_WASM_CHUNK_BYTES) {
      throw new ReplicaReject(
        ErrorCode.CanisterContractViolation,
        `Error from Wasm chunk store: Wasm chunk size ${args.chunk.length} exceeds the maximum chunk size of ${MAX_WASM_CHUNK_BYTES}.`,
      );
    }
    return { hash: canister.addChunk(Uint8Array.from(args.chunk)) };
  }

  #provisionalCreate(args: provisional_create_canister_with_cycles_args, caller: Principal): Principal {
    const specified = args.specified_id[0];
    if (specified) {
      if (!this.env.hostsCanister(specified)) {
        throw new ReplicaReject(
          ErrorCode.CanisterRejectedMessage,
          `Unsuccessful validation of specified ID: Specified CanisterId ${specified.toText()} is not hosted by this subnet.`,
        );
      }
      if (this.env.findCanister(specified)) {
        throw new ReplicaReject(
          ErrorCode.CanisterIdAlreadyExists,
          `Unsuccessful canister creation: canister id ${specified.toText()} already exists.`,
        );
      }
    }
    const settings = args.settings[0];
    const controllers = settings?.controllers[0] ?? [caller];
    const canister = this.env.createCanister({
      ...(specified ? { id: specified } : {}),
      controllers,
      cycles: args.amount[0] ?? DEFAULT_PROVISIONAL_CYCLES,
    });
    if (settings) this.#applySettings(canister, settings);
    return canister.id;
  }

  // --- snapshots ----------------------------------------------------------------------------------

  /** The snapshot must exist and belong to `canister` (the id names its owner). */
  #ownedSnapshot(canister: EmulatedCanister, snapshotId: Uint8Array | number[]): CanisterSnapshot {
    const id = Uint8Array.from(snapshotId);
    const found = canister.findSnapshot(id);
    if (found) return found;
    const owner = snapshotOwner(id);
    if (owner && owner.compareTo(canister.id) !== 'eq' && this.env.findCanister(owner)?.findSnapshot(id)) {
      throw new ReplicaReject(
        ErrorCode.CanisterRejectedMessage,
        `The snapshot ${formatSnapshotId(id)} does not belong to canister ${canister.id.toText()}.`,
      );
    }
    throw snapshotNotFound(canister.id, id);
  }

  /** `replace_snapshot` must name a snapshot of this canister; otherwise the limit applies. */
  #makeRoomForSnapshot(canister: EmulatedCanister, replace: [] | [Uint8Array | number[]]): CanisterSnapshot | undefined {
    if (replace[0] !== undefined) return this.#ownedSnapshot(canister, replace[0]);
    if (canister.snapshotCount >= MAX_SNAPSHOTS_PER_CANISTER) {
      throw new ReplicaReject(
        ErrorCode.CanisterRejectedMessage,
        `Canister ${canister.id.toText()} has reached the maximum number of snapshots allowed: ${MAX_SNAPSHOTS_PER_CANISTER}.`,
      );
    }
    return undefined;
  }

  /**
   * The replica does not require the canister to be stopped (interface-spec PR #259: "we will not
   * force the canister to be stopped"); dfx and icp-cli check that on the client side. Mirrored.
   */
  #takeSnapshot(args: take_canister_snapshot_args, caller: Principal): snapshot {
    const canister = this.#controlled(args.canister_id, caller);
    const replaced = this.#makeRoomForSnapshot(canister, args.replace_snapshot);
    if (canister.module === null) {
      throw new ReplicaReject(ErrorCode.CanisterRejectedMessage, `Failed to create snapshot for empty canister ${canister.id.toText()}:`);
    }
    if (replaced) canister.deleteSnapshot(replaced.id);
    return snapshotRecord(canister.captureSnapshot(this.env.nowNs()));
  }

  /** Loading a snapshot of another canister is allowed when the caller controls both. */
  #loadSnapshot(args: load_canister_snapshot_args, caller: Principal): void {
    const target = this.#controlled(args.canister_id, caller);
    const id = Uint8Array.from(args.snapshot_id);
    const owner = snapshotOwner(id);
    const ownerCanister = owner ? this.env.findCanister(owner) : undefined;
    const snapshot = ownerCanister?.findSnapshot(id);
    if (!ownerCanister || !snapshot) throw snapshotNotFound(target.id, id);
    if (ownerCanister !== target && !ownerCanister.isController(caller)) {
      throw new ReplicaReject(
        ErrorCode.CanisterRejectedMessage,
        `Only a controller of the canister that snapshot ${formatSnapshotId(id)} belongs to can load it ` +
          `on canister ${target.id.toText()}. Sender: ${caller.toText()}.`,
      );
    }
    let moduleGlobals: readonly WasmGlobal[];
    try {
      moduleGlobals = inspectWasmModule(snapshot.wasmModule).exportedGlobals;
    } catch (error) {
      if (!(error instanceof InvalidWasmError)) throw error;
      throw new ReplicaReject(
        ErrorCode.CanisterInvalidWasm,
        `Error from Canister ${target.id.toText()}: Canister's Wasm module is not valid: ${error.message}`,
      );
    }
    if (snapshot.source === 'metadata_upload' && !globalsMatch(moduleGlobals, snapshot.globals)) {
      throw new ReplicaReject(
        ErrorCode.InvalidManagementPayload,
        'Wasm exported globals of canister module and snapshot metadata do not match.',
      );
    }
    target.restoreSnapshot(snapshot);
    target.bumpVersion();
  }

  #readMetadata(args: read_canister_snapshot_metadata_args, caller: Principal): read_canister_snapshot_metadata_response {
    const canister = this.#controlled(args.canister_id, caller);
    const s = this.#ownedSnapshot(canister, args.snapshot_id);
    return {
      source: { [s.source]: null } as read_canister_snapshot_metadata_response['source'],
      taken_at_timestamp: s.takenAtNs,
      wasm_module_size: BigInt(s.wasmModule.length),
      globals: [...s.globals] as read_canister_snapshot_metadata_response['globals'],
      wasm_memory_size: BigInt(s.wasmMemory.length),
      stable_memory_size: BigInt(s.stableMemory.length),
      wasm_chunk_store: [...s.chunkStore.keys()].sort().map((hex) => ({ hash: Buffer.from(hex, 'hex') })),
      canister_version: s.canisterVersion,
      certified_data: s.certifiedData,
      global_timer: s.globalTimer ? [s.globalTimer] : [],
      on_low_wasm_memory_hook_status: s.lowMemoryHookStatus
        ? [{ [s.lowMemoryHookStatus]: null } as NonNullable<read_canister_snapshot_metadata_response['on_low_wasm_memory_hook_status'][0]>]
        : [],
    };
  }

  #readData(args: read_canister_snapshot_data_args, caller: Principal): Uint8Array {
    const canister = this.#controlled(args.canister_id, caller);
    const s = this.#ownedSnapshot(canister, args.snapshot_id);
    const kind = args.kind;
    if ('wasm_chunk' in kind) {
      const chunk = s.chunkStore.get(Buffer.from(kind.wasm_chunk.hash).toString('hex'));
      if (!chunk) {
        throw new ReplicaReject(
          ErrorCode.CanisterContractViolation,
          `Error from Wasm chunk store: Chunk with hash ${Buffer.from(kind.wasm_chunk.hash).toString('hex')} was not found.`,
        );
      }
      return chunk;
    }
    const [source, { offset, size }] =
      'wasm_module' in kind
        ? [s.wasmModule, kind.wasm_module]
        : 'wasm_memory' in kind
          ? [s.wasmMemory, kind.wasm_memory]
          : [s.stableMemory, kind.stable_memory];
    if (size > BigInt(MAX_SNAPSHOT_SLICE_BYTES)) {
      throw new ReplicaReject(ErrorCode.InvalidManagementPayload, `Requested slice too large: ${size} > ${MAX_SNAPSHOT_SLICE_BYTES}`);
    }
    if (offset + size > BigInt(source.length)) throw invalidSlice(offset, size);
    return source.subarray(Number(offset), Number(offset + size));
  }

  #uploadMetadata(args: upload_canister_snapshot_metadata_args, caller: Principal): Uint8Array {
    const canister = this.#controlled(args.canister_id, caller);
    const replaced = this.#makeRoomForSnapshot(canister, args.replace_snapshot);
    for (const [name, size] of [
      ['Wasm memory', args.wasm_memory_size],
      ['Stable memory', args.stable_memory_size],
    ] as const) {
      if (size % BigInt(WASM_PAGE_SIZE) !== 0n) {
        throw new ReplicaReject(
          ErrorCode.InvalidManagementPayload,
          `${name} size ${size} is not a multiple of the Wasm page size ${WASM_PAGE_SIZE}.`,
        );
      }
    }
    if (args.certified_data.length > 32) {
      throw new ReplicaReject(
        ErrorCode.InvalidManagementPayload,
        `Certified data must be at most 32 bytes, got ${args.certified_data.length}.`,
      );
    }
    if (replaced) canister.deleteSnapshot(replaced.id);
    // Upload allocates all-zero blobs of the declared sizes up front.
    const snapshot = canister.createUploadedSnapshot(this.env.nowNs(), {
      wasmModuleSize: Number(args.wasm_module_size),
      wasmMemorySize: Number(args.wasm_memory_size),
      stableMemorySize: Number(args.stable_memory_size),
      globals: args.globals as WasmGlobal[],
      certifiedData: Uint8Array.from(args.certified_data),
      globalTimer: args.global_timer[0],
      lowMemoryHookStatus: args.on_low_wasm_memory_hook_status[0]
        ? (Object.keys(args.on_low_wasm_memory_hook_status[0])[0] as 'condition_not_satisfied' | 'ready' | 'executed')
        : undefined,
    });
    return snapshot.id;
  }

  #uploadData(args: upload_canister_snapshot_data_args, caller: Principal): void {
    const canister = this.#controlled(args.canister_id, caller);
    const s = this.#ownedSnapshot(canister, args.snapshot_id);
    if (s.source !== 'metadata_upload') {
      throw new ReplicaReject(ErrorCode.CanisterSnapshotImmutable, 'Only canister snapshots created by metadata upload can be mutated.');
    }
    const chunk = Uint8Array.from(args.chunk);
    const kind = args.kind;
    if ('wasm_chunk' in kind) {
      if (chunk.length > MAX_WASM_CHUNK_BYTES) {
        throw new ReplicaReject(
          ErrorCode.CanisterContractViolation,
          `Error from Wasm chunk store: Wasm chunk size ${chunk.length} exceeds the maximum chunk size of ${MAX_WASM_CHUNK_BYTES}.`,
        );
      }
      s.chunkStore.set(createHash('sha256').update(chunk).digest('hex'), Buffer.from(chunk));
      return;
    }
    const [target, offset] =
      'wasm_module' in kind
        ? [s.wasmModule, kind.wasm_module.offset]
        : 'wasm_memory' in kind
          ? [s.wasmMemory, kind.wasm_memory.offset]
          : [s.stableMemory, kind.stable_memory.offset];
    const size = BigInt(chunk.length);
    if (offset + size > BigInt(target.length)) throw invalidSlice(offset, size);
    target.set(chunk, Number(offset));
  }
}

function snapshotRecord(s: CanisterSnapshot): snapshot {
  return { id: s.id, taken_at_timestamp: s.takenAtNs, total_size: s.totalSize };
}

/** The canister a snapshot id names: the bytes after the 8-byte counter. */
function snapshotOwner(id: Uint8Array): Principal | undefined {
  if (id.length <= 8 || id.length > 8 + 29) return undefined;
  return Principal.fromUint8Array(id.subarray(8));
}

function formatSnapshotId(id: Uint8Array): string {
  return Buffer.from(id).toString('hex');
}

function snapshotNotFound(canisterId: Principal, snapshotId: Uint8Array): ReplicaReject {
  return new ReplicaReject(
    ErrorCode.CanisterSnapshotNotFound,
    `Could not find the snapshot ID ${formatSnapshotId(snapshotId)} for canister ${canisterId.toText()}.`,
  );
}

function invalidSlice(offset: bigint, size: bigint): ReplicaReject {
  return new ReplicaReject(
    ErrorCode.InvalidManagementPayload,
    `Invalid subslice into wasm module / main memory / stable memory: offset: ${offset}, size: ${size}`,
  );
}
