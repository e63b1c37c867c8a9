// Worker thread for the parallel restore stage: opens a batch of stored chunks — decrypt (the
// chunk id and codec are authenticated), decompress, check the keyed id — and returns the
// plaintexts back to back. The checksum of the stored bytes is checked first, when given.
import { createDecipheriv } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { CodecSet, codecByte, codecFromByte } from '../codecs/index.js';
import { createChunkIdHasher, type ChunkIdAlgorithm } from '../crypto/chunk-id.js';
import { xxh64 } from '../crypto/checksum.js';

export interface RestoreWorkerConfig {
  readonly chunkId: ChunkIdAlgorithm;
  readonly idKey: Uint8Array;
}

export interface OpenTask {
  /** The buffers holding stored chunks (shared memory, or copied once into the message). */
  readonly buffers: readonly ArrayBufferLike[];
  /** Per chunk: buffer index, offset, stored length, plain length, codec byte, key index (-1: not sealed). */
  readonly refs: Int32Array;
  /** Per chunk: xxh64 of the stored bytes to check. */
  readonly checksums: BigUint64Array;
  readonly ids: Uint8Array;
  readonly keys: readonly Uint8Array[];
}

export type OpenResult =
  | { readonly ok: true; readonly plain: ArrayBuffer; readonly lengths: Int32Array }
  | { readonly ok: false; readonly index: number; readonly reason: string };

const config = workerData as RestoreWorkerConfig;
const hasher = createChunkIdHasher(config.chunkId, config.idKey);
const codecs = new CodecSet();
const aad = Buffer.alloc(37);
aad.write('AVC1', 0, 'latin1');

function open(task: OpenTask): { result: OpenResult; transfer: ArrayBuffer[] } {
  const n = task.refs.length / 6;
  let total = 0;
  for (let i = 0; i < n; i++) total += task.refs[i * 6 + 3]!;
  const plain = Buffer.from(new ArrayBuffer(total));
  const lengths = new Int32Array(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const r = i * 6;
    const c = { plainLength: task.refs[r + 3]!, codec: task.refs[r + 4]!, key: task.refs[r + 5]! };
    const id = Buffer.from(task.ids.buffer, task.ids.byteOffset + i * 32, 32);
    let body = Buffer.from(task.buffers[task.refs[r]!] as ArrayBuffer, task.refs[r + 1]!, task.refs[r + 2]!);
    if (xxh64(body) !== task.checksums[i]) return { result: { ok: false, index: i, reason: 'is corrupt (checksum mismatch)' }, transfer: [] };
    const codec = codecFromByte(c.codec);
    if (c.key >= 0) {
      if (body.length < 28) return { result: { ok: false, index: i, reason: 'fails authentication (corrupt or tampered)' }, transfer: [] };
      aad.set(id, 4);
      aad[36] = codecByte(codec);
      const decipher = createDecipheriv('aes-256-gcm', task.keys[c.key]!, body.subarray(0, 12));
      decipher.setAAD(aad);
      decipher.setAuthTag(body.subarray(body.length - 16));
      const opened = decipher.update(body.subarray(12, body.length - 16));
      try {
        decipher.final();
      } catch {
        return { result: { ok: false, index: i, reason: 'fails authentication (corrupt or tampered)' }, transfer: [] };
      }
      body = opened;
    }
    // Straight into the batch's output: no buffer per chunk.
    const out = plain.subarray(at, at + c.plainLength);
    let written: number;
    try {
      written = codecs.get(codec).decompressInto(body, out);
    } catch {
      return { result: { ok: false, index: i, reason: `does not decompress (${codec})` }, transfer: [] };
    }
    if (written !== c.plainLength || !hasher.id(out).equals(id)) return { result: { ok: false, index: i, reason: 'is corrupt (content does not match its id)' }, transfer: [] };
    lengths[i] = written;
    at += written;
  }
  return { result: { ok: true, plain: plain.buffer as ArrayBuffer, lengths }, transfer: [plain.buffer as ArrayBuffer, lengths.buffer as ArrayBuffer] };
}

parentPort!.on('message', (task: OpenTask) => {
  try {
    const { result, transfer } = open(task);
    parentPort!.postMessage({ ok: true, result }, transfer);
  } catch (err) {
    const e = err as Error;
    parentPort!.postMessage({ ok: false, error: { message: e.message, name: e.name } });
  }
});
