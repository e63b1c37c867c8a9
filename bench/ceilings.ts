// Each stage's own ceiling, measured in the same process on the same data, next to the whole
// pipeline: chunker alone, keyed hash alone, zstd-3 alone, AES-256-GCM alone, disk write alone
// (each on one core), then backup() and restore() with the worker pool.
//
//   node --import tsx bench/ceilings.ts [--size-mib 256] [--guard]
//
// With --guard it exits 1 when the pipeline falls below half of zstd-alone's throughput (backup)
// or below a quarter of zstd-decompress-alone's (restore): ratios measured in one process, so a
// noisy machine slows both sides alike. This is the throughput guard CI can run.
import { createCipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Compressor, Decompressor } from 'zstd-napi';
import { LocalBackend } from '../src/backend/local.js';
import { backup } from '../src/backup.js';
import { FastCdc2020 } from '../src/chunker/fastcdc.js';
import { createChunkIdHasher } from '../src/crypto/chunk-id.js';
import { Repository } from '../src/repository/repository.js';
import { restore } from '../src/restore.js';
import { ByteStreamSink } from '../src/sinks/stream.js';
import { FileSource } from '../src/sources/file.js';
import { writeCanisterImage } from './data.js';
import { markdownTable, parseArgs, positiveInt } from './measure.js';

const args = parseArgs(process.argv.slice(2), ['size-mib', 'guard']);
const sizeMiB = positiveInt(args.get('size-mib')?.[0], 256, '--size-mib');
const guard = args.has('guard');
process.env.AGENTVAULT_SCRYPT_LOG_N ??= '14';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'agentvault-ceilings-'));
const image = path.join(work, 'image.bin');
await writeCanisterImage(image, sizeMiB, 42);
const data = fs.readFileSync(image);
const MB = 1 << 20;

/** Median MB/s of three timed runs of `fn` over `bytes`. */
async function rate(bytes: number, fn: () => unknown): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await fn();
    runs.push(bytes / MB / ((performance.now() - t) / 1000));
  }
  return runs.sort((a, b) => a - b)[1]!;
}

const chunker = new FastCdc2020({ min: 2048, avg: 8192, max: 65536, normalization: 2, seed: 7n });
const cuts: number[] = [];
const chunkMBs = await rate(data.length, () => {
  cuts.length = 0;
  for (let at = 0; at < data.length; ) {
    const n = chunker.cut(data, at, data.length, true);
    cuts.push(n);
    at += n;
  }
});
const hasher = createChunkIdHasher('blake3-keyed', randomBytes(32));
const hashMBs = await rate(data.length, () => {
  for (let at = 0, i = 0; at < data.length; at += cuts[i++]!) hasher.id(data.subarray(at, at + cuts[i]!));
});
const compressor = new Compressor();
compressor.setParameters({ compressionLevel: 3 });
const compressed: Buffer[] = [];
const zstdMBs = await rate(data.length, () => {
  compressed.length = 0;
  for (let at = 0, i = 0; at < data.length; at += cuts[i++]!) compressed.push(compressor.compress(data.subarray(at, at + cuts[i]!)));
});
const decompressor = new Decompressor();
const unzstdMBs = await rate(data.length, () => {
  for (const c of compressed) decompressor.decompress(c);
});
const key = randomBytes(32);
const gcmMBs = await rate(data.length, () => {
  for (let at = 0, i = 0; at < data.length; at += cuts[i++]!) {
    const c = createCipheriv('aes-256-gcm', key, randomBytes(12));
    c.update(data.subarray(at, at + cuts[i]!));
    c.final();
  }
});
const diskMBs = await rate(data.length, () => {
  const fd = fs.openSync(path.join(work, 'disk.bin'), 'w');
  for (let at = 0; at < data.length; at += 4 * MB) fs.writeSync(fd, data, at, Math.min(4 * MB, data.length - at));
  fs.fsyncSync(fd);
  fs.closeSync(fd);
});

const repository = await Repository.init(new LocalBackend(path.join(work, 'repo')), { encryption: 'aes-256-gcm', password: 'bench' });
let backupSeconds = 0;
let manifestId = '';
{
  const t = performance.now();
  const { manifest } = await backup({ repository, source: await FileSource.open(image), type: 'full' });
  backupSeconds = (performance.now() - t) / 1000;
  manifestId = manifest.id;
}
const backupMBs = data.length / MB / backupSeconds;
let restoreSeconds = 0;
{
  const manifest = await repository.readManifest(manifestId);
  const sink = new ByteStreamSink(new Writable({ write: (_c, _e, cb) => cb() }));
  const t = performance.now();
  await restore({ repository, manifest, sink });
  restoreSeconds = (performance.now() - t) / 1000;
}
const restoreMBs = data.length / MB / restoreSeconds;
fs.rmSync(work, { recursive: true, force: true });

const slowest = Math.min(chunkMBs, hashMBs, zstdMBs, gcmMBs, diskMBs);
const cores = Math.min(os.availableParallelism(), 4);
const rows = [
  ['chunker (FastCDC, 1 core)', chunkMBs.toFixed(0)],
  ['keyed BLAKE3 ids (1 core)', hashMBs.toFixed(0)],
  ['zstd level 3 (1 core)', zstdMBs.toFixed(0)],
  ['AES-256-GCM (1 core)', gcmMBs.toFixed(0)],
  ['disk write + fsync', diskMBs.toFixed(0)],
  ['zstd decompress (1 core)', unzstdMBs.toFixed(0)],
  [`backup() pipeline, ${cores} cores`, backupMBs.toFixed(0)],
  [`restore() pipeline, ${cores} cores`, restoreMBs.toFixed(0)],
];
console.log(`${sizeMiB} MiB canister-like image, ${os.cpus()[0]?.model ?? 'cpu'}, ${os.availableParallelism()} cores, node ${process.version}\n`);
console.log(markdownTable(['stage', 'MB/s'], rows));
const vsSlowest = backupMBs / (slowest * cores);
console.log(`\nbackup ÷ (slowest stage × ${cores} cores) = ${vsSlowest.toFixed(2)}; backup ÷ zstd alone = ${(backupMBs / zstdMBs).toFixed(2)}; restore ÷ zstd decompress alone = ${(restoreMBs / unzstdMBs).toFixed(2)}`);
if (guard) {
  const failures = [];
  if (backupMBs < 0.5 * zstdMBs) failures.push(`backup ${backupMBs.toFixed(0)} MB/s < 0.5 × zstd alone ${zstdMBs.toFixed(0)} MB/s`);
  if (restoreMBs < 0.25 * unzstdMBs) failures.push(`restore ${restoreMBs.toFixed(0)} MB/s < 0.25 × zstd decompress alone ${unzstdMBs.toFixed(0)} MB/s`);
  if (failures.length > 0) {
    console.error(`throughput guard failed: ${failures.join('; ')}`);
    process.exit(1);
  }
  console.log('throughput guard: ok');
}
