// PositionalRestoreSource (src/sources/positional-restore.ts) through restore(): with workers, a
// file sink over a local repository gets its bytes written in place by the workers (the sink sees
// `written` records), byte-identical; a damaged copy falls back to another copy on the record
// path; with no good copy the restore fails naming entry and offset and leaves nothing behind.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { LocalBackend } from '../src/backend/local.js';
import { backup } from '../src/backup.js';
import { open, seal } from '../src/crypto/aead.js';
import type { ChunkLocation } from '../src/repository/chunk-index.js';
import { Repository } from '../src/repository/repository.js';
import { restore } from '../src/restore.js';
import { chunkAad } from '../src/stages/encrypt.js';
import { DirectorySink, FileSink } from '../src/sinks/files.js';
import { VerifySink } from '../src/sinks/verify.js';
import { ProjectSource } from '../src/sources/project.js';
import type { PipelineRecord } from '../src/types.js';
import { bufferSource } from './helpers/pipeline.js';
import { seededBytes, tempDir } from './helpers/tmp.js';

process.env.AGENTVAULT_SCRYPT_LOG_N ??= '12';

/** Zero pages repeated far apart, random and text parts: several 1 MiB ranges. */
function image(): Buffer {
  const text = Buffer.from('{"id":1,"owner":"alice","balance":42}\n'.repeat(40_000));
  return Buffer.concat([Buffer.alloc(300_000), seededBytes(5 << 20, 1), Buffer.alloc(200_000), text, seededBytes(3 << 20, 2), Buffer.alloc(1 << 20), text.subarray(7)]);
}

/** Counts what reaches a sink: chunk records written in place, and chunk records with plaintext. */
function counting<T extends FileSink | DirectorySink>(sink: T): T & { written: number; plaintext: number } {
  const counted = Object.assign(sink, { written: 0, plaintext: 0 });
  const write = sink._write.bind(sink);
  counted._write = (record: PipelineRecord, encoding, callback) => {
    if (record.type === 'chunk') {
      if (record.written) counted.written += record.size;
      else counted.plaintext += record.size;
    }
    write(record, encoding, callback);
  };
  return counted;
}

async function setup(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t);
  const repository = await Repository.init(new LocalBackend(path.join(dir, 'repo')), { encryption: 'aes-256-gcm', password: 'pw' });
  return { dir, repository };
}

test('with workers, a file restore is written in place by the workers, byte-identical', async (t) => {
  const { dir, repository } = await setup(t);
  const data = image();
  const { manifest } = await backup({ repository, source: bufferSource(data, 'heap'), workers: 2 });
  const target = path.join(dir, 'out.bin');
  const sink = counting(new FileSink(target));
  await restore({ repository, manifest, sink, workers: 2 });
  assert.ok(fs.readFileSync(target).equals(data), 'restored bytes differ');
  assert.equal(sink.written, data.length, 'every byte was written in place');
  assert.equal(sink.plaintext, 0);

  // positional: false sends the plaintext through the sink instead, to the same bytes.
  const viaRecords = counting(new FileSink(path.join(dir, 'records.bin')));
  await restore({ repository, manifest, sink: viaRecords, workers: 2, positional: false });
  assert.equal(viaRecords.written, 0);
  assert.equal(viaRecords.plaintext, data.length);
  assert.ok(fs.readFileSync(path.join(dir, 'records.bin')).equals(data));
});

test('sparse: whole zero blocks become holes, in place and on the record path; the content and the length are the same', async (t) => {
  const { dir, repository } = await setup(t);
  // Zero runs at the start, inside, and at the very end, up to a block boundary: nothing is
  // written there, so only the sink's final truncate gives the file its length.
  const head = image();
  const data = Buffer.concat([head, Buffer.alloc((1 << 20) + 4096 - (head.length % 4096))]);
  const { manifest } = await backup({ repository, source: bufferSource(data, 'heap'), workers: 2 });
  const zeroBytes = 300_000 + 200_000 + (1 << 20) + (1 << 20);
  const allocated = (file: string) => fs.statSync(file).blocks * 512;

  const dense = path.join(dir, 'dense.bin');
  await restore({ repository, manifest, sink: new FileSink(dense), workers: 2 });
  assert.ok(allocated(dense) >= data.length, 'not sparse unless asked');

  for (const positional of [true, false]) {
    const target = path.join(dir, `sparse-${positional}.bin`);
    const sink = counting(new FileSink(target, { sparse: true }));
    await restore({ repository, manifest, sink, workers: 2, positional });
    assert.equal(positional ? sink.written : sink.plaintext, data.length, positional ? 'written in place' : 'through the sink');
    assert.equal(fs.statSync(target).size, data.length);
    assert.ok(fs.readFileSync(target).equals(data), 'restored bytes differ');
    // Holes only for whole 4 KiB blocks: in place, each zero run loses at most a block at either
    // end; through the sink, chunk by chunk, also a block where a chunk boundary splits one.
    const slack = positional ? 4 * 2 * 4096 : zeroBytes / 8;
    assert.ok(allocated(target) <= data.length - zeroBytes + slack, `positional ${positional}: ${allocated(target)} bytes allocated for ${data.length - zeroBytes} non-zero`);
  }
});

