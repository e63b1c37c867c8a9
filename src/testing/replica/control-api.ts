// The control API: JSON over HTTP under `/_/`, so that tests and the demo can drive an emulator
// running in another process. Not part of the IC interface. Big integers travel as strings.
import { Principal } from '@dfinity/principal';
import type { CanisterStatusKind, EmulatedCanister, MemoryRegion } from './canister.js';
import type { MemoryContent } from './content.js';
import type { FaultConfig } from './faults.js';
import type { Replica } from './replica.js';
import type { WasmGlobal } from './wasm-module.js';

/** A global in JSON: `{ "i32": 5 }`, `{ "i64": "-7" }`, `{ "v128": "340282366920938463463374607431768211455" }`. */
export type JsonGlobal = { i32: number } | { i64: string } | { f32: number } | { f64: number } | { v128: string };

/** `POST /_/canisters` */
export interface CreateCanisterRequest {
  readonly id?: string;
  readonly controllers?: readonly string[];
  readonly cycles?: string | number;
  /** Heap size in bytes (multiple of 65536); default 1 MiB. */
  readonly heapBytes?: number;
  /** Stable memory size in bytes (multiple of 65536); default 0. */
  readonly stableBytes?: number;
  /** Content of heap and stable memory; default `canister-like`. */
  readonly content?: MemoryContent;
  readonly seed?: string | number;
  /** Size of the generated Wasm module; default 32 KiB. */
  readonly moduleBytes?: number;
  readonly globals?: readonly JsonGlobal[];
  readonly status?: CanisterStatusKind;
  /** Create without code (like `create_canister`). */
  readonly empty?: boolean;
}

/** `POST /_/canisters/<id>/write-random-pages` */
export interface WriteRandomPagesRequest {
  readonly region: MemoryRegion;
  readonly count: number;
  readonly pageSize?: number;
  readonly seed?: string | number;
}

/** `POST /_/canisters/<id>/set` */
export interface SetCanisterRequest {
  readonly cycles?: string | number;
  readonly status?: CanisterStatusKind;
  readonly controllers?: readonly string[];
}

/** `POST /_/canisters/<id>/digest` */
export interface DigestRequest {
  readonly region: MemoryRegion | 'module';
}

export interface DigestResponse {
  readonly region: MemoryRegion | 'module';
  readonly size: number;
  readonly sha256: string;
}

export interface CanisterInfoResponse {
  readonly canisterId: string;
  readonly status: CanisterStatusKind;
  readonly cycles: string;
  readonly controllers: string[];
  readonly version: string;
  readonly moduleHash: string | null;
  readonly moduleBytes: number;
  readonly heapBytes: number;
  readonly stableBytes: number;
  readonly globals: JsonGlobal[];
  readonly snapshots: Array<{ id: string; source: string; takenAtNs: string }>;
}

export interface ControlReply {
  readonly status: number;
  readonly json: unknown;
}

class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Routes one control request. Read-only routes also answer GET. */
export function handleControlRequest(replica: Replica, method: string, pathname: string, body: unknown): ControlReply {
  try {
    return { status: 200, json: route(replica, method, pathname, body ?? {}) };
  } catch (error) {
    const status = error instanceof ControlError ? error.status : 400;
    return { status, json: { error: (error as Error).message } };
  }
}

