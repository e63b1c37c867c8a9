// What every backup source offers: a description for the manifest and a stream of records
// (entry, data…, entry-end for each entry). See src/types.ts.
import type { Readable } from 'node:stream';
import type { SourceDescription } from '../types.js';

export interface BackupSource {
  readonly description: SourceDescription;
  /** Total bytes, when known in advance (progress and ETA). */
  readonly totalBytes: number | undefined;
  /**
   * Work with visible effects that should happen only once the destination is ready and locked
   * (a canister's stop → snapshot → start). Called once, before `description` is recorded and
   * before `records()`.
   */
  prepare?(signal?: AbortSignal): Promise<void>;
  /** An object-mode stream of SourceRecords. Call once. */
  records(signal?: AbortSignal, options?: RecordsOptions): Readable;
}

export interface RecordsOptions {
  /**
   * Buffers to read data into, from a consumer that takes them back without copying (the
   * parallel backup stage lends shared segments). A source that reads files may use them; each
   * one goes into one data record and is not touched again by the source.
   */
  readonly allocate?: () => Uint8Array;
}

/** Pieces read from files and pipes: large enough that per-record costs vanish. */
export const READ_PIECE_BYTES = 1 << 20;
