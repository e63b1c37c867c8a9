// The pack writer (src/repository/pack-writer.ts) streams stored chunks into pack files on a real
// local backend: packs close at their size, read back blob for blob through their trailers, are
// only reported once durable, and nothing of a dropped pack is left behind.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { FileType, PendingFile } from '../src/backend/backend.js';
import { LocalBackend } from '../src/backend/local.js';
import { xxh64 } from '../src/crypto/checksum.js';
import { ByteReader, ByteWriter } from '../src/repository/binary.js';
import type { IndexedPackTable } from '../src/repository/index-format.js';
import { checkPackHeader, PACK_HEADER_LENGTH, PACK_TAIL_LENGTH, parsePackTail, parsePackTrailerBody, readPackContents, writePackContentsTable, type PackItem } from '../src/repository/pack-format.js';
import { PackWriter } from '../src/repository/pack-writer.js';
import { seededBytes, tempDir } from './helpers/tmp.js';

async function packNames(backend: LocalBackend): Promise<string[]> {
  const names: string[] = [];
  for await (const f of backend.list('pack')) names.push(f.name);
  return names;
}

async function store(t: Parameters<typeof tempDir>[0]): Promise<LocalBackend> {
  const backend = new LocalBackend(path.join(tempDir(t), 'repo'));
  await backend.initialize();
  return backend;
}

function item(n: number, stored: Buffer, wrappedKey?: Buffer): PackItem {
  return { id: Buffer.alloc(32, n % 256).fill(n >> 8, 0, 1), stored, plainLength: stored.length + 7, codec: 'zstd', checksum: xxh64(stored), wrappedKey };
}

/** Reads a pack file back the way a repository does, checking what its index entry says. */
async function readBack(backend: LocalBackend, pack: IndexedPackTable, metaKey: Buffer | undefined): Promise<Map<string, Buffer>> {
  const bytes = await backend.read('pack', pack.packId);
  assert.equal(bytes.length, pack.size, `pack ${pack.packId}: size as reported`);
  checkPackHeader(bytes.subarray(0, PACK_HEADER_LENGTH), pack.packId);
  const { bodyLength, checksum } = parsePackTail(bytes.subarray(bytes.length - PACK_TAIL_LENGTH), pack.packId, bytes.length);
  const contents = parsePackTrailerBody(bytes.subarray(bytes.length - PACK_TAIL_LENGTH - bodyLength, bytes.length - PACK_TAIL_LENGTH), checksum, pack.packId, metaKey);
  // What the index file will list, decoded the way a reader decodes it.
  const w = new ByteWriter();
  writePackContentsTable(w, pack.keys, pack.table);
  const indexed = readPackContents(new ByteReader(w.finish(), 'index entries'));
  assert.deepEqual(contents.entries, indexed.entries, 'the trailer lists what the index will');
  assert.deepEqual(contents.keys, indexed.keys);
  return new Map(contents.entries.map((e) => [e.id.toString('hex'), bytes.subarray(e.offset, e.offset + e.storedLength)]));
}

