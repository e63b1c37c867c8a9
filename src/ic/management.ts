// The management-canister calls agentvault makes, over an unmodified HttpAgent, with retries for
// transient failures and errors a user can act on. Reads and idempotent writes are retried here;
// calls that create something (take, upload metadata) rely only on the agent's own retries,
// which resend the same request id, so a retry never makes a second snapshot.
import { Cbor, Certificate, HttpAgent, lookupResultToBuffer, type Identity } from '@dfinity/agent';
import { IDL } from '@dfinity/candid';
import { ICManagementCanister, type ReadCanisterSnapshotMetadataResponse } from '@dfinity/ic-management';
import { Principal } from '@dfinity/principal';
import pRetry from 'p-retry';
import { AgentvaultError } from '../errors.js';
import { decodeBlobField } from './blob-reply.js';
import { encodeWithBlob } from './blob-arg.js';
import { memoizedBlsVerify } from './bls-memo.js';
import { wasmBlsVerify } from './bls-wasm.js';
import { withNodeRequestIds } from './signing-identity.js';
import { describeIcError, isTransient } from './errors.js';
import { managementUpdate } from './update-call.js';
import { DEFAULT_STOP_TIMEOUT_MS, MAX_SNAPSHOTS, SLICE_BYTES } from './constants.js';

export { DEFAULT_STOP_TIMEOUT_MS, MAX_SNAPSHOTS, SLICE_BYTES };
import type { Network } from './network.js';

export type SnapshotMetadata = ReadCanisterSnapshotMetadataResponse;
export type MemoryRegion = 'wasmModule' | 'wasmMemory' | 'stableMemory';

const REGION_VARIANT: Record<MemoryRegion, string> = { wasmModule: 'wasm_module', wasmMemory: 'wasm_memory', stableMemory: 'stable_memory' };

/** upload_canister_snapshot_data's argument, as the IC interface spec gives it. */
const UPLOAD_SNAPSHOT_DATA_ARGS = IDL.Record({
  canister_id: IDL.Principal,
  snapshot_id: IDL.Vec(IDL.Nat8),
  kind: IDL.Variant({ wasm_module: IDL.Record({ offset: IDL.Nat64 }), wasm_memory: IDL.Record({ offset: IDL.Nat64 }), stable_memory: IDL.Record({ offset: IDL.Nat64 }), wasm_chunk: IDL.Null }),
  chunk: IDL.Vec(IDL.Nat8),
});

/** read_canister_snapshot_data's argument, as the IC interface spec gives it. */
const SNAPSHOT_RANGE = IDL.Record({ offset: IDL.Nat64, size: IDL.Nat64 });
const READ_SNAPSHOT_DATA_ARGS = IDL.Record({
  canister_id: IDL.Principal,
  snapshot_id: IDL.Vec(IDL.Nat8),
  kind: IDL.Variant({ wasm_module: SNAPSHOT_RANGE, wasm_memory: SNAPSHOT_RANGE, stable_memory: SNAPSHOT_RANGE, wasm_chunk: IDL.Record({ hash: IDL.Vec(IDL.Nat8) }) }),
});

/** Largest slice the IC returns or accepts per call. */
/** Largest module one install_code call carries: the 2 MiB ingress limit less the envelope. */
export const MAX_INSTALL_CODE_BYTES = 2 * 1024 * 1024 - 64 * 1024;

export interface CanisterStatusInfo {
  readonly status: 'running' | 'stopping' | 'stopped';
  readonly moduleHash: string | null;
  readonly cycles: bigint;
  readonly controllers: string[];
  readonly memorySize: bigint;
  readonly idleCyclesBurnedPerDay: bigint;
  readonly settings: {
    readonly computeAllocation: bigint;
    readonly memoryAllocation: bigint;
    readonly freezingThreshold: bigint;
    readonly reservedCyclesLimit: bigint;
    readonly wasmMemoryLimit: bigint;
  };
}

export interface SnapshotInfo {
  readonly id: Uint8Array;
  readonly idHex: string;
  readonly takenAt: bigint;
  readonly totalSize: bigint;
}

