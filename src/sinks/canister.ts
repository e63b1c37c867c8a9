// Restores a canister backup into a canister, following the snapshot upload path:
// stop → upload snapshot metadata → upload data (2,000,000-byte slices, several in flight) →
// load snapshot → verify (module hash, sizes) → start. Progress is saved after every
// acknowledged slice; a re-run with the same backup and canister resumes. On failure the
// canister is started again if it was running, and the progress is kept for the resume.
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { AgentvaultError } from '../errors.js';
import { SLICE_BYTES } from '../ic/constants.js';
import type { CanisterManagement, MemoryRegion, SnapshotMetadata } from '../ic/management.js';
import { decodeSnapshotMetadata } from '../ic/snapshot-metadata.js';
import type { UploadProgress, UploadStateFile } from '../ic/upload-state.js';
import type { EntryInfo, PipelineRecord } from '../types.js';
import { ChunkOrderCheck } from './order-check.js';

export interface CanisterSinkOptions {
  readonly management: CanisterManagement;
  readonly canisterId: string;
  readonly backupId: string;
  readonly state: UploadStateFile;
  /** The module hash the backup recorded, checked after load (hex). */
  readonly expectedModuleHash?: string | null;
  readonly concurrency?: number;
  readonly onEvent?: (message: string) => void;
}

const REGION_OF: Partial<Record<EntryInfo['kind'], MemoryRegion>> = { wasm_module: 'wasmModule', wasm_memory: 'wasmMemory', stable_memory: 'stableMemory' };

interface OpenEntry {
  readonly info: EntryInfo;
  readonly region?: MemoryRegion;
  offset: number;
  buffered: Buffer[];
  bufferedBytes: number;
  /** Uploads in flight, oldest first. */
  readonly window: Array<Promise<void>>;
  /** Resolves once every slice so far is uploaded and its progress saved, in order. */
  saved: Promise<void>;
}

export class CanisterRestoreSink extends Writable {
  #progress: UploadProgress | undefined;
  #snapshotId: Uint8Array | undefined;
  #metadata: SnapshotMetadata | undefined;
  #metadataBytes: Buffer[] = [];
  #current: OpenEntry | undefined;
  #wasRunning = false;
  #stopped = false;
  readonly #moduleHash = createHash('sha256');
  #finished = false;
  readonly #order = new ChunkOrderCheck(true);

  constructor(readonly options: CanisterSinkOptions) {
    super({ objectMode: true, highWaterMark: 16 });
  }

  override _construct(callback: (err?: Error | null) => void): void {
    this.#begin().then(() => callback(), callback);
  }

