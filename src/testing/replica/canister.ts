// The in-memory canister model: everything the management canister's snapshot and status methods
// read or change, plus direct access for tests (memory, cycles, controllers, module, status).
// Memory lives in Buffers written in place; taking a snapshot copies heap and stable memory once.
import { createHash } from 'node:crypto';
import { Principal } from '@dfinity/principal';
import { fillMemory, sampleDistinct, SeededRandom, WASM_PAGE_SIZE, type MemoryContent } from './content.js';
import { inspectWasmModule, InvalidWasmError, type WasmGlobal } from './wasm-module.js';

export type CanisterStatusKind = 'running' | 'stopping' | 'stopped';
export type MemoryRegion = 'heap' | 'stable';
export type GlobalTimer = { active: bigint } | { inactive: null };
export type LowMemoryHookStatus = 'condition_not_satisfied' | 'ready' | 'executed';
export type SnapshotSource = 'taken_from_canister' | 'metadata_upload';
export type LogVisibility = { controllers: null } | { public: null } | { allowed_viewers: Principal[] };

/** The settings `update_settings` writes and `canister_status` reports. */
export interface CanisterSettingsState {
  freezingThreshold: bigint;
  computeAllocation: bigint;
  memoryAllocation: bigint;
  reservedCyclesLimit: bigint;
  wasmMemoryLimit: bigint;
  wasmMemoryThreshold: bigint;
  logVisibility: LogVisibility;
  environmentVariables: Array<{ name: string; value: string }>;
}

/** Defaults of a canister created on an application subnet. */
export function defaultSettings(): CanisterSettingsState {
  return {
    freezingThreshold: 2_592_000n,
    computeAllocation: 0n,
    memoryAllocation: 0n,
    reservedCyclesLimit: 5_000_000_000_000n,
    wasmMemoryLimit: 3n * 1024n * 1024n * 1024n,
    wasmMemoryThreshold: 0n,
    logVisibility: { controllers: null },
    environmentVariables: [],
  };
}

/** Wasm chunk store entries are addressed by SHA-256 and hold at most 1 MiB each. */
export const MAX_WASM_CHUNK_BYTES = 1024 * 1024;

/** What a snapshot holds. Cycles, controllers, settings, logs and history are not part of it. */
export class CanisterSnapshot {
  constructor(
    readonly id: Uint8Array,
    readonly canisterId: Principal,
    readonly source: SnapshotSource,
    readonly takenAtNs: bigint,
    readonly canisterVersion: bigint,
    readonly wasmModule: Buffer,
    readonly wasmMemory: Buffer,
    readonly stableMemory: Buffer,
    readonly chunkStore: Map<string, Buffer>,
    readonly globals: readonly WasmGlobal[],
    readonly certifiedData: Buffer,
    readonly globalTimer: GlobalTimer | undefined,
    readonly lowMemoryHookStatus: LowMemoryHookStatus | undefined,
  ) {}

  get idHex(): string {
    return Buffer.from(this.id).toString('hex');
  }

  get totalSize(): bigint {
    let chunks = 0;
    for (const chunk of this.chunkStore.values()) chunks += chunk.length;
    return BigInt(this.wasmModule.length + this.wasmMemory.length + this.stableMemory.length + chunks + this.certifiedData.length);
  }
}

/** A read-only summary of a snapshot for tests. */
export interface SnapshotSummary {
  readonly id: string;
  readonly source: SnapshotSource;
  readonly takenAtNs: bigint;
  readonly wasmModuleSize: number;
  readonly wasmMemorySize: number;
  readonly stableMemorySize: number;
  readonly chunkCount: number;
}

/** Bytes by kind, as `canister_status` reports them in `memory_metrics`. */
export interface MemoryUsage {
  readonly wasmBinary: bigint;
  readonly wasmMemory: bigint;
  readonly stableMemory: bigint;
  readonly globals: bigint;
  readonly chunkStore: bigint;
  readonly snapshots: bigint;
  readonly total: bigint;
}

export interface MemoryInit {
  /** Size in bytes; must be a multiple of 65536. */
  readonly bytes: number;
  readonly content?: MemoryContent;
  readonly seed?: string | number;
}