function route(replica: Replica, method: string, pathname: string, body: unknown): unknown {
  const parts = pathname.split('/').filter(Boolean).slice(1); // drop the leading "_"
  const isPost = method === 'POST';
  const [resource, id, action] = parts;

  if (resource === 'faults' && id === undefined) {
    if (isPost) replica.faults.configure(body as FaultConfig);
    return replica.faults.describe();
  }
  if (resource === 'faults' && id === 'clear' && isPost) {
    replica.faults.clear();
    return replica.faults.describe();
  }
  if (resource === 'requests' && id === undefined) return replica.requestCounts();
  if (resource === 'methods' && id === undefined) return replica.methodCounts();
  if (resource === 'canisters' && id === undefined) {
    if (isPost) return { canisterId: createCanister(replica, body as CreateCanisterRequest).id.toText() };
    return replica.canisterIds().map((c) => c.toText());
  }
  if (resource === 'canisters' && id !== undefined) {
    const canister = replica.findCanister(parsePrincipal(id));
    if (!canister) throw new ControlError(404, `no canister ${id}`);
    switch (action) {
      case 'info':
      case undefined:
        return canisterInfo(canister);
      case 'write-random-pages': {
        requirePost(isPost, action);
        const request = body as WriteRandomPagesRequest;
        return { offsets: canister.writeRandomPages(memoryRegion(request.region), request.count, request.pageSize, request.seed) };
      }
      case 'set': {
        requirePost(isPost, action);
        const request = body as SetCanisterRequest;
        if (request.cycles !== undefined) canister.cycles = BigInt(request.cycles);
        if (request.status !== undefined) canister.setStatus(request.status);
        if (request.controllers !== undefined) canister.setControllers(request.controllers);
        replica.management.settlePendingStops();
        return canisterInfo(canister);
      }
      case 'digest': {
        const region = (body as Partial<DigestRequest>).region ?? 'heap';
        if (region !== 'module') memoryRegion(region);
        const size = region === 'module' ? (canister.module?.length ?? 0) : canister.memory(region).length;
        return { region, size, sha256: canister.sha256(region) } satisfies DigestResponse;
      }
      default:
        break;
    }
  }
  throw new ControlError(404, `unknown control route ${method} ${pathname}`);
}

function createCanister(replica: Replica, request: CreateCanisterRequest): EmulatedCanister {
  const content = request.content ?? 'canister-like';
  return replica.createCanister({
    ...(request.id !== undefined ? { id: parsePrincipal(request.id) } : {}),
    controllers: (request.controllers ?? []).map(parsePrincipal),
    ...(request.cycles !== undefined ? { cycles: BigInt(request.cycles) } : {}),
    ...(request.empty ? { module: null } : {}),
    ...(request.moduleBytes !== undefined ? { moduleBytes: request.moduleBytes } : {}),
    ...(request.globals !== undefined ? { globals: request.globals.map(globalFromJson) } : {}),
    heap: { bytes: request.heapBytes ?? 1024 * 1024, content, seed: `${request.seed ?? 'heap'}:heap` },
    stable: { bytes: request.stableBytes ?? 0, content, seed: `${request.seed ?? 'stable'}:stable` },
    ...(request.status !== undefined ? { status: request.status } : {}),
  });
}

function canisterInfo(canister: EmulatedCanister): CanisterInfoResponse {
  return {
    canisterId: canister.id.toText(),
    status: canister.status,
    cycles: canister.cycles.toString(),
    controllers: canister.controllers.map((c) => c.toText()),
    version: canister.version.toString(),
    moduleHash: canister.moduleHash?.toString('hex') ?? null,
    moduleBytes: canister.module?.length ?? 0,
    heapBytes: canister.heap.length,
    stableBytes: canister.stableMemory.length,
    globals: canister.globals.map(globalToJson),
    snapshots: canister.snapshotSummaries().map((s) => ({ id: s.id, source: s.source, takenAtNs: s.takenAtNs.toString() })),
  };
}

export function globalFromJson(global: JsonGlobal): WasmGlobal {
  if ('i64' in global) return { i64: BigInt(global.i64) };
  if ('v128' in global) return { v128: BigInt(global.v128) };
  return global;
}

export function globalToJson(global: WasmGlobal): JsonGlobal {
  if ('i64' in global) return { i64: global.i64.toString() };
  if ('v128' in global) return { v128: global.v128.toString() };
  return global;
}

function parsePrincipal(text: string): Principal {
  try {
    return Principal.fromText(text);
  } catch {
    throw new ControlError(400, `invalid principal ${JSON.stringify(text)}`);
  }
}

function memoryRegion(region: unknown): MemoryRegion {
  if (region !== 'heap' && region !== 'stable') throw new ControlError(400, `region must be "heap" or "stable"`);
  return region;
}

function requirePost(isPost: boolean, action: string): void {
  if (!isPost) throw new ControlError(405, `${action} needs POST`);
}
