// Worker thread for the parallel backup stage: the CPU-heavy work on shared memory.
//   cut-hash: FastCDC candidate cuts of a segment and the keyed id of each candidate chunk
//   seal:     compress (raw when it does not shrink), encrypt, checksum a batch of chunks
// Inputs are views of SharedArrayBuffers (no copies); outputs are transferred back.
import { createCipheriv, randomFillSync } from 'node:crypto';
import { serve } from './worker-setup.js';
import type { FastCdcParams } from '../chunker/fastcdc.js';
import { WasmFastCdc } from '../chunker/fastcdc-wasm.js';
import { codecByte, createCodec, type Codec } from '../codecs/index.js';
import { SEAL_OVERHEAD } from '../crypto/aead.js';
import { createChunkIdHasher, type ChunkIdAlgorithm, type ChunkIdHasher } from '../crypto/chunk-id.js';
import { xxh64 } from '../crypto/checksum.js';
import { nativeChunkCipher } from '../crypto/chunk-cipher.js';
import type { CodecName } from '../types.js';

export interface BackupWorkerConfig {
  readonly chunker: FastCdcParams;
  readonly chunkId: ChunkIdAlgorithm;
  readonly idKey: Uint8Array;
  readonly codec: CodecName;
  readonly level: number;
  /** AES-256-GCM data key; absent for unencrypted repositories. */
  readonly dataKey?: Uint8Array;
}

export interface CutHashTask {
  readonly kind: 'cut-hash';
  readonly data: SharedArrayBuffer;
  readonly start: number;
  readonly end: number;
  /** The segment ends its entry: cut to the end. */
  readonly final: boolean;
}

export interface CutHashResult {
  /** Lengths of the determined candidate chunks from `start`. */
  readonly lengths: Int32Array;
  /** Their ids, 32 bytes each. */
  readonly ids: Uint8Array;
}

export interface SealTask {
  readonly kind: 'seal';
  /** The shared buffers the chunks are in (few per batch: cloning a SAB handle has a cost). */
  readonly buffers: readonly SharedArrayBuffer[];
  /** Per chunk: buffer index, offset, length. */
  readonly refs: Int32Array;
  readonly ids: Uint8Array;
  /**
   * Where to write the stored bytes, from offset 0 (at least Σ(length + SEAL_OVERHEAD) bytes); without it
   * they come back in a fresh buffer.
   */
  readonly out?: SharedArrayBuffer;
}

export interface SealResult {
  /** Stored bytes of every chunk, back to back: here, or in the task's `out`. */
  readonly stored?: ArrayBuffer;
  readonly lengths: Int32Array;
  readonly codecs: Uint8Array;
  readonly checksums: BigUint64Array;
}

export type BackupTask = CutHashTask | SealTask;
export type BackupTaskResult = CutHashResult | SealResult;

// Set by configure(), before any task (worker-setup.ts).
let config: BackupWorkerConfig;
// The WebAssembly chunker: the same cuts as FastCdc2020, ~2.5x faster (fastcdc-wasm.ts).
let chunker: WasmFastCdc;
let hasher: ChunkIdHasher;
let codec: Codec;
let dataKey: Buffer | undefined;
// Every chunk is compressed into this one buffer, never into a fresh allocation.
let scratch: Buffer;

function configure(given: BackupWorkerConfig): void {
  config = given;
  chunker = new WasmFastCdc(config.chunker);
  hasher = createChunkIdHasher(config.chunkId, config.idKey);
  codec = createCodec(config.codec, config.level);
  dataKey = config.dataKey ? Buffer.from(config.dataKey) : undefined;
  scratch = Buffer.allocUnsafeSlow(codec.compressBound(config.chunker.max));
}

function cutHash(task: CutHashTask): { result: CutHashResult; transfer: ArrayBuffer[] } {
  const lengths = chunker.cutAll(new Uint8Array(task.data), task.start, task.end, task.final);
  const ids = new Uint8Array(new ArrayBuffer(lengths.length * 32));
  const offsets = new Int32Array(lengths.length);
  let pos = task.start;
  for (let i = 0; i < lengths.length; i++) {
    offsets[i] = pos;
    pos += lengths[i]!;
  }
  hasher.idsInto(new Uint8Array(task.data), offsets, lengths, ids);
  return { result: { lengths, ids }, transfer: [lengths.buffer as ArrayBuffer, ids.buffer as ArrayBuffer] };
}

// Nonces from a pool: one randomFillSync per 5,000 chunks instead of a call per chunk.
const noncePool = Buffer.allocUnsafeSlow(12 * 5461);
let nonceAt = noncePool.length;
/** `count` fresh nonces, back to back (never handed out twice). */
function nonces(count: number): Buffer {
  const length = 12 * count;
  if (length > noncePool.length) return randomFillSync(Buffer.allocUnsafe(length));
  if (nonceAt + length > noncePool.length) {
    randomFillSync(noncePool);
    nonceAt = 0;
  }
  nonceAt += length;
  return noncePool.subarray(nonceAt - length, nonceAt);
}

const aad = Buffer.alloc(37);
aad.write('AVC1', 0, 'latin1');

// Without a task's `out`, a batch is sealed into this buffer, reused; only the exact stored bytes
// are copied out. A fresh buffer per batch cost a page fault per 4 KiB and, freed, fragmented the heap.
let sealScratch = Buffer.allocUnsafeSlow(0);

