// Zeroing file ranges without writing them (native/zero-range.c), and the dense restores that use
// it for whole blocks of zeros: the content is the same, the file stays allocated (no holes, unlike
// --sparse), the zeroed blocks are unwritten extents (filefrag says so), and a file ending in zeros
// gets its full length; where the file system cannot (tmpfs), the zeros are written instead.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { LocalBackend } from '../src/backend/local.js';
import { backup } from '../src/backup.js';
import { Repository } from '../src/repository/repository.js';
import { restore } from '../src/restore.js';
import { FileSink } from '../src/sinks/files.js';
import { bufferSource } from './helpers/pipeline.js';
import { seededBytes, tempDir } from './helpers/tmp.js';
import { loadedNativeModule } from './helpers/native.js';

process.env.AGENTVAULT_SCRYPT_LOG_N ??= '12';

/** filefrag -v's extents with the "unwritten" flag: ranges the file system knows read as zeros. */
function unwrittenExtents(file: string): number {
  return execFileSync('filefrag', ['-v', file], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => /unwritten/.test(line)).length;
}

test('zeroRange: the range reads as zeros, stays allocated, and the rest is untouched', (t) => {
  const file = path.join(tempDir(t), 'f');
  const data = seededBytes(64 << 10, 3);
  fs.writeFileSync(file, data);
  const fd = fs.openSync(file, 'r+');
  try {
    assert.equal(loadedNativeModule().zeroRange(fd, 8192, 16384), 0, 'the test file system (ext4 here) zeroes ranges');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  const expected = Buffer.from(data);
  expected.fill(0, 8192, 8192 + 16384);
  assert.ok(fs.readFileSync(file).equals(expected));
  const stat = fs.statSync(file);
  assert.equal(stat.size, 64 << 10);
  assert.ok(stat.blocks * 512 >= stat.size, 'no hole was made');
  assert.ok(unwrittenExtents(file) >= 1, 'the zeroed blocks are unwritten extents, not written zeros');
});

test('zeroRange past the end lengthens the file; a bad descriptor is an errno, bad arguments throw', (t) => {
  const file = path.join(tempDir(t), 'f');
  fs.writeFileSync(file, Buffer.alloc(4096, 7));
  const fd = fs.openSync(file, 'r+');
  try {
    assert.equal(loadedNativeModule().zeroRange(fd, 4096, 1 << 20), 0);
  } finally {
    fs.closeSync(fd);
  }
  assert.equal(fs.statSync(file).size, 4096 + (1 << 20));
  assert.equal(loadedNativeModule().zeroRange(fd, 0, 4096), os.constants.errno.EBADF, 'the closed descriptor');
  assert.throws(() => loadedNativeModule().zeroRange(-1, 0, 4096), RangeError);
  assert.throws(() => loadedNativeModule().zeroRange(3, -1, 4096), RangeError);
  assert.throws(() => loadedNativeModule().zeroRange(3, 0, 0), RangeError);
  assert.throws(() => loadedNativeModule().zeroRange('3' as unknown as number, 0, 4096), TypeError);
});

/** Backs `data` up and restores it densely to `target` through the workers; checks bytes and length. */
async function restoredDensely(t: Parameters<typeof tempDir>[0], data: Buffer, target: string): Promise<fs.Stats> {
  const repository = await Repository.init(new LocalBackend(path.join(tempDir(t), 'repo')), { encryption: 'aes-256-gcm', password: 'pw' });
  const { manifest } = await backup({ repository, source: bufferSource(data, 'heap'), workers: 2 });
  await restore({ repository, manifest, sink: new FileSink(target), workers: 2 });
  assert.ok(fs.readFileSync(target).equals(data), 'restored bytes differ');
  const stat = fs.statSync(target);
  assert.equal(stat.size, data.length);
  return stat;
}

test('a dense restore zeroes whole zero blocks in place: same bytes, no holes, unwritten extents, full length', async (t) => {
  loadedNativeModule();
  const text = Buffer.from('{"id":1,"owner":"alice","balance":42}\n'.repeat(20_000));
  // Zeros at the start, between data, and at the very end, to a whole block: there nothing is
  // written at all, and only the zeroing gives the file its length.
  const body = Buffer.concat([Buffer.alloc(300_000), seededBytes(3 << 20, 1), Buffer.alloc(1 << 20), text, seededBytes(100_003, 2)]);
  const data = Buffer.concat([body, Buffer.alloc((2 << 20) + 4096 - (body.length % 4096))]);
  assert.equal(data.length % 4096, 0);
  const target = path.join(tempDir(t), 'out.bin');
  const stat = await restoredDensely(t, data, target);
  assert.ok(stat.blocks * 512 >= stat.size, 'a dense restore leaves no holes');
  assert.ok(unwrittenExtents(target) >= 1, 'zero blocks were zeroed in place, not written');
});

test('where the file system cannot zero a range (tmpfs: EOPNOTSUPP), a dense restore writes the zeros: same bytes, no holes', async (t) => {
  loadedNativeModule();
  // /dev/shm is tmpfs, which has no FALLOC_FL_ZERO_RANGE: the restore worker's fallback.
  const shm = fs.mkdtempSync(path.join('/dev/shm', 'agentvault-test-'));
  t.after(() => fs.rmSync(shm, { recursive: true, force: true }));
  const probe = path.join(shm, 'probe');
  fs.writeFileSync(probe, Buffer.alloc(8192, 1));
  const fd = fs.openSync(probe, 'r+');
  try {
    assert.equal(loadedNativeModule().zeroRange(fd, 0, 4096), os.constants.errno.EOPNOTSUPP, 'tmpfs answers EOPNOTSUPP (the premise of this test)');
  } finally {
    fs.closeSync(fd);
  }
  assert.ok(fs.readFileSync(probe).equals(Buffer.alloc(8192, 1)), 'a refused zeroRange changes nothing');

  const data = Buffer.concat([seededBytes(1 << 20, 5), Buffer.alloc(2 << 20), seededBytes(300_001, 6), Buffer.alloc(1 << 20)]);
  const stat = await restoredDensely(t, data, path.join(shm, 'out.bin'));
  assert.ok(stat.blocks * 512 >= stat.size, 'the zeros were written: no holes');
});
