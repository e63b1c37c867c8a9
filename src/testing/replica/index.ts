// Public API of the local IC replica emulator. Connect an unmodified agent with
//   HttpAgent.create({ host: replica.url, identity, shouldFetchRootKey: true })
// and `ICManagementCanister.create({ agent })`.
import type { Principal } from '@dfinity/principal';
import type { EmulatedCanister } from './canister.js';
import type { ReplicaFaults } from './faults.js';
import { Replica, type CreateCanisterOptions, type ReplicaOptions, type RequestKind } from './replica.js';
import { serveReplica } from './server.js';

export interface StartReplicaOptions extends ReplicaOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
}

export interface RunningReplica {
  /** Base URL for `HttpAgent.create({ host })`, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** The DER root key `/api/v2/status` serves (what `shouldFetchRootKey` fetches). */
  readonly rootKey: Uint8Array;
  readonly subnetId: Principal;
  readonly faults: ReplicaFaults;
  /** The emulator model itself, for what the shortcuts below do not cover. */
  readonly replica: Replica;
  /** Creates a canister directly in the emulator (no call, no cycles charged). */
  createCanister(init?: CreateCanisterOptions): Principal;
  canister(id: Principal | string): EmulatedCanister;
  requestCounts(): Record<RequestKind, number>;
  /** Calls and queries by method name, resends included (see `Replica.methodCounts`). */
  methodCounts(): Record<string, number>;
  stop(): Promise<void>;
}

export async function startReplica(options: StartReplicaOptions = {}): Promise<RunningReplica> {
  const replica = new Replica(options);
  const server = await serveReplica(replica, {
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
  });
  return {
    url: server.url,
    rootKey: replica.subnet.rootKeyDer,
    subnetId: replica.subnet.subnetId,
    faults: replica.faults,
    replica,
    createCanister: (init) => replica.createCanister(init).id,
    canister: (id) => replica.canister(id),
    requestCounts: () => replica.requestCounts(),
    methodCounts: () => replica.methodCounts(),
    stop: () => server.close(),
  };
}

export { Replica, DEFAULT_CANISTER_CYCLES, DEFAULT_TEST_GLOBALS, MAX_INGRESS_BYTES } from './replica.js';
export type { CreateCanisterOptions, HttpReply, ReplicaOptions, RequestKind } from './replica.js';
export { serveReplica, type ReplicaServer } from './server.js';
export {
  CanisterSnapshot,
  EmulatedCanister,
  MAX_WASM_CHUNK_BYTES,
  type CanisterSettingsState,
  type CanisterStatusKind,
  type GlobalTimer,
  type LowMemoryHookStatus,
  type MemoryInit,
  type MemoryRegion,
  type SnapshotSource,
  type SnapshotSummary,
} from './canister.js';
export { ReplicaFaults, type FaultConfig, type TransientFailure, type TransientFailureKind } from './faults.js';
export { ErrorCode, RejectCode, ReplicaReject } from './errors.js';
export { MAX_SNAPSHOT_SLICE_BYTES, MAX_SNAPSHOTS_PER_CANISTER } from './management.js';
export { SeededRandom, WASM_PAGE_SIZE, fillMemory, type MemoryContent } from './content.js';
export { buildWasmModule, globalsMatch, inspectWasmModule, type WasmGlobal, type WasmGlobalType } from './wasm-module.js';
export { ed25519IdentityFromPem, ed25519SecretKeyFromPem, ed25519SecretKeyToPem, generateEd25519Pem } from '../../ic/pem.js';
export { ReplicaControlClient } from './control-client.js';
export type {
  CanisterInfoResponse,
  CreateCanisterRequest,
  DigestResponse,
  JsonGlobal,
  SetCanisterRequest,
  WriteRandomPagesRequest,
} from './control-api.js';
