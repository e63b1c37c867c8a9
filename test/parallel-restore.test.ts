// ParallelRestoreStage (src/stages/parallel-restore.ts) through restore() with two workers: zero
// pages and other small chunks repeated far apart (in other batches) come back byte-identical, and
// a damaged stored chunk still fails the restore even when it is repeated.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { LocalBackend } from '../src/backend/local.js';
import { backup } from '../src/backup.js';
import { Repository } from '../src/repository/repository.js';
import { StdinSource } from '../src/sources/stdin.js';
import { seededBytes, tempDir } from './helpers/tmp.js';
import { restoreToBuffer } from './helpers/pipeline.js';

const restoreWithWorkers = (repository: Repository, id: string) => restoreToBuffer(repository, id, { workers: 2 });

process.env.AGENTVAULT_SCRYPT_LOG_N ??= '12';

function image(): Buffer {
  const text = Buffer.from('{"id":1,"owner":"alice"}\n'.repeat(3000));
  return Buffer.concat([Buffer.alloc(256 << 10), seededBytes(3 << 20, 1), Buffer.alloc(128 << 10), text, seededBytes(2 << 20, 2), Buffer.alloc(64 << 10), text, Buffer.alloc(300_000)]);
}

test('repeated chunks far apart restore byte-identical through the workers', async (t) => {
  const repository = await Repository.init(new LocalBackend(path.join(tempDir(t), 'repo')), { encryption: 'aes-256-gcm', password: 'pw' });
  const data = image();
  const { manifest } = await backup({ repository, source: new StdinSource(Readable.from([data]), { name: 'heap' }), workers: 2 });
  assert.ok(manifest.stats.chunks >= manifest.stats.newChunks + 5, `the image repeats chunks: ${JSON.stringify(manifest.stats)}`);
  assert.ok((await restoreWithWorkers(repository, manifest.id)).equals(data));
});

test('a damaged stored chunk fails the restore even where it repeats', async (t) => {
  const dir = path.join(tempDir(t), 'repo');
  const repository = await Repository.init(new LocalBackend(dir), { encryption: 'aes-256-gcm', password: 'pw' });
  const data = image();
  const { manifest } = await backup({ repository, source: new StdinSource(Readable.from([data]), { name: 'heap' }), workers: 2 });
  // The zero chunk is the smallest stored chunk: flip a byte of it in its pack.
  const index = await repository.loadIndex();
  const zeroId = [...index.packs()].flatMap((p) => p.entries.map((e) => ({ e, p }))).sort((a, b) => a.e.storedLength - b.e.storedLength)[0]!;
  const packFile = fs.readdirSync(path.join(dir, 'packs'), { recursive: true, encoding: 'utf8' }).find((f) => f.endsWith(zeroId.p.packId))!;
  const full = path.join(dir, 'packs', packFile);
  const bytes = fs.readFileSync(full);
  bytes[zeroId.e.offset + 20] ^= 0x01;
  fs.writeFileSync(full, bytes);
  const reopened = await Repository.open(new LocalBackend(dir), { password: 'pw' });
  await assert.rejects(restoreWithWorkers(reopened, manifest.id), /corrupt|checksum|cannot be read/i);
});