export class EmulatedCanister {
  readonly id: Principal;
  #status: CanisterStatusKind = 'running';
  #cycles: bigint;
  #controllers: Principal[];
  #module: Buffer | null = null;
  #moduleHash: Buffer | null = null;
  #heap: Buffer = Buffer.alloc(0);
  #stable: Buffer = Buffer.alloc(0);
  #globals: WasmGlobal[] = [];
  #certifiedData: Buffer = Buffer.alloc(0);
  #chunkStore = new Map<string, Buffer>();
  #version = 0n;
  #nextSnapshotIndex = 0n;
  readonly #snapshots = new Map<string, CanisterSnapshot>();
  globalTimer: GlobalTimer = { inactive: null };
  lowMemoryHookStatus: LowMemoryHookStatus = 'condition_not_satisfied';
  readonly settings: CanisterSettingsState = defaultSettings();

  constructor(id: Principal, controllers: readonly Principal[], cycles: bigint) {
    this.id = id;
    this.#controllers = [...controllers];
    this.#cycles = cycles;
  }

  // --- status, cycles, controllers -------------------------------------------------------------

  get status(): CanisterStatusKind {
    return this.#status;
  }

  /** Sets the status directly (tests); the management canister goes through stop/start rules. */
  setStatus(status: CanisterStatusKind): void {
    this.#status = status;
  }

  get cycles(): bigint {
    return this.#cycles;
  }

  set cycles(value: bigint) {
    if (value < 0n) throw new RangeError('cycles cannot be negative');
    this.#cycles = value;
  }

  get controllers(): readonly Principal[] {
    return this.#controllers;
  }

  setControllers(controllers: ReadonlyArray<Principal | string>): void {
    if (controllers.length > 10) throw new RangeError('at most 10 controllers');
    this.#controllers = controllers.map((c) => (typeof c === 'string' ? Principal.fromText(c) : c));
  }

  isController(principal: Principal): boolean {
    return this.#controllers.some((c) => c.compareTo(principal) === 'eq');
  }

  /** Increases on every change made through the management canister, as `canister_version` does. */
  get version(): bigint {
    return this.#version;
  }

  bumpVersion(): void {
    this.#version++;
  }

  // --- code ---------------------------------------------------------------------------------------

  get module(): Buffer | null {
    return this.#module;
  }

  /** SHA-256 of the installed module bytes (what `canister_status` reports as `module_hash`). */
  get moduleHash(): Buffer | null {
    return this.#moduleHash;
  }

  /**
   * Replaces the module only. Globals are reset to the module's exported globals when it can be
   * parsed (tests may pass arbitrary bytes: then the current globals stay).
   */
  setModule(module: Uint8Array | null): void {
    this.#module = module === null ? null : Buffer.from(module);
    this.#moduleHash = module === null ? null : createHash('sha256').update(module).digest();
    if (module !== null) {
      try {
        this.#globals = [...inspectWasmModule(module).exportedGlobals];
      } catch (error) {
        if (!(error instanceof InvalidWasmError)) throw error;
      }
    }
  }

  get globals(): readonly WasmGlobal[] {
    return this.#globals;
  }

  set globals(values: readonly WasmGlobal[]) {
    this.#globals = [...values];
  }

  get certifiedData(): Buffer {
    return this.#certifiedData;
  }

  set certifiedData(value: Uint8Array) {
    if (value.length > 32) throw new RangeError('certified data is at most 32 bytes');
    this.#certifiedData = Buffer.from(value);
  }

  // --- memory -------------------------------------------------------------------------------------

  /** The live Wasm heap. Writes to it change the canister directly. */
  get heap(): Buffer {
    return this.#heap;
  }

  /** The live stable memory. */
  get stableMemory(): Buffer {
    return this.#stable;
  }

  memory(region: MemoryRegion): Buffer {
    return region === 'heap' ? this.#heap : this.#stable;
  }

  /** Replaces a region: with given bytes (kept, not copied) or a fresh region of `init.bytes`. */
  setMemory(region: MemoryRegion, bytesOrInit: Uint8Array | MemoryInit): void {
    let memory: Buffer;
    if (bytesOrInit instanceof Uint8Array) {
      memory = Buffer.from(bytesOrInit.buffer, bytesOrInit.byteOffset, bytesOrInit.byteLength);
    } else {
      memory = Buffer.alloc(bytesOrInit.bytes);
      if (bytesOrInit.content && bytesOrInit.content !== 'zero') {
        fillMemory(memory, bytesOrInit.content, bytesOrInit.seed ?? `${this.id.toText()}:${region}`);
      }
    }
    if (memory.length % WASM_PAGE_SIZE !== 0) {
      throw new RangeError(`${region} size ${memory.length} is not a multiple of the Wasm page size ${WASM_PAGE_SIZE}`);
    }
    if (region === 'heap') this.#heap = memory;
    else this.#stable = memory;
  }

