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

export interface OpenTask {
  readonly kind: 'open';
  /** The buffers holding stored chunks (shared memory, or copied once into the message). */
  readonly buffers: readonly ArrayBufferLike[];
  /** Per chunk: buffer index, offset, stored length, plain length, codec byte, key index (-1: not sealed). */
  readonly refs: Int32Array;
  /** Per chunk: xxh64 of the stored bytes to check. */
  readonly checksums: BigUint64Array;
  readonly ids: Uint8Array;
  readonly keys: readonly Uint8Array[];
}

export interface WriteTask {
  readonly kind: 'write';
  /** Local paths of the pack files the chunks are in. */
  readonly packs: readonly string[];
  /** Per chunk: pack index, offset in the pack, stored length, plain length, codec byte, key index (-1: not sealed). */
  readonly refs: Float64Array;
  readonly checksums: BigUint64Array;
  readonly ids: Uint8Array;
  readonly keys: readonly Uint8Array[];
  /** The file the range goes to (it exists: the sink created it; NO_TARGET: verified, written nowhere) and the range's offset in it. */
  readonly target: string;
  readonly position: number;
}

export type RestoreTask = OpenTask | WriteTask;

export type OpenResult =
  | { readonly ok: true; readonly plain: ArrayBuffer; readonly lengths: Int32Array }
  | { readonly ok: false; readonly index: number; readonly reason: string };

export type WriteResult = { readonly ok: true; readonly written: number } | { readonly ok: false; readonly index: number; readonly reason: string };

export type RestoreResult = OpenResult | WriteResult;
