// A canister's whole state as a backup: status into the manifest, then stop → snapshot → start
// (the canister is always restarted, also on errors and Ctrl-C) → download metadata, module, heap,
// stable memory and chunk store in 2,000,000-byte slices, several in flight, streamed straight into
// the pipeline (never a whole memory in RAM). Entries are named as the files of a
// `dfx canister snapshot download` directory.
import { Readable } from 'node:stream';
import { AgentvaultError } from '../errors.js';
import { SLICE_BYTES, SNAPSHOT_ENTRY_NAMES } from '../ic/constants.js';
import { CanisterManagement, type CanisterStatusInfo, type MemoryRegion, type SnapshotInfo, type SnapshotMetadata } from '../ic/management.js';
import { encodeSnapshotMetadata } from '../ic/snapshot-metadata.js';
import type { EntryKind, SourceDescription, SourceRecord } from '../types.js';
import type { BackupSource } from './source.js';

export interface CanisterSourceOptions {
  readonly management: CanisterManagement;
  readonly canisterId: string;
  /** Snapshot a running canister (inconsistent state is possible); default false = stop first. */
  readonly noStop?: boolean;
  /** Delete the snapshot from the canister once downloaded. */
  readonly deleteSnapshot?: boolean;
  /** Slices in flight (default 4). */
  readonly concurrency?: number;
  readonly onEvent?: (message: string) => void;
}

export { SNAPSHOT_ENTRY_NAMES };

const REGIONS: ReadonlyArray<{ region: MemoryRegion; kind: EntryKind; name: string; size: (m: SnapshotMetadata) => bigint }> = [
  { region: 'wasmModule', kind: 'wasm_module', name: SNAPSHOT_ENTRY_NAMES.wasm_module, size: (m) => m.wasmModuleSize },
  { region: 'wasmMemory', kind: 'wasm_memory', name: SNAPSHOT_ENTRY_NAMES.wasm_memory, size: (m) => m.wasmMemorySize },
  { region: 'stableMemory', kind: 'stable_memory', name: SNAPSHOT_ENTRY_NAMES.stable_memory, size: (m) => m.stableMemorySize },
];

export class CanisterSnapshotSource implements BackupSource {
  #snapshot: SnapshotInfo | undefined;
  #metadata: SnapshotMetadata | undefined;

  private constructor(
    readonly options: CanisterSourceOptions,
    readonly status: CanisterStatusInfo,
  ) {}

  /** Reads canister_status (which also proves we may act on the canister) before any change. */
  static async open(options: CanisterSourceOptions): Promise<CanisterSnapshotSource> {
    const status = await options.management.status(options.canisterId);
    if (status.moduleHash === null) throw new AgentvaultError('INPUT', `canister ${options.canisterId} has no code installed: there is nothing to back up`);
    return new CanisterSnapshotSource(options, status);
  }

