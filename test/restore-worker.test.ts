// The restore worker's open task (src/workers/restore-worker.ts, the record path: stdout, canister
// and fallback restores), driven through a real worker thread: chunks sealed with several keys,
// and unsealed ones, in one batch come back as their plaintexts; and each way a chunk can be wrong
// is named by its index: a checksum that does not match, a tag that does not open, a chunk that
// authenticates but whose content is not its id (sealed with another chunk's id), and a body that
// does not decompress.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { seal } from '../src/crypto/aead.js';
import { checksumsReady, xxh64 } from '../src/crypto/checksum.js';
import { createChunkIdHasher } from '../src/crypto/chunk-id.js';
import { codecByte, createCodec } from '../src/codecs/index.js';
import { chunkAad } from '../src/stages/encrypt.js';
import type { CodecName } from '../src/types.js';
import { WorkerPool, workerScript } from '../src/workers/pool.js';
import { REF_FIELDS, type OpenResult, type OpenTask, type RestoreTask, type RestoreResult } from '../src/workers/restore-protocol.js';
import { seededBytes } from './helpers/tmp.js';

const idKey = randomBytes(32);
const hasher = createChunkIdHasher('blake3-keyed', idKey);
const zstd = createCodec('zstd', 3);

interface Chunk {
  plain: Buffer;
  /** The data key's number in the task's keys, or -1: stored unsealed. */
  key: number;
  codec: CodecName;
  /** To spoil the chunk: seal it under this id; store this body; flip the stored byte at
   * `damage` after its checksum is taken, or at `tamper` before. */
  id?: Buffer;
  body?: Buffer;
  damage?: number;
  tamper?: number;
}

/** An open task as parallel-restore.ts builds one: the stored chunks back to back in one transferred buffer. */
function taskOf(chunks: readonly Chunk[], keys: readonly Buffer[]): { task: OpenTask; transfer: ArrayBuffer[] } {
  const stored = chunks.map((c) => {
    const id = c.id ?? hasher.id(c.plain);
    const body = c.body ?? (c.codec === 'zstd' ? zstd.compress(c.plain) : c.plain);
    const bytes = c.key >= 0 ? seal(keys[c.key]!, body, chunkAad(id, c.codec)) : Buffer.from(body);
    if (c.tamper !== undefined) bytes[c.tamper]! ^= 0x01;
    const checksum = xxh64(bytes);
    if (c.damage !== undefined) bytes[c.damage]! ^= 0x01;
    return { id, bytes, checksum };
  });
  const packed = Buffer.from(new ArrayBuffer(stored.reduce((n, s) => n + s.bytes.length, 0)));
  const refs = new Int32Array(chunks.length * REF_FIELDS);
  const ids = new Uint8Array(chunks.length * 32);
  const checksums = new BigUint64Array(chunks.length);
  let at = 0;
  stored.forEach((s, i) => {
    s.bytes.copy(packed, at);
    refs.set([0, at, s.bytes.length, chunks[i]!.plain.length, codecByte(chunks[i]!.codec), chunks[i]!.key], i * REF_FIELDS);
    ids.set(s.id, i * 32);
    checksums[i] = s.checksum;
    at += s.bytes.length;
  });
  const task: OpenTask = { kind: 'open', buffers: [packed.buffer as ArrayBuffer], refs, checksums, ids, keys };
  return { task, transfer: [packed.buffer as ArrayBuffer] };
}

async function opened(pool: WorkerPool<RestoreTask, RestoreResult>, chunks: readonly Chunk[], keys: readonly Buffer[]): Promise<OpenResult> {
  const { task, transfer } = taskOf(chunks, keys);
  return (await pool.run(task, transfer)) as OpenResult;
}

function batch(): Chunk[] {
  const text = Buffer.from('{"id":3,"owner":"carol","balance":99}\n'.repeat(400));
  return [
    { plain: seededBytes(9000, 1), key: 0, codec: 'none' },
    { plain: text, key: 0, codec: 'zstd' },
    { plain: Buffer.alloc(20_000), key: 0, codec: 'zstd' },
    { plain: seededBytes(3000, 2), key: 1, codec: 'none' },
    { plain: text.subarray(5), key: -1, codec: 'zstd' },
    { plain: seededBytes(12_000, 3), key: -1, codec: 'none' },
    { plain: text.subarray(9), key: 1, codec: 'zstd' },
    { plain: seededBytes(5000, 4), key: 0, codec: 'none' },
  ];
}

test('an open task gives back the plaintexts of chunks sealed with two keys and of unsealed ones, and names each kind of bad chunk by its index', async (t) => {
  await checksumsReady;
  const pool = new WorkerPool<RestoreTask, RestoreResult>(workerScript('restore-worker'), 1, { chunkId: 'blake3-keyed', idKey });
  t.after(() => pool.close());
  const keys = [randomBytes(32), randomBytes(32)];

  const good = batch();
  const result = await opened(pool, good, keys);
  assert.ok(result.ok, JSON.stringify(result));
  assert.deepEqual([...result.lengths], good.map((c) => c.plain.length));
  assert.ok(Buffer.from(result.plain).equals(Buffer.concat(good.map((c) => c.plain))), 'the plaintexts, back to back');

  const spoiled = async (index: number, change: Partial<Chunk>) => {
    const chunks = batch();
    chunks[index] = { ...chunks[index]!, ...change };
    return opened(pool, chunks, keys);
  };
  // A stored byte changed after its checksum was taken: the checksum says so.
  assert.deepEqual(await spoiled(6, { damage: 40 }), { ok: false, index: 6, reason: 'is corrupt (checksum mismatch)' });
  // Changed before (the checksum agrees, as with a copy tampered with consistently): the tag says so.
  assert.deepEqual(await spoiled(1, { tamper: 30 }), { ok: false, index: 1, reason: 'fails authentication (corrupt or tampered)' });
  // Sealed under another chunk's id: it authenticates, but its content is not that id's.
  assert.deepEqual(await spoiled(7, { id: hasher.id(Buffer.from('another chunk')) }), { ok: false, index: 7, reason: 'is corrupt (content does not match its id)' });
  assert.deepEqual(await spoiled(5, { id: hasher.id(Buffer.from('another chunk')) }), { ok: false, index: 5, reason: 'is corrupt (content does not match its id)' });
  // A sealed body that is not a zstd frame.
  assert.deepEqual(await spoiled(2, { body: seededBytes(500, 9) }), { ok: false, index: 2, reason: 'does not decompress (zstd)' });
});