for (const encrypted of [false, true]) {
  test(`${encrypted ? 'encrypted' : 'plain'} trailers: blobs spanning write buffers and packs read back byte for byte`, async (t) => {
    const backend = await store(t);
    const metaKey = encrypted ? randomBytes(32) : undefined;
    const wrappedKey = encrypted ? randomBytes(80) : undefined;
    const packSize = 64 << 10;
    const writer = new PackWriter(backend, { packSize, bufferBytes: 5000, ...(metaKey ? { metaKey } : {}) });
    const expected = new Map<string, Buffer>();
    // One scratch buffer for every blob: the writer has copied a blob once add() resolves.
    const scratch = Buffer.alloc(20_000);
    const durable: IndexedPackTable[] = [];
    for (let n = 0; n < 120; n++) {
      const length = [1, 4999, 5000, 5001, 12_345, 20_000][n % 6]!;
      const blob = seededBytes(length, n + 1);
      blob.copy(scratch);
      const it = item(n, scratch.subarray(0, length), wrappedKey);
      expected.set(it.id.toString('hex'), blob);
      await writer.add(it);
      scratch.fill(0xee);
      durable.push(...writer.takeDurable());
    }
    await writer.close();
    durable.push(...writer.takeDurable());
    assert.ok(durable.length >= 10, `many packs (${durable.length})`);
    const found = new Map<string, Buffer>();
    for (const pack of durable) {
      assert.ok(pack.size - PACK_TAIL_LENGTH < packSize + 20_000 + 4096, 'a pack closes once it reaches its size');
      for (const [id, bytes] of await readBack(backend, pack, metaKey)) found.set(id, bytes);
    }
    assert.equal(found.size, expected.size);
    for (const [id, bytes] of expected) assert.ok(found.get(id)!.equals(bytes), `blob ${id.slice(0, 8)}`);
    assert.deepEqual(fs.readdirSync(path.join(backend.location, 'tmp')), [], 'no temp file left');
  });
}

/** The real backend, with `commit` of each pack file wrapped (a slow disk, a full one). */
function withCommit(backend: LocalBackend, commit: (file: PendingFile, n: number) => Promise<void>): LocalBackend {
  let creates = 0;
  return Object.assign(Object.create(backend) as LocalBackend, {
    async create(type: FileType, name: string): Promise<PendingFile> {
      const file = await backend.create(type, name);
      const n = ++creates;
      return {
        write: (b: Uint8Array) => file.write(b),
        flush: () => file.flush(),
        get size() {
          return file.size;
        },
        commit: () => commit(file, n),
        abort: () => file.abort(),
      };
    },
  });
}

test('a pack is reported only once it is under its name, and abort leaves nothing of the pack being written', async (t) => {
  const backend = await store(t);
  let syncing = 0;
  const slow = withCommit(backend, async (file) => {
    syncing++;
    await new Promise((resolve) => setTimeout(resolve, 150));
    await file.commit();
    syncing--;
  });
  const writer = new PackWriter(slow, { packSize: 10_000, bufferBytes: 4096 });
  // 5 blobs of 3000: one full pack (closed after the 4th), and one being written.
  for (let n = 0; n < 5; n++) await writer.add(item(n, seededBytes(3000, n + 1)));
  assert.equal(syncing, 1, 'the full pack is syncing in the background');
  assert.deepEqual(writer.takeDurable(), [], 'not reported while it syncs');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const durable = writer.takeDurable();
  assert.equal(durable.length, 1);
  assert.ok(await backend.stat('pack', durable[0]!.packId), 'the reported pack is there');
  await writer.abort();
  assert.deepEqual(await packNames(backend), [durable[0]!.packId], 'only the finished pack');
  assert.deepEqual(fs.readdirSync(path.join(backend.location, 'tmp')), [], 'the dropped pack left no temp file');
});

test('a pack that fails to sync fails the writer, and is never reported', async (t) => {
  const backend = await store(t);
  // The second pack's commit fails as a full disk would.
  const failing = withCommit(backend, async (file, n) => {
    if (n !== 2) return file.commit();
    await file.abort();
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  });
  const writer = new PackWriter(failing, { packSize: 10_000, bufferBytes: 4096 });
  const added = (async () => {
    for (let n = 0; n < 40; n++) await writer.add(item(n, seededBytes(3000, n + 1)));
    await writer.close();
  })();
  await assert.rejects(added, /ENOSPC/);
  // As the repository sink does on a failure: the packs still being finished settle first.
  await writer.abort();
  const reported = writer.takeDurable().map((p) => p.packId);
  const onDisk = await packNames(backend);
  for (const id of reported) assert.ok(onDisk.includes(id), 'every reported pack exists');
  assert.equal(onDisk.length, reported.length, 'the failed pack is not there');
});
