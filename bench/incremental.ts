/**
 * Chunk-size study behind the repository defaults: for each chunker setting, a full backup of the
 * canister-like image into a new repository, then the 1% page mutation and an incremental backup.
 *   node --import tsx bench/incremental.ts [--size-mib 256] [--keep]
 */
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MiB, mutatePages, writeCanisterImage } from './data.js';
import { dirSize, fixed, machine, markdownTable, mib, parseArgs, positiveInt, Runner, syncDisks } from './measure.js';
import { agentvault, agentvaultBuildIsStale, BENCH_DIR, type ChunkerSizes } from './tools.js';

const IMAGE_SEED = 20240601;
const MUTATION_SEED = 7;
const MUTATED_FRACTION = 0.01;
const K = 1024;
const SETTINGS: ChunkerSizes[] = [
  { min: 1 * K, avg: 4 * K, max: 32 * K },
  { min: 2 * K, avg: 8 * K, max: 64 * K }, // the default
  { min: 4 * K, avg: 16 * K, max: 128 * K },
  { min: 8 * K, avg: 32 * K, max: 256 * K },
];

const args = parseArgs(process.argv.slice(2), ['size-mib', 'keep']);
const sizeMiB = positiveInt(args.get('size-mib')?.at(-1), 256, '--size-mib');
const work = path.join(BENCH_DIR, 'work-incremental');
await rm(work, { recursive: true, force: true });
await mkdir(work, { recursive: true });
const runner = new Runner(work);
if (agentvault(runner).version === null) throw new Error('dist/cli.js is missing: run `npm run build` first');
if (agentvaultBuildIsStale()) console.log('warning: src/ has changed since dist/cli.js was built: run `npm run build` for current numbers');

const pristine = path.join(work, 'pristine.bin');
const image = path.join(work, 'image.bin');
await writeCanisterImage(pristine, sizeMiB, IMAGE_SEED);

const label = (s: ChunkerSizes) => `${s.min / K}K / ${s.avg / K}K / ${s.max / K}K`;
const results = [];
for (const sizes of SETTINGS) {
  console.log(`chunks ${label(sizes)}…`);
  await copyFile(pristine, image);
  const tool = agentvault(runner, { chunker: sizes });
  const repo = path.join(work, `repo-${sizes.avg / K}k`);
  await tool.init(repo);
  syncDisks();
  const full = await tool.backup(repo, image);
  const fullStats = tool.lastBackup!;
  const repoBytes = await dirSize(repo);
  const mutation = await mutatePages(image, MUTATED_FRACTION, MUTATION_SEED);
  syncDisks();
  const incremental = await tool.backup(repo, image);
  const growth = (await dirSize(repo)) - repoBytes;
  results.push({
    chunker: sizes,
    full: { seconds: full.seconds, mbPerSecond: sizeMiB / full.seconds, peakRssKiB: full.peakRssKiB, chunks: fullStats.chunks, repoBytes },
    incremental: { seconds: incremental.seconds, newChunks: tool.lastBackup!.newChunks, newChunkBytes: tool.lastBackup!.storedSize, repoGrowthBytes: growth, storedPerChange: growth / mutation.bytes },
    mutation,
  });
  if (!args.has('keep')) await rm(repo, { recursive: true });
}

const table = markdownTable(
  ['min / avg / max', 'backup s', 'backup MB/s', 'chunks', 'mean chunk KiB', 'repo MiB', 'incr. s', 'new chunks', 'new chunk data MiB', 'repo grew MiB', 'stored / changed'],
  results.map((r) => [
    label(r.chunker) + (r.chunker.avg === 8 * K ? ' (default)' : ''),
    fixed(r.full.seconds, 2),
    fixed(r.full.mbPerSecond, 0),
    `${r.full.chunks}`,
    fixed((sizeMiB * MiB) / r.full.chunks / K, 1),
    mib(r.full.repoBytes),
    fixed(r.incremental.seconds, 2),
    `${r.incremental.newChunks}`,
    mib(r.incremental.newChunkBytes),
    mib(r.incremental.repoGrowthBytes),
    `${fixed(r.incremental.storedPerChange, 1)}x`,
  ]),
);
const when = new Date();
const host = machine();
const changed = results[0]!.mutation;
console.log(`\n${when.toISOString()} — ${host.cores} cores (${host.cpu}), ${host.memoryGiB} GiB, node ${host.node}`);
console.log(`agentvault ${agentvault(runner).version}; ${sizeMiB} MiB image; incremental after ${changed.pages} changed 4 KiB pages (${mib(changed.bytes)} MiB)\n`);
console.log(table);
const output = path.join(BENCH_DIR, `incremental-${when.toISOString().replace(/[:.]/g, '-')}.json`);
await writeFile(output, `${JSON.stringify({ date: when.toISOString(), machine: host, image: { sizeMiB, seed: IMAGE_SEED }, results, table }, null, 2)}\n`);
console.log(`\nresults: ${path.relative(process.cwd(), output)}`);
if (!args.has('keep')) await rm(work, { recursive: true, force: true });