  async #begin(): Promise<void> {
    const { management, canisterId, state, onEvent } = this.options;
    const status = await management.status(canisterId);
    this.#wasRunning = status.status === 'running';
    const saved = await state.load();
    if (saved?.snapshotId) {
      const exists = (await management.listSnapshots(canisterId)).some((s) => s.idHex === saved.snapshotId);
      if (exists) {
        this.#progress = saved;
        this.#snapshotId = Uint8Array.from(Buffer.from(saved.snapshotId, 'hex'));
        onEvent?.(`resuming the upload into snapshot ${saved.snapshotId}`);
      }
    }
    this.#progress ??= { version: 1, backupId: this.options.backupId, canisterId, regions: {}, chunks: [] };
    // Set before stopping: a stop that fails or times out leaves the canister `stopping`, and
    // _destroy must start it again.
    this.#stopped = true;
    if (status.status !== 'stopped') {
      onEvent?.(`stopping canister ${canisterId}`);
      await management.stop(canisterId);
    }
  }

  override _write(record: PipelineRecord, _e: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.#handle(record).then(() => callback(), callback);
  }

  async #handle(record: PipelineRecord): Promise<void> {
    this.#order.check(record);
    switch (record.type) {
      case 'entry':
        this.#current = { info: record.entry, ...(REGION_OF[record.entry.kind] ? { region: REGION_OF[record.entry.kind]! } : {}), offset: 0, buffered: [], bufferedBytes: 0, window: [], saved: Promise.resolve() };
        if (record.entry.kind !== 'metadata' && !this.#snapshotId) throw new AgentvaultError('CORRUPT', 'this backup does not start with the snapshot metadata; it is not a canister backup');
        break;
      case 'chunk': {
        const e = this.#current!;
        if (e.info.kind === 'metadata') this.#metadataBytes.push(record.data!);
        else if (e.info.kind === 'wasm_module') this.#moduleHash.update(record.data!);
        if (e.region || e.info.kind === 'wasm_chunk') {
          e.buffered.push(record.data!);
          e.bufferedBytes += record.data!.length;
          if (e.region) while (e.bufferedBytes >= SLICE_BYTES) await this.#uploadSlice(e, SLICE_BYTES);
        }
        break;
      }
      case 'entry-end': {
        const e = this.#current!;
        if (e.info.kind === 'metadata') await this.#uploadMetadata(Buffer.concat(this.#metadataBytes), e.info.name);
        else if (e.region) {
          if (e.bufferedBytes > 0) await this.#uploadSlice(e, e.bufferedBytes);
          await e.saved;
        } else if (e.info.kind === 'wasm_chunk') await this.#uploadWasmChunk(e);
        this.#current = undefined;
        break;
      }
    }
  }

  async #uploadMetadata(bytes: Buffer, name: string): Promise<void> {
    this.#metadata = decodeSnapshotMetadata(bytes, `${name} of backup ${this.options.backupId}`);
    if (this.#snapshotId) return; // resumed: the snapshot exists already
    const { management, canisterId, state, onEvent } = this.options;
    this.#snapshotId = await management.uploadMetadata(canisterId, this.#metadata);
    this.#progress!.snapshotId = Buffer.from(this.#snapshotId).toString('hex');
    await state.save(this.#progress!);
    onEvent?.(`uploaded snapshot metadata: snapshot ${this.#progress!.snapshotId}`);
  }

  /** Takes `length` buffered bytes of the entry and uploads them (unless a resumed run already did). */
  async #uploadSlice(e: OpenEntry, length: number): Promise<void> {
    const all = e.buffered.length === 1 ? e.buffered[0]! : Buffer.concat(e.buffered, e.bufferedBytes);
    const slice = all.subarray(0, length);
    const rest = all.subarray(length);
    e.buffered = rest.length > 0 ? [rest] : [];
    e.bufferedBytes = rest.length;
    const offset = e.offset;
    e.offset += length;
    const progress = this.#progress!;
    if ((progress.regions[e.info.name] ?? 0) >= offset + length) return; // uploaded before the interruption

    const { management, canisterId, state } = this.options;
    const upload = management.uploadSlice(canisterId, this.#snapshotId!, e.region!, offset, slice);
    upload.catch(() => undefined); // surfaced through `saved` and the window
    // Progress is saved in slice order, so the saved prefix never covers a slice still in flight.
    e.saved = e.saved.then(() => upload).then(async () => {
      progress.regions[e.info.name] = offset + length;
      await state.save(progress);
    });
    e.saved.catch(() => undefined);
    e.window.push(upload);
    if (e.window.length >= (this.options.concurrency ?? 4)) await e.window.shift();
  }

  async #uploadWasmChunk(e: OpenEntry): Promise<void> {
    const progress = this.#progress!;
    if (progress.chunks.includes(e.info.name)) return;
    const { management, canisterId, state } = this.options;
    await management.uploadSlice(canisterId, this.#snapshotId!, 'wasmChunk', 0, Buffer.concat(e.buffered));
    progress.chunks.push(e.info.name);
    await state.save(progress);
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.#finish().then(() => callback(), callback);
  }

  async #finish(): Promise<void> {
    const { management, canisterId, state, onEvent } = this.options;
    if (!this.#snapshotId || !this.#metadata) throw new AgentvaultError('CORRUPT', 'the backup ended before its snapshot metadata');
    onEvent?.(`loading snapshot ${Buffer.from(this.#snapshotId).toString('hex')} into canister ${canisterId}`);
    await management.loadSnapshot(canisterId, this.#snapshotId);
    const status = await management.status(canisterId);
    const restoredHash = this.#moduleHash.digest('hex');
    const expected = this.options.expectedModuleHash;
    if (status.moduleHash !== restoredHash || (expected && expected !== restoredHash)) {
      throw new AgentvaultError('CORRUPT', `after loading, canister ${canisterId} reports module hash ${status.moduleHash ?? 'none'}; the backup's module hashes to ${restoredHash}${expected ? ` and was recorded as ${expected}` : ''}`);
    }
    await management.deleteSnapshot(canisterId, this.#snapshotId).catch((err: Error) => onEvent?.(`warning: could not delete the uploaded snapshot: ${err.message}`));
    await state.remove();
    await management.start(canisterId);
    this.#finished = true;
    onEvent?.(`started canister ${canisterId}`);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    // On failure: the upload progress stays for a resume; the canister runs again if it ran before.
    if (this.#finished || !this.#stopped || !this.#wasRunning) {
      callback(err);
      return;
    }
    const { management, canisterId, onEvent } = this.options;
    management.start(canisterId).then(
      () => {
        onEvent?.(`started canister ${canisterId} again; run the same restore to resume the upload`);
        callback(err);
      },
      (startErr: Error) => {
        onEvent?.(`warning: could not restart canister ${canisterId}: ${startErr.message}`);
        callback(err);
      },
    );
  }
}