test('a directory restore in place: several files, an empty one, a symlink, modes', async (t) => {
  const { dir, repository } = await setup(t);
  const project = path.join(dir, 'project');
  fs.mkdirSync(path.join(project, 'sub'), { recursive: true });
  const big = image();
  fs.writeFileSync(path.join(project, 'package.json'), '{"name":"p"}\n');
  fs.writeFileSync(path.join(project, 'big.bin'), big);
  fs.writeFileSync(path.join(project, 'sub', 'small.txt'), 'hello\n');
  fs.writeFileSync(path.join(project, 'empty'), '');
  fs.chmodSync(path.join(project, 'sub', 'small.txt'), 0o640);
  fs.symlinkSync('sub/small.txt', path.join(project, 'link'));
  const { manifest } = await backup({ repository, source: await ProjectSource.open(project), workers: 2 });
  const target = path.join(dir, 'restored');
  const sink = counting(new DirectorySink(target));
  await restore({ repository, manifest, sink, workers: 2 });
  assert.ok(fs.readFileSync(path.join(target, 'big.bin')).equals(big));
  assert.equal(fs.readFileSync(path.join(target, 'sub', 'small.txt'), 'utf8'), 'hello\n');
  assert.equal(fs.statSync(path.join(target, 'sub', 'small.txt')).mode & 0o777, 0o640);
  assert.equal(fs.statSync(path.join(target, 'empty')).size, 0);
  assert.equal(fs.readlinkSync(path.join(target, 'link')), 'sub/small.txt');
  assert.equal(sink.written, big.length + 6 + 13);
  assert.equal(sink.plaintext, 0);
});

/**
 * Rewrites, in its pack file, the first stored copy of the first chunk of the backup's only entry
 * that ends after `offset` and that `wanted` accepts: `change` gets the pack's bytes, the chunk's id
 * and its location.
 */
async function changeFirstCopy(
  repository: Repository,
  dir: string,
  manifestId: string,
  offset: number,
  wanted: (location: ChunkLocation) => boolean,
  change: (pack: Buffer, id: Buffer, location: ChunkLocation) => void,
): Promise<void> {
  const manifest = await repository.readManifest(manifestId);
  const index = await repository.loadIndex();
  let at = 0;
  const refs = manifest.entries[0]!.chunks;
  for (let i = 0; i < refs.length; i += 36) {
    const size = refs.readUInt32LE(i + 32);
    const id = refs.subarray(i, i + 32);
    const location = index.locations(id)[0]!;
    if (at + size > offset && wanted(location)) {
      const pack = new LocalBackend(path.join(dir, 'repo')).localPath('pack', location.packId);
      const bytes = fs.readFileSync(pack);
      change(bytes, id, location);
      fs.writeFileSync(pack, bytes);
      return;
    }
    at += size;
  }
  throw new Error(`no such chunk at or after ${offset}`);
}

/** Flips a byte in the middle of the first stored copy of the chunk at `offset`: it no longer authenticates. */
async function damageFirstCopy(repository: Repository, dir: string, manifestId: string, offset: number): Promise<void> {
  await changeFirstCopy(repository, dir, manifestId, offset, () => true, (pack, _id, location) => {
    pack[location.offset + (location.storedLength >> 1)] ^= 0x40;
  });
}

/**
 * Changes one byte of the plaintext of the first stored-raw chunk at or after `offset`, and seals
 * it again with the backup's data key, the same id and codec: it still authenticates, only its id
 * no longer matches its content (what a faulty writer would leave).
 */