  read(region: MemoryRegion, offset: number, length: number): Buffer {
    const memory = this.memory(region);
    checkRange(region, memory, offset, length);
    return Buffer.from(memory.subarray(offset, offset + length));
  }

  write(region: MemoryRegion, offset: number, bytes: Uint8Array): void {
    const memory = this.memory(region);
    checkRange(region, memory, offset, bytes.length);
    memory.set(bytes, offset);
  }

  /**
   * Overwrites `count` distinct pages of `pageSize` bytes with fresh random bytes, the way a
   * canister dirties its memory between two backups. Returns the changed offsets, ascending.
   */
  writeRandomPages(region: MemoryRegion, count: number, pageSize = 4096, seed?: string | number): number[] {
    const memory = this.memory(region);
    if (!Number.isInteger(pageSize) || pageSize <= 0) throw new RangeError(`invalid page size ${pageSize}`);
    const pages = Math.floor(memory.length / pageSize);
    const random = new SeededRandom(seed ?? `${Date.now()}:${Math.random()}`);
    const offsets = sampleDistinct(random, pages, count).map((page) => page * pageSize);
    for (const offset of offsets) random.fill(memory.subarray(offset, offset + pageSize));
    return offsets;
  }

  /** Hex SHA-256 of a region or of the module (empty input when there is no module). */
  sha256(region: MemoryRegion | 'module'): string {
    const bytes = region === 'module' ? (this.#module ?? Buffer.alloc(0)) : this.memory(region);
    return createHash('sha256').update(bytes).digest('hex');
  }

  // --- chunk store --------------------------------------------------------------------------------

  get chunkStore(): ReadonlyMap<string, Buffer> {
    return this.#chunkStore;
  }

  /** Adds a chunk as `upload_chunk` does and returns its SHA-256. */
  addChunk(chunk: Uint8Array): Buffer {
    if (chunk.length > MAX_WASM_CHUNK_BYTES) throw new RangeError(`a wasm chunk holds at most ${MAX_WASM_CHUNK_BYTES} bytes`);
    const hash = createHash('sha256').update(chunk).digest();
    this.#chunkStore.set(hash.toString('hex'), Buffer.from(chunk));
    return hash;
  }

  clearChunkStore(): void {
    this.#chunkStore.clear();
  }

  // --- install ------------------------------------------------------------------------------------

  /**
   * `install`/`reinstall`: new module, fresh heap (the module's initial memory) and empty stable
   * memory. `upgrade`: new module and fresh heap, stable memory kept (the IC's default; `keepHeap`
   * is enhanced orthogonal persistence's `wasm_memory_persistence = keep`).
   */
  install(module: Uint8Array, mode: 'install' | 'reinstall' | 'upgrade', keepHeap = false): void {
    const info = inspectWasmModule(module);
    this.setModule(module);
    this.#globals = [...info.exportedGlobals];
    if (!keepHeap) this.#heap = Buffer.alloc(info.memoryMinPages * WASM_PAGE_SIZE);
    if (mode !== 'upgrade') {
      this.#stable = Buffer.alloc(0);
      this.#certifiedData = Buffer.alloc(0);
      this.globalTimer = { inactive: null };
    }
  }

  uninstall(): void {
    this.#module = null;
    this.#moduleHash = null;
    this.#heap = Buffer.alloc(0);
    this.#stable = Buffer.alloc(0);
    this.#globals = [];
    this.#certifiedData = Buffer.alloc(0);
    this.globalTimer = { inactive: null };
  }

  // --- snapshots ----------------------------------------------------------------------------------

  get snapshotCount(): number {
    return this.#snapshots.size;
  }

  /** Snapshots in id order, as `list_canister_snapshots` returns them. */
  listSnapshots(): CanisterSnapshot[] {
    return [...this.#snapshots.values()].sort((a, b) => Buffer.compare(a.id, b.id));
  }

  snapshotSummaries(): SnapshotSummary[] {
    return this.listSnapshots().map((s) => ({
      id: s.idHex,
      source: s.source,
      takenAtNs: s.takenAtNs,
      wasmModuleSize: s.wasmModule.length,
      wasmMemorySize: s.wasmMemory.length,
      stableMemorySize: s.stableMemory.length,
      chunkCount: s.chunkStore.size,
    }));
  }

  findSnapshot(id: Uint8Array | readonly number[]): CanisterSnapshot | undefined {
    return this.#snapshots.get(Buffer.from(id).toString('hex'));
  }

  deleteSnapshot(id: Uint8Array | readonly number[]): boolean {
    return this.#snapshots.delete(Buffer.from(id).toString('hex'));
  }

  /** Snapshot ids: 8-byte big-endian per-canister counter followed by the canister id. */
  #nextSnapshotId(): Uint8Array {
    const counter = Buffer.alloc(8);
    counter.writeBigUInt64BE(this.#nextSnapshotIndex++);
    return Buffer.concat([counter, this.id.toUint8Array()]);
  }

  /** Copies the current state into a new snapshot (heap and stable memory are copied once). */
  captureSnapshot(nowNs: bigint): CanisterSnapshot {
    if (this.#module === null) throw new Error('cannot snapshot an empty canister');
    const snapshot = new CanisterSnapshot(
      this.#nextSnapshotId(),
      this.id,
      'taken_from_canister',
      nowNs,
      this.#version,
      Buffer.from(this.#module),
      Buffer.from(this.#heap),
      Buffer.from(this.#stable),
      new Map(this.#chunkStore),
      [...this.#globals],
      Buffer.from(this.#certifiedData),
      this.globalTimer,
      this.lowMemoryHookStatus,
    );
    this.#snapshots.set(snapshot.idHex, snapshot);
    return snapshot;
  }

  /** An all-zero snapshot of the declared sizes, to be filled by `upload_canister_snapshot_data`. */
  createUploadedSnapshot(
    nowNs: bigint,
    metadata: {
      wasmModuleSize: number;
      wasmMemorySize: number;
      stableMemorySize: number;
      globals: readonly WasmGlobal[];
      certifiedData: Uint8Array;
      globalTimer: GlobalTimer | undefined;
      lowMemoryHookStatus: LowMemoryHookStatus | undefined;
    },
  ): CanisterSnapshot {
    const snapshot = new CanisterSnapshot(
      this.#nextSnapshotId(),
      this.id,
      'metadata_upload',
      nowNs,
      this.#version,
      Buffer.alloc(metadata.wasmModuleSize),
      Buffer.alloc(metadata.wasmMemorySize),
      Buffer.alloc(metadata.stableMemorySize),
      new Map(),
      [...metadata.globals],
      Buffer.from(metadata.certifiedData),
      metadata.globalTimer,
      metadata.lowMemoryHookStatus,
    );
    this.#snapshots.set(snapshot.idHex, snapshot);
    return snapshot;
  }

  /** Replaces code, memories, globals and the rest of the snapshotted state (not cycles/settings). */
  restoreSnapshot(snapshot: CanisterSnapshot): void {
    this.setModule(snapshot.wasmModule);
    this.#heap = Buffer.from(snapshot.wasmMemory);
    this.#stable = Buffer.from(snapshot.stableMemory);
    this.#chunkStore = new Map(snapshot.chunkStore);
    this.#globals = [...snapshot.globals];
    this.#certifiedData = Buffer.from(snapshot.certifiedData);
    if (snapshot.globalTimer) this.globalTimer = snapshot.globalTimer;
    if (snapshot.lowMemoryHookStatus) this.lowMemoryHookStatus = snapshot.lowMemoryHookStatus;
  }

  /** Memory the canister is charged for, including its snapshots. */
  memoryUsage(): MemoryUsage {
    let chunkStore = 0n;
    for (const chunk of this.#chunkStore.values()) chunkStore += BigInt(chunk.length);
    let snapshots = 0n;
    for (const snapshot of this.#snapshots.values()) snapshots += snapshot.totalSize;
    const wasmBinary = BigInt(this.#module?.length ?? 0);
    const wasmMemory = BigInt(this.#heap.length);
    const stableMemory = BigInt(this.#stable.length);
    const globals = BigInt(this.#globals.length * 8);
    const total = wasmBinary + wasmMemory + stableMemory + globals + chunkStore + snapshots;
    return { wasmBinary, wasmMemory, stableMemory, globals, chunkStore, snapshots, total };
  }
}

function checkRange(region: MemoryRegion, memory: Buffer, offset: number, length: number): void {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > memory.length) {
    throw new RangeError(`${region} range [${offset}, ${offset + length}) is outside its ${memory.length} bytes`);
  }
}
