/**
 * Is agentvault's memory flat in the size of the data? Peak RSS of the CLI (GNU time) for a full
 * backup and a restore of canister-like images of several sizes, each into a fresh repository:
 *   node --import tsx bench/memory.ts [--sizes-mib 64,1024,4096] [--keep]
 * Needs /usr/bin/time (apt-get install -y time) and a build (npm run build). Prints one table and
 * writes .bench/memory-<timestamp>.json. 4 GiB needs ~10 GiB of free disk (image, repository, copy).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeCanisterImage } from './data.js';
import { fixed, machine, markdownTable, parseArgs, rssMiB, Runner, sha256File, syncDisks } from './measure.js';
import { agentvault, agentvaultBuildIsStale, BENCH_DIR } from './tools.js';

const IMAGE_SEED = 20240601;

const args = parseArgs(process.argv.slice(2), ['sizes-mib', 'keep']);
const sizes = (args.get('sizes-mib')?.at(-1) ?? '64,1024,4096').split(',').map((s) => {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--sizes-mib: not a size in MiB: ${JSON.stringify(s)}`);
  return n;
});

const work = path.join(BENCH_DIR, 'memory-work');
await rm(work, { recursive: true, force: true });
await mkdir(work, { recursive: true });
const runner = new Runner(work);
if (!runner.hasTime) throw new Error('/usr/bin/time is missing (apt-get install -y time): peak RSS cannot be measured');
if (agentvaultBuildIsStale()) console.log('warning: src/ has changed since dist/cli.js was built: run `npm run build` for current numbers');

interface Row {
  sizeMiB: number;
  backup: { seconds: number; peakRssKiB: number };
  restore: { seconds: number; peakRssKiB: number };
}
const rows: Row[] = [];
for (const sizeMiB of sizes) {
  const image = path.join(work, 'image.bin');
  const repo = path.join(work, 'repo');
  const into = path.join(work, 'restored');
  await rm(repo, { recursive: true, force: true });
  await rm(into, { recursive: true, force: true });
  await mkdir(into);
  await writeCanisterImage(image, sizeMiB, IMAGE_SEED);
  const original = await sha256File(image);
  const tool = agentvault(runner);
  await tool.init(repo);
  syncDisks();
  const backup = await tool.backup(repo, image);
  syncDisks();
  const restored = await tool.restore(repo, image, into);
  if ((await sha256File(restored.file)) !== original) throw new Error(`restore of the ${sizeMiB} MiB image differs from the original`);
  rows.push({ sizeMiB, backup: { seconds: backup.seconds, peakRssKiB: backup.peakRssKiB! }, restore: { seconds: restored.seconds, peakRssKiB: restored.peakRssKiB! } });
  console.log(`${sizeMiB} MiB: backup ${fixed(backup.seconds, 2)} s, ${rssMiB(backup)} MiB; restore ${fixed(restored.seconds, 2)} s, ${rssMiB(restored)} MiB`);
}
if (!args.has('keep')) await rm(work, { recursive: true, force: true });

const date = new Date().toISOString();
const table = markdownTable(
  ['input MiB', 'backup s', 'backup peak RSS MiB', 'restore s', 'restore peak RSS MiB'],
  rows.map((r) => [`${r.sizeMiB}`, fixed(r.backup.seconds, 2), rssMiB(r.backup), fixed(r.restore.seconds, 2), rssMiB(r.restore)]),
);
console.log(`\n${date} — ${JSON.stringify(machine())}\n\n${table}`);
await writeFile(path.join(BENCH_DIR, `memory-${date.replace(/[:.]/g, '-')}.json`), `${JSON.stringify({ date, machine: machine(), rows }, null, 2)}\n`);