async function resealFirstRawCopyChanged(repository: Repository, dir: string, manifestId: string, offset: number): Promise<void> {
  await changeFirstCopy(repository, dir, manifestId, offset, (location) => location.codec === 'none', (pack, id, location) => {
    const key = repository.dataKey(location.wrappedKey!);
    const plain = open(key, pack.subarray(location.offset, location.offset + location.storedLength), chunkAad(id, 'none'));
    plain[plain.length >> 1] ^= 0x40;
    seal(key, plain, chunkAad(id, 'none')).copy(pack, location.offset);
  });
}

/**
 * Backs `image()` up twice (a second full backup stores its own copy of every chunk), spoils the
 * first copy of the chunk at 2 MiB with `spoil`, and restores the first backup in place: the
 * restored bytes must be the image's, with one range (1 MiB) gone the record path to the good copy.
 */
async function restoresFromTheGoodCopy(t: Parameters<typeof tempDir>[0], spoil: typeof damageFirstCopy): Promise<void> {
  const { dir, repository } = await setup(t);
  const data = image();
  const first = await backup({ repository, source: bufferSource(data, 'heap'), workers: 2 });
  await backup({ repository, source: bufferSource(data, 'heap'), workers: 2, type: 'full' });
  await spoil(repository, dir, first.manifest.id, 2 << 20);
  const reopened = await Repository.open(new LocalBackend(path.join(dir, 'repo')), { password: 'pw' });
  const target = path.join(dir, 'out.bin');
  const sink = counting(new FileSink(target));
  await restore({ repository: reopened, manifest: first.manifest, sink, workers: 2 });
  assert.ok(fs.readFileSync(target).equals(data), 'restored bytes differ');
  assert.ok(sink.plaintext > 0 && sink.plaintext <= (1 << 20) + (64 << 10), `one range (1 MiB) went the record path: ${sink.plaintext}`);
  assert.equal(sink.written + sink.plaintext, data.length);
}

test('a chunk that authenticates but is not its id\'s content is caught in place: its range falls back to the good copy', async (t) => {
  await restoresFromTheGoodCopy(t, resealFirstRawCopyChanged);
});

test('a damaged copy in one range: that range falls back to the good copy, the rest is written in place', async (t) => {
  await restoresFromTheGoodCopy(t, damageFirstCopy);
});

test('a damaged chunk with no other copy fails naming entry and offset, and leaves no file', async (t) => {
  const { dir, repository } = await setup(t);
  const data = image();
  const { manifest } = await backup({ repository, source: bufferSource(data, 'heap'), workers: 2 });
  await damageFirstCopy(repository, dir, manifest.id, 2 << 20);
  const reopened = await Repository.open(new LocalBackend(path.join(dir, 'repo')), { password: 'pw' });
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  await assert.rejects(restore({ repository: reopened, manifest, sink: new FileSink(path.join(out, 'heap.bin')), workers: 2 }), (err: Error) => {
    assert.match(err.message, new RegExp(`^backup ${manifest.id}: the chunk at offset (\\d+) of entry "heap" cannot be read: checksum mismatch`));
    const offset = Number(/offset (\d+)/.exec(err.message)![1]);
    assert.ok(offset <= 2 << 20 && offset > (2 << 20) - (64 << 10), `the damaged chunk's offset: ${offset}`);
    return true;
  });
  assert.deepEqual(fs.readdirSync(out), [], 'no target and no temp file');
});

test('VerifySink: every chunk is opened and counted, nothing is written; a damaged chunk fails it', async (t) => {
  const { dir, repository } = await setup(t);
  const data = image();
  const { manifest } = await backup({ repository, source: bufferSource(data, 'heap'), workers: 2 });
  for (const workers of [2, 0]) {
    const sink = new VerifySink();
    await restore({ repository, manifest, sink, workers });
    assert.equal(sink.bytes, data.length, `workers: ${workers}`);
  }
  await damageFirstCopy(repository, dir, manifest.id, 2 << 20);
  const reopened = await Repository.open(new LocalBackend(path.join(dir, 'repo')), { password: 'pw' });
  for (const workers of [2, 0]) {
    await assert.rejects(restore({ repository: reopened, manifest, sink: new VerifySink(), workers }), /offset \d+ of entry "heap".*checksum mismatch/, `workers: ${workers}`);
  }
});
