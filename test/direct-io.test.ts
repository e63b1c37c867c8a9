// Direct writes (src/backend/direct-io.ts): which bytes may bypass the page cache, and a local
// store's pending files writing them that way — with the same bytes on disk as without.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { FileType, PendingFile, WritableStore } from '../src/backend/backend.js';
import { alignedBuffer, DIRECT_IO_BLOCK, directPrefix } from '../src/backend/direct-io.js';
import { LocalBackend, type LocalPendingFile } from '../src/backend/local.js';
import { xxh64 } from '../src/crypto/checksum.js';
import { ByteReader, ByteWriter } from '../src/repository/binary.js';
import { readPackContents, writePackContentsTable } from '../src/repository/pack-format.js';
import { PackWriter } from '../src/repository/pack-writer.js';
import { seededBytes, tempDir } from './helpers/tmp.js';

const B = DIRECT_IO_BLOCK;

/** Whether the filesystem under `dir` takes O_DIRECT (tmpfs did not before Linux 6.6). */
function filesystemTakesDirectIo(dir: string): boolean {
  const probe = path.join(dir, 'probe');
  try {
    fs.closeSync(fs.openSync(probe, fs.constants.O_WRONLY | fs.constants.O_CREAT | (fs.constants.O_DIRECT ?? 0)));
    return fs.constants.O_DIRECT !== undefined;
  } catch {
    return false;
  } finally {
    fs.rmSync(probe, { force: true });
  }
}

test('directPrefix: whole blocks of an aligned buffer at an aligned offset, nothing otherwise', () => {
  const aligned = alignedBuffer(4 * B);
  assert.equal(aligned.length, 4 * B);
  assert.equal(directPrefix(aligned, 0), 4 * B);
  assert.equal(directPrefix(aligned.subarray(0, 2 * B + 100), 8 * B), 2 * B, 'the partial last block is left');
  assert.equal(directPrefix(aligned.subarray(B, 3 * B), 0), 2 * B, 'a view starting on a block boundary');
  assert.equal(directPrefix(aligned.subarray(100), 0), 0, 'a view starting inside a block');
  assert.equal(directPrefix(aligned, 100), 0, 'an unaligned file offset');
  assert.equal(directPrefix(aligned.subarray(0, B - 1), 0), 0, 'less than a block');
  assert.equal(directPrefix(Buffer.alloc(4 * B), 0), 0, 'memory of unknown alignment');
});

test('a local pending file writes aligned blocks direct and the rest through the page cache, the same bytes either way', async (t) => {
  const dir = tempDir(t);
  const direct = filesystemTakesDirectIo(dir);
  const head = alignedBuffer(3 * B);
  seededBytes(3 * B, 1).copy(head);
  const tail = seededBytes(B + 100, 2); // not aligned memory: always through the page cache
  const last = alignedBuffer(2 * B);
  seededBytes(2 * B, 3).copy(last); // aligned memory at an unaligned offset: through the page cache
  const expected = Buffer.concat([head, tail, last]);

  for (const directIo of [true, false]) {
    const backend = new LocalBackend(path.join(dir, `repo-${directIo}`), { directIo });
    await backend.initialize();
    const file: LocalPendingFile = await backend.create('pack', `p${directIo}`);
    for (const part of [head, tail, last]) {
      await file.write(part);
      await file.flush();
    }
    await file.commit();
    assert.deepEqual(await backend.read('pack', `p${directIo}`), expected);
    assert.equal(file.directBytes, directIo && direct ? 3 * B : 0, `directIo ${directIo}, filesystem takes O_DIRECT: ${direct}`);
  }
});

test('direct writes are off unless asked for', async (t) => {
  const backend = new LocalBackend(path.join(tempDir(t), 'repo'));
  await backend.initialize();
  const file = await backend.create('pack', 'plain');
  await file.write(alignedBuffer(2 * B));
  await file.flush();
  await file.commit();
  assert.equal(file.directBytes, 0);
});

test('an aborted file with direct writes leaves nothing behind', async (t) => {
  const backend = new LocalBackend(path.join(tempDir(t), 'repo'), { directIo: true });
  await backend.initialize();
  const file = await backend.create('pack', 'dropped');
  await file.write(alignedBuffer(2 * B));
  await file.flush();
  await file.abort();
  assert.deepEqual(fs.readdirSync(path.join(backend.location, 'tmp')), []);
  await assert.rejects(backend.read('pack', 'dropped'), /not found|no such|ENOENT|missing/i);
});

/** A local store that keeps the pending files it hands out, to see how they were written. */
class WatchedStore implements WritableStore {
  readonly files: LocalPendingFile[] = [];
  constructor(readonly inner: LocalBackend) {}
  get location(): string {
    return this.inner.location;
  }
  async create(type: FileType, name: string): Promise<PendingFile> {
    const file = await this.inner.create(type, name);
    this.files.push(file);
    return file;
  }
  write(type: FileType, name: string, bytes: Uint8Array, options?: { exclusive?: boolean }): Promise<void> {
    return this.inner.write(type, name, bytes, options);
  }
  read(type: FileType, name: string): Promise<Buffer> {
    return this.inner.read(type, name);
  }
  readRange(type: FileType, name: string, offset: number, length: number): Promise<Buffer> {
    return this.inner.readRange(type, name, offset, length);
  }
  openFile(type: FileType, name: string): ReturnType<LocalBackend['openFile']> {
    return this.inner.openFile(type, name);
  }
  stat(type: FileType, name: string): ReturnType<LocalBackend['stat']> {
    return this.inner.stat(type, name);
  }
  list(type: FileType): ReturnType<LocalBackend['list']> {
    return this.inner.list(type);
  }
}

test('a pack\'s blobs go direct, all but the last partial block (and the trailer, written later)', async (t) => {
  const dir = tempDir(t);
  const backend = new LocalBackend(path.join(dir, 'repo'), { directIo: true });
  await backend.initialize();
  const store = new WatchedStore(backend);
  const bufferBytes = 256 << 10;
  const writer = new PackWriter(store, { packSize: 1 << 20, bufferBytes });
  const blobs: Buffer[] = [];
  for (let i = 0; i < 40; i++) {
    const stored = seededBytes(20_000 + i * 97, i + 1);
    blobs.push(stored);
    await writer.add({ id: Buffer.alloc(32, i + 1), stored, plainLength: stored.length, codec: 'none', checksum: xxh64(stored), wrappedKey: undefined });
  }
  await writer.close();
  const packs = writer.takeDurable();
  assert.equal(packs.length, store.files.length);
  const direct = filesystemTakesDirectIo(dir);
  let found = 0;
  for (const [i, pack] of packs.entries()) {
    const bytes = await backend.read('pack', pack.packId);
    assert.equal(bytes.length, pack.size);
    const w = new ByteWriter();
    writePackContentsTable(w, pack.keys, pack.table);
    let blobsEnd = 0;
    for (const entry of readPackContents(new ByteReader(w.finish(), 'pack contents')).entries) {
      blobsEnd = Math.max(blobsEnd, entry.offset + entry.storedLength);
      assert.deepEqual(bytes.subarray(entry.offset, entry.offset + entry.storedLength), blobs[entry.id[0]! - 1], `pack ${i}, blob ${entry.id[0]}`);
      found++;
    }
    assert.ok(blobsEnd > bufferBytes, 'each pack spans more than one write buffer');
    const expected = direct ? blobsEnd - (blobsEnd % B) : 0;
    assert.equal(store.files[i]!.directBytes, expected, `pack ${i} of ${pack.size} bytes`);
  }
  assert.equal(found, blobs.length);
});