  get description(): SourceDescription {
    const s = this.status;
    return {
      kind: 'canister',
      name: this.options.canisterId,
      canisterId: this.options.canisterId,
      network: this.options.management.network.url,
      principal: this.options.management.principal,
      moduleHash: s.moduleHash,
      cycles: s.cycles.toString(),
      controllers: s.controllers,
      status: s.status,
      memorySize: s.memorySize.toString(),
      settings: Object.fromEntries(Object.entries(s.settings).map(([k, v]) => [k, v.toString()])),
      ...(this.#snapshot ? { snapshotId: this.#snapshot.idHex, snapshotTakenAt: this.#snapshot.takenAt.toString() } : {}),
    };
  }

  get totalBytes(): number | undefined {
    return this.#metadata ? Number(this.#metadata.wasmModuleSize + this.#metadata.wasmMemorySize + this.#metadata.stableMemorySize) : undefined;
  }

  /** Stop → snapshot → start, once. Called by records(); exposed so callers can report the snapshot. */
  async takeSnapshot(): Promise<SnapshotInfo> {
    if (this.#snapshot) return this.#snapshot;
    const { management, canisterId, onEvent } = this.options;
    const wasRunning = this.status.status === 'running';
    const stop = !this.options.noStop && this.status.status !== 'stopped';
    if (this.options.noStop && wasRunning) onEvent?.(`warning: snapshotting canister ${canisterId} while it runs; its state may be inconsistent`);
    try {
      if (stop) {
        onEvent?.(`stopping canister ${canisterId}`);
        await management.stop(canisterId);
      }
      const snapshot = await management.takeSnapshot(canisterId);
      if (snapshot.replaced) onEvent?.(`replaced the oldest snapshot ${snapshot.replaced} (a canister keeps at most 10)`);
      onEvent?.(`took snapshot ${snapshot.idHex}`);
      this.#snapshot = snapshot;
      return snapshot;
    } finally {
      // Always restart what we stopped, whatever happened above.
      if (stop && wasRunning) {
        await management.start(canisterId).then(
          () => onEvent?.(`started canister ${canisterId}`),
          (err: Error) => onEvent?.(`warning: could not restart canister ${canisterId}: ${err.message}; start it with dfx canister start`),
        );
      }
    }
  }

  async prepare(): Promise<void> {
    await this.takeSnapshot();
  }

  records(signal?: AbortSignal): Readable {
    return Readable.from(this.#generate(signal), { objectMode: true, highWaterMark: 4 });
  }

  async *#generate(signal?: AbortSignal): AsyncGenerator<SourceRecord> {
    const { management, canisterId } = this.options;
    const snapshot = await this.takeSnapshot();
    const metadata = await management.readMetadata(canisterId, snapshot.id);
    this.#metadata = metadata;
    let index = 0;
    const metadataJson = encodeSnapshotMetadata(metadata);
    yield* single(index++, SNAPSHOT_ENTRY_NAMES.metadata, 'metadata', metadataJson);

    for (const r of REGIONS) {
      const size = Number(r.size(metadata));
      const entry = index++;
      yield { type: 'entry', entry: { index: entry, name: r.name, kind: r.kind, size } };
      for await (const bytes of this.#slices(snapshot, r.region, size, signal)) yield { type: 'data', entry, bytes };
      yield { type: 'entry-end', entry, size };
    }
    for (const { hash } of metadata.wasmChunkStore) {
      signal?.throwIfAborted();
      const hex = Buffer.from(hash).toString('hex');
      const bytes = await management.readWasmChunk(canisterId, snapshot.id, Uint8Array.from(hash));
      yield* single(index++, `${SNAPSHOT_ENTRY_NAMES.chunkDir}/${hex}.bin`, 'wasm_chunk', bytes);
    }
    if (this.options.deleteSnapshot) {
      await management.deleteSnapshot(canisterId, snapshot.id);
      this.options.onEvent?.(`deleted snapshot ${snapshot.idHex}`);
    }
  }

  /** The region's bytes in order, with up to `concurrency` slice reads in flight. */
  async *#slices(snapshot: SnapshotInfo, region: MemoryRegion, size: number, signal?: AbortSignal): AsyncGenerator<Buffer> {
    const { management, canisterId } = this.options;
    const concurrency = this.options.concurrency ?? 4;
    const inFlight: Array<Promise<Buffer>> = [];
    let next = 0;
    const launch = () => {
      const offset = next;
      const length = Math.min(SLICE_BYTES, size - offset);
      next += length;
      const p = management.readSlice(canisterId, snapshot.id, region, offset, length);
      p.catch(() => undefined); // awaited in order below
      inFlight.push(p);
    };
    while (next < size && inFlight.length < concurrency) launch();
    while (inFlight.length > 0) {
      signal?.throwIfAborted();
      const bytes = await inFlight.shift()!;
      if (next < size) launch();
      yield bytes;
    }
  }
}

function* single(index: number, name: string, kind: EntryKind, bytes: Buffer): Generator<SourceRecord> {
  yield { type: 'entry', entry: { index, name, kind, size: bytes.length } };
  yield { type: 'data', entry: index, bytes };
  yield { type: 'entry-end', entry: index, size: bytes.length };
}
