// Worker thread for restore. Two kinds of task:
//  - open: a batch of stored chunks handed over in memory — checksum, decrypt (the chunk id and
//    codec are authenticated), decompress, check the keyed id — returning the plaintexts back to
//    back (the record path: any sink).
//  - write: a contiguous range of one restored file, described by where its chunks lie in local
//    pack files; the worker reads the packs itself, opens every chunk the same way, and writes
//    the range into the target file at its position (the positional path: file sinks). Nothing
//    crosses the thread boundary but numbers, so the main thread neither reads, copies, nor
//    collects the data.
import { createDecipheriv } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { getSystemErrorName } from 'node:util';
import { serve } from './worker-setup.js';
import { CodecSet, codecByte, codecFromByte } from '../codecs/index.js';
import { createChunkIdHasher, type ChunkIdHasher } from '../crypto/chunk-id.js';
import { xxh64 } from '../crypto/checksum.js';
import { zeroBlockRuns } from '../backend/zero-blocks.js';
import { nativeChunkCipher } from '../crypto/chunk-cipher.js';
import { nativeModule } from '../native.js';
import { NO_TARGET, REF_FIELDS, type ChunkTables, type OpenResult, type OpenTask, type RestoreTask, type RestoreWorkerConfig, type WriteResult, type WriteTask } from './restore-protocol.js';

// Set by configure(), before any task (worker-setup.ts).
let hasher: ChunkIdHasher;
function configure(config: RestoreWorkerConfig): void {
  hasher = createChunkIdHasher(config.chunkId, config.idKey);
}
const codecs = new CodecSet();
const aad = Buffer.alloc(37);
aad.write('AVC1', 0, 'latin1');

/**
 * Opens one stored chunk into `out` (exactly its plain length): checksum, decrypt, decompress,
 * verify the id. Returns why it failed, or undefined. `checksum` undefined: not checked (a sealed
 * chunk read on the positional path, where AES-GCM's tag already covers every stored byte and a
 * failure is retried on the record path, which checks the checksum to pick a good copy).
 */
function openChunk(stored: Buffer, checksum: bigint | undefined, id: Buffer, codecNumber: number, key: Uint8Array | undefined, out: Buffer): string | undefined {
  if (checksum !== undefined && xxh64(stored) !== checksum) return 'is corrupt (checksum mismatch)';
  let body = stored;
  if (key) {
    if (body.length < 28) return FAILS_AUTHENTICATION;
    aad.set(id, 4);
    aad[36] = codecByte(codecFromByte(codecNumber));
    const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, 12));
    decipher.setAAD(aad);
    decipher.setAuthTag(body.subarray(body.length - 16));
    const opened = decipher.update(body.subarray(12, body.length - 16));
    try {
      decipher.final();
    } catch {
      return FAILS_AUTHENTICATION;
    }
    body = opened;
  }
  return decompressAndVerify(body, id, codecNumber, out);
}

const FAILS_AUTHENTICATION = 'fails authentication (corrupt or tampered)';

/** The last steps of opening a chunk: its (decrypted) body into `out`, then the id checked. */
function decompressAndVerify(body: Buffer, id: Buffer, codecNumber: number, out: Buffer): string | undefined {
  return decompress(body, codecNumber, out) ?? (hasher.id(out).equals(id) ? undefined : CONTENT_MISMATCH);
}

/** A (decrypted) body into `out`, which it must fill exactly; returns why not, or undefined. */
function decompress(body: Buffer, codecNumber: number, out: Buffer): string | undefined {
  const codec = codecFromByte(codecNumber);
  let written: number;
  try {
    written = codecs.get(codec).decompressInto(body, out);
  } catch {
    return `does not decompress (${codec})`;
  }
  return written === out.length ? undefined : CONTENT_MISMATCH;
}

const CONTENT_MISMATCH = 'is corrupt (content does not match its id)';

