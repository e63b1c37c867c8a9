// Every stage is a Duplex that works in node:stream/promises pipeline() with Node's own streams,
// honours AbortSignal, and reports progress through typed events.
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { Duplex, PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { test } from 'node:test';
import {
  backup,
  BackupStreamEncoder,
  ByteStreamSink,
  ChunkStage,
  CompressStage,
  HashStage,
  LocalBackend,
  ProgressStage,
  Repository,
  restoreBackupStream,
  StdinSource,
  type Progress,
} from '../src/index.js';
import { DEFAULT_CHUNKER, newConfig } from '../src/repository/config.js';
import { generateKeys, makePlainKeyFile } from '../src/repository/keys.js';
import { seededBytes, tempDir } from './helpers/tmp.js';

process.env.AGENTVAULT_SCRYPT_LOG_N ??= '12';

test('stages are Duplex streams and compose with zlib and fs in pipeline()', async (t) => {
  const keys = generateKeys();
  const config = newConfig({ encryption: 'none' });
  const stages = [new ChunkStage({ ...DEFAULT_CHUNKER, seed: keys.write.chunkerSeed }), new HashStage('blake3-keyed', keys.write.idKey), new CompressStage('zstd')];
  for (const s of stages) assert.ok(s instanceof Duplex);
  const data = seededBytes(300_000, 3);
  const encoder = new BackupStreamEncoder({
    config,
    keyFiles: [makePlainKeyFile(keys.write)],
    metaKey: undefined,
    backup: { id: '0000000000aa', created: new Date().toISOString(), type: 'full', parent: null, source: { kind: 'stdin', name: 'x' }, metadata: {}, compression: { codec: 'zstd', level: 3 } },
  });
  const file = path.join(tempDir(t), 'x.avb.gz');
  await pipeline([new StdinSource(Readable.from([data]), { name: 'x' }).records(), ...stages, encoder, zlib.createGzip(), fs.createWriteStream(file)]);

  const out: Buffer[] = [];
  await restoreBackupStream({
    input: fs.createReadStream(file).pipe(zlib.createGunzip()),
    credentials: {},
    sink: new ByteStreamSink(new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) })),
  });
  assert.ok(Buffer.concat(out).equals(data));
});

test('an AbortSignal stops a backup: it rejects with AbortError and writes no manifest', async (t) => {
  const repository = await Repository.init(new LocalBackend(path.join(tempDir(t), 'r')), { encryption: 'aes-256-gcm', password: 'pw' });
  const controller = new AbortController();
  const input = new PassThrough();
  input.write(seededBytes(200_000, 1));
  setTimeout(() => controller.abort(), 100);
  await assert.rejects(backup({ repository, source: new StdinSource(input, { name: 'never-ends' }), signal: controller.signal }), { name: 'AbortError' });
  assert.deepEqual(await repository.listBackupIds(), []);
});

test('ProgressStage emits typed progress events with bytes, total and entries', async () => {
  const events: Progress[] = [];
  const stage = new ProgressStage(undefined, { totalBytes: 10, intervalMs: 0 });
  stage.on('progress', (p) => events.push(p));
  await pipeline(
    Readable.from([
      { type: 'entry', entry: { index: 0, name: 'a', kind: 'file' } },
      { type: 'data', entry: 0, bytes: Buffer.alloc(4) },
      { type: 'data', entry: 0, bytes: Buffer.alloc(6) },
      { type: 'entry-end', entry: 0, size: 10 },
    ]),
    stage,
    new Writable({ objectMode: true, write: (_r, _e, cb) => cb() }),
  );
  const last = events.at(-1)!;
  assert.equal(last.bytes, 10);
  assert.equal(last.totalBytes, 10);
  assert.equal(last.entries, 1);
  assert.equal(last.currentEntry, 'a');
});