export interface ManagementOptions {
  readonly network: Network;
  readonly identity: Identity;
  /** Attempts for retryable calls (default 5). */
  readonly retries?: number;
  /** First retry delay in ms (default 300), doubling. */
  readonly retryDelayMs?: number;
  /** How long stop() waits for the canister to stop (default DEFAULT_STOP_TIMEOUT_MS). */
  readonly stopTimeoutMs?: number;
}

export class CanisterManagement {
  /**
   * BLS checks for snapshot reads and uploads: the pairing in WebAssembly (bls-wasm.ts), and the
   * subnet's NNS delegation verified once, not per slice (bls-memo.ts).
   */
  readonly bls = memoizedBlsVerify(wasmBlsVerify);

  private constructor(
    readonly ic: ICManagementCanister,
    readonly agent: HttpAgent,
    readonly network: Network,
    readonly principal: string,
    readonly options: ManagementOptions,
  ) {}

  static async connect(options: ManagementOptions): Promise<CanisterManagement> {
    const { network, identity } = options;
    let agent: HttpAgent;
    try {
      agent = await HttpAgent.create({ host: network.url, identity: withNodeRequestIds(identity), shouldFetchRootKey: network.fetchRootKey });
    } catch (err) {
      throw describeIcError(err, { method: 'connect', url: network.url });
    }
    return new CanisterManagement(ICManagementCanister.create({ agent }), agent, network, identity.getPrincipal().toText(), options);
  }