function open(task: OpenTask): { result: OpenResult; transfer: ArrayBuffer[] } {
  const { refs } = task;
  const n = refs.length / REF_FIELDS;
  // Where each chunk's plaintext goes in the batch's output: back to back, no buffer per chunk.
  const at = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) at[i + 1] = at[i]! + refs[i * REF_FIELDS + 3]!;
  const plain = Buffer.from(new ArrayBuffer(at[n]!));
  const stored = (i: number) => Buffer.from(task.buffers[refs[i * REF_FIELDS]!]!, refs[i * REF_FIELDS + 1]!, refs[i * REF_FIELDS + 2]!);
  const failed = (index: number, reason: string) => ({ result: { ok: false as const, index, reason }, transfer: [] });
  for (let i = 0; i < n; ) {
    const r = i * REF_FIELDS;
    const key = refs[r + 5]!;
    if (key < 0 || !nativeChunkCipher) {
      const reason = openChunk(stored(i), task.checksums[i]!, idOf(task, i), refs[r + 4]!, key >= 0 ? task.keys[key] : undefined, plain.subarray(at[i]!, at[i + 1]!));
      if (reason) return failed(i, reason);
      i++;
      continue;
    }
    // A run of chunks sealed with one key, back to back in one buffer: checksums first (a copy
    // that fails one is not opened), then opened in place together (openRunNatively).
    const members = [i];
    let end = refs[r + 1]! + refs[r + 2]!;
    for (let j = i + 1; j < n && refs[j * REF_FIELDS + 5] === key && refs[j * REF_FIELDS] === refs[r] && refs[j * REF_FIELDS + 1] === end; j++) {
      members.push(j);
      end += refs[j * REF_FIELDS + 2]!;
    }
    for (const j of members) if (xxh64(stored(j)) !== task.checksums[j]) return failed(j, 'is corrupt (checksum mismatch)');
    const run = Buffer.from(task.buffers[refs[r]!]!, refs[r + 1]!, end - refs[r + 1]!);
    const failure = openRunNatively(task, members, run, run.length, plain, at);
    if (failure) return failed(failure.index, failure.reason);
    i = members[members.length - 1]! + 1;
  }
  const lengths = new Int32Array(n);
  for (let i = 0; i < n; i++) lengths[i] = refs[i * REF_FIELDS + 3]!;
  return { result: { ok: true, plain: plain.buffer as ArrayBuffer, lengths }, transfer: [plain.buffer as ArrayBuffer, lengths.buffer as ArrayBuffer] };
}

/** Reused between write tasks: a task's stored bytes, and its plaintext. */
let storedScratch: Buffer = Buffer.alloc(0);
let plainScratch: Buffer = Buffer.alloc(0);

/** Grown with a little headroom, not doubled: a task is at most a range plus one chunk. */
function scratch(current: Buffer, size: number): Buffer {
  const step = 1 << 20;
  return current.length >= size ? current : Buffer.allocUnsafe(Math.ceil((size + (size >> 3)) / step) * step);
}

