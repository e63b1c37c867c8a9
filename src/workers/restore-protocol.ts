// The messages between restore() and its worker threads (restore-worker.ts). A module of its
// own: importing the worker module itself would run it on the main thread.
import type { ChunkIdAlgorithm } from '../crypto/chunk-id.js';

export interface RestoreWorkerConfig {
  readonly chunkId: ChunkIdAlgorithm;
  readonly idKey: Uint8Array;
}

/** A write task's target that is nowhere: the range is opened and verified, not written. */
export const NO_TARGET = '';

/** Fields per chunk in `refs`, both task kinds. */
export const REF_FIELDS = 6;

/** The per-chunk tables both task kinds carry. */
export interface ChunkTables<Refs extends Int32Array | Float64Array> {
  /** Per chunk, REF_FIELDS numbers: where (see each task), stored length, plain length, codec byte, key index (-1: not sealed). */
  readonly refs: Refs;
  /** Per chunk: xxh64 of the stored bytes to check. */
  readonly checksums: BigUint64Array;
  /** Per chunk: its 32-byte keyed id, to verify the plaintext against. */
  readonly ids: Uint8Array;
  /** The unwrapped data keys the key indexes point into. */
  readonly keys: readonly Uint8Array[];
}

/** Stored chunks handed over in memory; `refs` start with: buffer index, offset in it. */
export interface OpenTask extends ChunkTables<Int32Array> {
  readonly kind: 'open';
  /** The buffers holding stored chunks, the task's own (transferred): the worker decrypts chunks in place in them. */
  readonly buffers: readonly ArrayBuffer[];
}

/** A contiguous range of one file from local packs; `refs` start with: pack index, offset in the pack. */
export interface WriteTask extends ChunkTables<Float64Array> {
  readonly kind: 'write';
  /** Local paths of the pack files the chunks are in. */
  readonly packs: readonly string[];
  /** The file the range goes to (it exists: the sink created it; NO_TARGET: verified, written nowhere) and the range's offset in it. */
  readonly target: string;
  readonly position: number;
  /** Leave whole file blocks of zeros unwritten (the sink makes sparse files). */
  readonly sparse: boolean;
}

export type RestoreTask = OpenTask | WriteTask;

export type OpenResult =
  | { readonly ok: true; readonly plain: ArrayBuffer; readonly lengths: Int32Array }
  | { readonly ok: false; readonly index: number; readonly reason: string };

export type WriteResult = { readonly ok: true; readonly written: number } | { readonly ok: false; readonly index: number; readonly reason: string };

export type RestoreResult = OpenResult | WriteResult;