function seal(task: SealTask): { result: SealResult; transfer: ArrayBuffer[] } {
  const n = task.refs.length / 3;
  let capacity = 0;
  for (let i = 0; i < n; i++) capacity += task.refs[i * 3 + 2]! + SEAL_OVERHEAD;
  let out: Buffer;
  if (task.out) {
    if (task.out.byteLength < capacity) throw new Error(`internal: a seal task's output buffer is too small (${task.out.byteLength} < ${capacity})`);
    out = Buffer.from(task.out);
  } else {
    if (sealScratch.length < capacity) sealScratch = Buffer.allocUnsafeSlow(Math.max(capacity, 2 << 20));
    out = sealScratch;
  }
  const lengths = new Int32Array(n);
  const codecs = new Uint8Array(n);
  const checksums = new BigUint64Array(n);
  if (dataKey && nativeChunkCipher) {
    const at = sealNatively(task, dataKey, out, capacity, lengths, codecs, checksums);
    return sealResult(task, out, at, lengths, codecs, checksums);
  }
  let at = 0;
  for (let i = 0; i < n; i++) {
    const { body, codec: codecName } = bodyOf(plainOf(task, i));
    const start = at;
    if (dataKey) {
      const iv = nonces(1);
      iv.copy(out, at);
      at += 12;
      const id = task.ids.subarray(i * 32, i * 32 + 32);
      aad.set(id, 4);
      aad[36] = codecByte(codecName);
      const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
      cipher.setAAD(aad);
      at += cipher.update(body).copy(out, at);
      at += cipher.final().copy(out, at);
      at += cipher.getAuthTag().copy(out, at);
    } else {
      at += body.copy(out, at);
    }
    lengths[i] = at - start;
    codecs[i] = codecByte(codecName);
    checksums[i] = xxh64(out.subarray(start, at));
  }
  return sealResult(task, out, at, lengths, codecs, checksums);
}

/** The plain bytes of chunk `i`, where they lie in shared memory. */
function plainOf(task: SealTask, i: number): Buffer {
  return Buffer.from(task.buffers[task.refs[i * 3]!]!, task.refs[i * 3 + 1]!, task.refs[i * 3 + 2]!);
}

/** A chunk's body: its bytes compressed into `scratch`, or the plain bytes where that does not shrink them. */
function bodyOf(plain: Buffer): { body: Buffer; codec: CodecName } {
  if (config.codec !== 'none') {
    const compressedLength = codec.compressInto(plain, scratch);
    if (compressedLength < plain.length) return { body: scratch.subarray(0, compressedLength), codec: config.codec };
  }
  return { body: plain, codec: 'none' };
}

/**
 * Seals a batch with the native chunk cipher (chunk-cipher.ts): each body is laid into `out` between
 * room for its nonce and tag, then one call encrypts them all in place and checksums them.
 * `capacity` is Σ(plain length + SEAL_OVERHEAD), the most the batch can take. Returns the bytes written.
 */
function sealNatively(task: SealTask, key: Buffer, out: Buffer, capacity: number, lengths: Int32Array, codecs: Uint8Array, checksums: BigUint64Array): number {
  const n = lengths.length;
  // What the chunks after this one may still take: each at most its plain length + SEAL_OVERHEAD.
  let later = capacity;
  let at = 0;
  for (let i = 0; i < n; i++) {
    const plain = plainOf(task, i);
    later -= plain.length + SEAL_OVERHEAD;
    const bodyLength = layBody(plain, out, at + 12, out.length - at - SEAL_OVERHEAD - later);
    lengths[i] = bodyLength;
    codecs[i] = codecByte(bodyLength < plain.length ? config.codec : 'none');
    at += bodyLength + SEAL_OVERHEAD;
  }
  const written = nativeChunkCipher!.sealInPlace(key, out.subarray(0, at), lengths, task.ids.subarray(0, n * 32), codecs, nonces(n), checksums);
  for (let i = 0; i < n; i++) lengths[i]! += SEAL_OVERHEAD;
  return written;
}

/**
 * Writes a chunk's body at out[at]: compressed, or its plain bytes where that does not shrink them;
 * returns its length (shorter than plain: compressed). `room` bytes are free there (at least the
 * plain length). Compressed straight into `out` when the room holds zstd's worst case (chunks
 * before it shrank), else by way of `scratch`.
 */
function layBody(plain: Buffer, out: Buffer, at: number, room: number): number {
  if (config.codec !== 'none' && room >= codec.compressBound(plain.length)) {
    const compressedLength = codec.compressInto(plain, out.subarray(at, at + room));
    return compressedLength < plain.length ? compressedLength : plain.copy(out, at);
  }
  return bodyOf(plain).body.copy(out, at);
}

function sealResult(task: SealTask, out: Buffer, at: number, lengths: Int32Array, codecs: Uint8Array, checksums: BigUint64Array): { result: SealResult; transfer: ArrayBuffer[] } {
  const transfer = [lengths.buffer as ArrayBuffer, codecs.buffer as ArrayBuffer, checksums.buffer as ArrayBuffer];
  if (task.out) return { result: { lengths, codecs, checksums }, transfer };
  const stored = out.buffer.slice(0, at) as ArrayBuffer;
  return { result: { stored, lengths, codecs, checksums }, transfer: [stored, ...transfer] };
}

serve(configure, (task: BackupTask) => (task.kind === 'cut-hash' ? cutHash(task) : seal(task)));