  async #call<T>(method: string, canisterId: string, fn: () => Promise<T>, retry: boolean, signal?: AbortSignal): Promise<T> {
    const context = { method, canisterId, principal: this.principal, url: this.network.url };
    try {
      if (!retry) return await fn();
      return await pRetry(fn, {
        retries: this.options.retries ?? 5,
        minTimeout: this.options.retryDelayMs ?? 300,
        factor: 2,
        shouldRetry: (err) => isTransient(err),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      throw describeIcError(err, context);
    }
  }

  static principal(id: string): Principal {
    try {
      return Principal.fromText(id);
    } catch {
      throw new AgentvaultError('USAGE', `${JSON.stringify(id)} is not a canister id`);
    }
  }

  async status(canisterId: string): Promise<CanisterStatusInfo> {
    const s = await this.#call('canister_status', canisterId, () => this.ic.canisterStatus(CanisterManagement.principal(canisterId)), true);
    return {
      status: 'running' in s.status ? 'running' : 'stopping' in s.status ? 'stopping' : 'stopped',
      moduleHash: s.module_hash.length > 0 ? Buffer.from(s.module_hash[0]!).toString('hex') : null,
      cycles: s.cycles,
      controllers: s.settings.controllers.map((c) => c.toText()),
      memorySize: s.memory_size,
      idleCyclesBurnedPerDay: s.idle_cycles_burned_per_day,
      settings: {
        computeAllocation: s.settings.compute_allocation,
        memoryAllocation: s.settings.memory_allocation,
        freezingThreshold: s.settings.freezing_threshold,
        reservedCyclesLimit: s.settings.reserved_cycles_limit,
        wasmMemoryLimit: s.settings.wasm_memory_limit,
      },
    };
  }

  /**
   * Stops the canister, waiting at most stopTimeoutMs. A canister stops only once its open calls
   * finish, and the IC lets a stop hang for minutes before rejecting it (IC0206), after which the
   * canister stays `stopping`: callers start it again on failure.
   */
  async stop(canisterId: string): Promise<void> {
    const ms = this.options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    // Aborting ends the retries too, so no new stop is sent after the caller restarted the canister.
    const abort = new AbortController();
    const call = this.#call('stop_canister', canisterId, () => this.ic.stopCanister(CanisterManagement.principal(canisterId)), true, abort.signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(new AgentvaultError('STOP_TIMEOUT', `canister ${canisterId} did not stop within ${formatSeconds(ms)} (a canister stops only once its open calls finish); try again later or raise --stop-timeout`));
      }, ms);
    });
    call.catch(() => undefined); // after a timeout nobody awaits it
    try {
      await Promise.race([call, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  start(canisterId: string): Promise<void> {
    return this.#call('start_canister', canisterId, () => this.ic.startCanister(CanisterManagement.principal(canisterId)), true);
  }

  async listSnapshots(canisterId: string): Promise<SnapshotInfo[]> {
    const list = await this.#call('list_canister_snapshots', canisterId, () => this.ic.listCanisterSnapshots({ canisterId: CanisterManagement.principal(canisterId) }), true);
    return list.map((s) => ({ id: Uint8Array.from(s.id), idHex: Buffer.from(s.id).toString('hex'), takenAt: s.taken_at_timestamp, totalSize: s.total_size }));
  }

  /** Takes a snapshot; at the 10-snapshot limit, replaces the oldest. */
  async takeSnapshot(canisterId: string): Promise<SnapshotInfo & { replaced?: string }> {
    const existing = await this.listSnapshots(canisterId);
    // Snapshots taken in the same instant are told apart by id, so the choice is deterministic.
    const oldest = existing.length >= MAX_SNAPSHOTS ? [...existing].sort((a, b) => (a.takenAt !== b.takenAt ? (a.takenAt < b.takenAt ? -1 : 1) : a.idHex.localeCompare(b.idHex)))[0] : undefined;
    const s = await this.#call(
      'take_canister_snapshot',
      canisterId,
      () => this.ic.takeCanisterSnapshot({ canisterId: CanisterManagement.principal(canisterId), ...(oldest ? { snapshotId: oldest.id } : {}) }),
      false,
    );
    return { id: Uint8Array.from(s.id), idHex: Buffer.from(s.id).toString('hex'), takenAt: s.taken_at_timestamp, totalSize: s.total_size, ...(oldest ? { replaced: oldest.idHex } : {}) };
  }

  deleteSnapshot(canisterId: string, snapshotId: Uint8Array): Promise<void> {
    return this.#call('delete_canister_snapshot', canisterId, () => this.ic.deleteCanisterSnapshot({ canisterId: CanisterManagement.principal(canisterId), snapshotId }), true);
  }

  loadSnapshot(canisterId: string, snapshotId: Uint8Array): Promise<void> {
    return this.#call('load_canister_snapshot', canisterId, () => this.ic.loadCanisterSnapshot({ canisterId: CanisterManagement.principal(canisterId), snapshotId }), false);
  }

  readMetadata(canisterId: string, snapshotId: Uint8Array): Promise<SnapshotMetadata> {
    return this.#call('read_canister_snapshot_metadata', canisterId, () => this.ic.readCanisterSnapshotMetadata({ canisterId: CanisterManagement.principal(canisterId), snapshotId }), true);
  }

  async readSlice(canisterId: string, snapshotId: Uint8Array, region: MemoryRegion, offset: number, size: number): Promise<Buffer> {
    const kind = { [REGION_VARIANT[region]]: { offset: BigInt(offset), size: BigInt(size) } };
    const chunk = await this.#readSnapshotData(canisterId, snapshotId, kind);
    if (chunk.length !== size) throw new AgentvaultError('REJECTED', `read_canister_snapshot_data returned ${chunk.length} bytes for a ${size}-byte slice of ${region}`);
    return chunk;
  }

  readWasmChunk(canisterId: string, snapshotId: Uint8Array, hash: Uint8Array): Promise<Buffer> {
    return this.#readSnapshotData(canisterId, snapshotId, { wasm_chunk: { hash } });
  }

  /**
   * read_canister_snapshot_data through managementUpdate (update-call.ts) rather than the
   * ic-management actor: the same verified call, with the reply decoded without @dfinity/candid's
   * copies (blob-reply.ts). The chunk is a view into the verified reply, not a copy: the backup
   * pipeline copies every slice into its shared segments anyway.
   */
  async #readSnapshotData(canisterId: string, snapshotId: Uint8Array, kind: Record<string, unknown>): Promise<Buffer> {
    const target = CanisterManagement.principal(canisterId);
    const arg = IDL.encode([READ_SNAPSHOT_DATA_ARGS], [{ canister_id: target, snapshot_id: snapshotId, kind }]);
    return this.#call('read_canister_snapshot_data', canisterId, async () => {
      const chunk = decodeBlobField(await managementUpdate(this.agent, target, 'read_canister_snapshot_data', arg, this.bls.verify), 'chunk');
      return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }, true);
  }

  async uploadMetadata(canisterId: string, metadata: SnapshotMetadata, replace?: Uint8Array): Promise<Uint8Array> {
    const r = await this.#call(
      'upload_canister_snapshot_metadata',
      canisterId,
      () => this.ic.uploadCanisterSnapshotMetadata({ canisterId: CanisterManagement.principal(canisterId), metadata, ...(replace ? { snapshotId: replace } : {}) }),
      false,
    );
    return Uint8Array.from(r.snapshot_id);
  }

  /**
   * upload_canister_snapshot_data through managementUpdate, like reads: the delegation's BLS
   * signature is checked once per run rather than per slice (bls-memo.ts). The argument is
   * encoded with the chunk copied once (blob-arg.ts).
   */
  async uploadSlice(canisterId: string, snapshotId: Uint8Array, region: MemoryRegion | 'wasmChunk', offset: number, bytes: Uint8Array): Promise<void> {
    const target = CanisterManagement.principal(canisterId);
    const kind = region === 'wasmChunk' ? { wasm_chunk: null } : { [REGION_VARIANT[region]]: { offset: BigInt(offset) } };
    const arg = encodeWithBlob(UPLOAD_SNAPSHOT_DATA_ARGS, { canister_id: target, snapshot_id: snapshotId, kind, chunk: bytes }, 'chunk');
    // Writing the same bytes at the same offset twice is harmless, so uploads are retried.
    await this.#call(
      'upload_canister_snapshot_data',
      canisterId,
      async () => IDL.decode([], await managementUpdate(this.agent, target, 'upload_canister_snapshot_data', arg, this.bls.verify)),
      true,
    );
  }

  installCode(canisterId: string, wasm: Uint8Array, mode: 'install' | 'reinstall' | 'upgrade', arg: Uint8Array = new Uint8Array()): Promise<void> {
    const modeVariant = mode === 'install' ? { install: null } : mode === 'reinstall' ? { reinstall: null } : { upgrade: [] as [] };
    return this.#call('install_code', canisterId, () => this.ic.installCode({ canisterId: CanisterManagement.principal(canisterId), wasmModule: wasm, arg, mode: modeVariant as never }), false);
  }

  /** The controllers from the certified state tree: public, so no controller identity is needed. */
  async controllers(canisterId: string): Promise<string[]> {
    const principal = CanisterManagement.principal(canisterId);
    const path = [Buffer.from('canister'), principal.toUint8Array(), Buffer.from('controllers')];
    // Read directly rather than through CanisterStatus.request, which logs to the console when
    // the path is absent (an unknown canister).
    const data = await this.#call(
      'read_state',
      canisterId,
      async () => {
        const { certificate } = await this.agent.readState(principal, { paths: [path] });
        const cert = await Certificate.create({ certificate, rootKey: this.agent.rootKey!, canisterId: principal, agent: this.agent });
        return lookupResultToBuffer(cert.lookup_path(path));
      },
      true,
    );
    if (data === undefined) throw new AgentvaultError('CANISTER_NOT_FOUND', `canister ${canisterId} was not found on ${this.network.url}`);
    return Cbor.decode<Uint8Array[]>(data).map((bytes) => Principal.fromUint8Array(Uint8Array.from(bytes)).toText());
  }

  setControllers(canisterId: string, controllers: readonly string[]): Promise<void> {
    return this.#call(
      'update_settings',
      canisterId,
      () => this.ic.updateSettings({ canisterId: CanisterManagement.principal(canisterId), settings: { controllers: controllers.map((c) => CanisterManagement.principal(c).toText()) } }),
      true,
    );
  }
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