/** Reads exactly `length` bytes at `position`, or says how many there were. */
function readFully(fd: number, into: Buffer, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, into, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

function write(task: WriteTask): WriteResult {
  const { refs } = task;
  const n = refs.length / REF_FIELDS;
  // Where each chunk's plaintext goes in the range, and which chunks repeat an earlier one of
  // this task (same pack, same offset: zero pages): those are copied, not read and opened again.
  const at = new Float64Array(n + 1);
  const repeatOf = new Int32Array(n).fill(-1);
  const seen = new Map<number, number>();
  let storedTotal = 0;
  for (let i = 0; i < n; i++) {
    const r = i * REF_FIELDS;
    at[i + 1] = at[i]! + refs[r + 3]!;
    const place = refs[r]! * 2 ** 32 + refs[r + 1]!;
    const earlier = seen.get(place);
    if (earlier !== undefined && refs[earlier * REF_FIELDS + 2] === refs[r + 2]) repeatOf[i] = earlier;
    else {
      seen.set(place, i);
      storedTotal += refs[r + 2]!;
    }
  }
  const total = at[n]!;
  plainScratch = scratch(plainScratch, total);
  storedScratch = scratch(storedScratch, storedTotal);
  const plain = plainScratch;
  const stored = storedScratch;
  const fds = new Map<number, number>();
  try {
    // Runs of chunks stored back to back in one pack: one read each.
    let i = 0;
    while (i < n) {
      if (repeatOf[i]! >= 0) {
        i++;
        continue;
      }
      const pack = refs[i * REF_FIELDS]!;
      const start = refs[i * REF_FIELDS + 1]!;
      let end = start;
      const members: number[] = [];
      for (let j = i; j < n; j++) {
        if (repeatOf[j]! >= 0) continue;
        const r = j * REF_FIELDS;
        if (refs[r] !== pack || refs[r + 1] !== end) break;
        end += refs[r + 2]!;
        members.push(j);
      }
      let fd = fds.get(pack);
      if (fd === undefined) {
        try {
          fd = fs.openSync(task.packs[pack]!, 'r');
        } catch (err) {
          return { ok: false, index: i, reason: `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
        }
        fds.set(pack, fd);
      }
      const got = readFully(fd, stored, end - start, start);
      const failed = nativeChunkCipher && sealedAlike(task, members) ? openRunNatively(task, members, stored, got, plain, at) : openRun(task, members, stored, got, plain, at);
      if (failed) return { ok: false, ...failed };
      i = members[members.length - 1]! + 1;
    }
    for (let k = 0; k < n; k++) {
      const original = repeatOf[k]!;
      if (original >= 0) plain.copy(plain, at[k]!, at[original]!, at[original + 1]!);
    }
  } finally {
    for (const fd of fds.values()) fs.closeSync(fd);
  }
  // No target: the range was only to be verified.
  if (task.target === NO_TARGET) return { ok: true, written: total };
  // The sink created the file; this thread opens it by path (never by the sink's descriptor,
  // which the sink may close on failure while a task is still running).
  const out = fs.openSync(task.target, 'r+');
  try {
    // Whole blocks of zeros: left as holes (sparse), or zeroed in place without being written
    // (dense, where the file system can), or written like the rest.
    const zeroing = !task.sparse && nativeModule !== undefined && zeroRangeWorks;
    const runs = task.sparse || zeroing ? zeroBlockRuns(plain, total, task.position) : [{ start: 0, end: total, hole: false }];
    for (const { start, end, hole } of runs) {
      if (hole && (task.sparse || zeroRange(out, task.position + start, end - start))) continue;
      for (let done = start; done < end; ) done += fs.writeSync(out, plain, done, end - done, task.position + done);
    }
  } finally {
    fs.closeSync(out);
  }
  return { ok: true, written: total };
}

/** False once the target's file system has said it cannot zero a range: from then on zeros are written. */
let zeroRangeWorks = true;

/**
 * Zeroes a whole-block range of the file in place (fallocate ZERO_RANGE: allocated, not written):
 * a dense restore need not fill the page cache with a canister image's zero pages. False when the
 * file system cannot, and the caller writes them.
 */
function zeroRange(fd: number, position: number, length: number): boolean {
  const errno = nativeModule!.zeroRange(fd, position, length);
  if (errno === 0) return true;
  if (errno === os.constants.errno.EOPNOTSUPP || errno === os.constants.errno.ENOSYS || errno === os.constants.errno.EINVAL) {
    zeroRangeWorks = false;
    return false;
  }
  const name = getSystemErrorName(-errno);
  throw Object.assign(new Error(`${name}: cannot zero a range of the restored file`), { code: name, errno: -errno });
}

type ChunkFailure = { readonly index: number; readonly reason: string };

/** Opens a run's chunks, read back to back into `stored` (`got` bytes of it), one by one into `plain`. */
function openRun(task: WriteTask, members: readonly number[], stored: Buffer, got: number, plain: Buffer, at: Float64Array): ChunkFailure | undefined {
  const { refs } = task;
  let from = 0;
  for (const j of members) {
    const r = j * REF_FIELDS;
    const length = refs[r + 2]!;
    if (from + length > got) return { index: j, reason: 'is truncated' };
    const key = refs[r + 5]!;
    const sealedWith = key >= 0 ? task.keys[key] : undefined;
    const reason = openChunk(stored.subarray(from, from + length), sealedWith ? undefined : task.checksums[j]!, idOf(task, j), refs[r + 4]!, sealedWith, plain.subarray(at[j]!, at[j + 1]!));
    if (reason) return { index: j, reason };
    from += length;
  }
  return undefined;
}

/** True when every chunk of the run is sealed, with one key (one pack: one backup's data key). */
function sealedAlike(task: WriteTask, members: readonly number[]): boolean {
  const key = task.refs[members[0]! * REF_FIELDS + 5]!;
  return key >= 0 && members.every((j) => task.refs[j * REF_FIELDS + 5] === key);
}

/** Per-run tables for the native calls, grown as needed and reused. */
let runLengths = new Int32Array(0);
let runIds = new Uint8Array(0);
let runCodecs = new Uint8Array(0);
let runPlainOffsets = new Int32Array(0);
let runPlainLengths = new Int32Array(0);

/**
 * As openRun, for sealed chunks: every chunk of the run decrypted in place by one native call
 * (chunk-cipher.ts), each decompressed into `plain`, then their ids checked in one call (chunk-id.ts).
 */
function openRunNatively(task: ChunkTables<Int32Array | Float64Array>, members: readonly number[], stored: Buffer, got: number, plain: Buffer, at: Float64Array): ChunkFailure | undefined {
  const { refs } = task;
  if (runLengths.length < members.length) {
    runLengths = new Int32Array(members.length * 2);
    runIds = new Uint8Array(members.length * 2 * 32);
    runCodecs = new Uint8Array(members.length * 2);
    runPlainOffsets = new Int32Array(members.length * 2);
    runPlainLengths = new Int32Array(members.length * 2);
  }
  // The chunks wholly read; a short read fails at the first chunk it cut, after those before it.
  let whole = 0;
  let total = 0;
  for (const j of members) {
    const length = refs[j * REF_FIELDS + 2]!;
    if (total + length > got) break;
    runLengths[whole] = length;
    runIds.set(task.ids.subarray(j * 32, j * 32 + 32), whole * 32);
    // An unknown codec fails here as on the other path (a newer writer's), not as a wrong tag.
    runCodecs[whole] = codecByte(codecFromByte(refs[j * REF_FIELDS + 4]!));
    total += length;
    whole++;
  }
  const key = task.keys[refs[members[0]! * REF_FIELDS + 5]!]!;
  const unopened = nativeChunkCipher!.openInPlace(key, stored.subarray(0, total), runLengths.subarray(0, whole), runIds.subarray(0, whole * 32), runCodecs.subarray(0, whole));
  if (unopened >= 0) return { index: members[unopened]!, reason: FAILS_AUTHENTICATION };
  let from = 0;
  let decompressed = 0;
  let failed: ChunkFailure | undefined;
  for (; decompressed < whole; decompressed++) {
    const j = members[decompressed]!;
    const length = runLengths[decompressed]!;
    const reason = decompress(stored.subarray(from + 12, from + length - 16), runCodecs[decompressed]!, plain.subarray(at[j]!, at[j + 1]!));
    if (reason) {
      failed = { index: j, reason };
      break;
    }
    runPlainOffsets[decompressed] = at[j]!;
    runPlainLengths[decompressed] = at[j + 1]! - at[j]!;
    from += length;
  }
  // A wrong id before the chunk that failed (or was cut short) is the run's first failure.
  const mismatch = hasher.firstMismatch(plain, runPlainOffsets.subarray(0, decompressed), runPlainLengths.subarray(0, decompressed), runIds.subarray(0, decompressed * 32));
  if (mismatch >= 0) return { index: members[mismatch]!, reason: CONTENT_MISMATCH };
  if (failed) return failed;
  return whole < members.length ? { index: members[whole]!, reason: 'is truncated' } : undefined;
}

function idOf(task: ChunkTables<Int32Array | Float64Array>, j: number): Buffer {
  return Buffer.from(task.ids.buffer, task.ids.byteOffset + j * 32, 32);
}

serve(configure, (task: RestoreTask) => (task.kind === 'write' ? { result: write(task) } : open(task)));
