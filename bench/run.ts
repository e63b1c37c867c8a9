/**
 * agentvault against restic and borg on the same canister-like image, in the same run:
 *   npm run bench -- [--size-mib 1024] [--only agentvault,restic,borg] [--repeat 3] [--keep]
 * Full backups and restores run --repeat times, tools taking turns in each round, each round into
 * a fresh repository; the table shows the median time (and the highest peak RSS) of the rounds.
 * Prints one Markdown table and writes the results to .bench/results-<timestamp>.json.
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MiB, mutatePages, writeCanisterImage } from './data.js';
import { dirSize, fixed, machine, markdownTable, type Measured, mib, parseArgs, positiveInt, rssMiB, Runner, sha256File, syncDisks } from './measure.js';
import { agentvaultBuildIsStale, BENCH_DIR, makeTool, TOOL_NAMES, type BackupTool, type ToolName } from './tools.js';

const IMAGE_SEED = 20240601;
const MUTATION_SEED = 7;
const MUTATED_FRACTION = 0.01;

interface Timing {
  seconds: number;
  mbPerSecond: number;
  peakRssKiB: number | null;
  cpuSeconds: number | null;
  userSeconds: number | null;
  systemSeconds: number | null;
  /** Every round's seconds, when the step was repeated. */
  rounds?: number[];
}

interface ToolResult {
  tool: ToolName;
  version: string;
  full: Timing;
  repoBytes: number;
  restore: Timing & { sha256: string };
  incremental: Timing & { repoGrowthBytes: number; storedPerChange: number };
}

const args = parseArgs(process.argv.slice(2), ['size-mib', 'only', 'repeat', 'keep']);
const sizeMiB = positiveInt(args.get('size-mib')?.at(-1), 1024, '--size-mib');
const repeat = positiveInt(args.get('repeat')?.at(-1), 3, '--repeat');
const only = args.get('only') ?? [...TOOL_NAMES];
for (const name of only) if (!(TOOL_NAMES as readonly string[]).includes(name)) throw new Error(`--only: unknown tool ${name}; known: ${TOOL_NAMES.join(', ')}`);

const work = path.join(BENCH_DIR, 'work');
await rm(work, { recursive: true, force: true });
await mkdir(work, { recursive: true });
const runner = new Runner(work);
if (!runner.hasTime) console.log('note: /usr/bin/time is missing (apt-get install -y time): peak RSS is reported as n/a');

const tools: BackupTool[] = [];
for (const name of TOOL_NAMES.filter((n) => only.includes(n))) {
  const tool = makeTool(name, runner);
  if (tool.version === null) console.log(`skipping ${name}: not installed (${tool.install})`);
  else tools.push(tool);
}
if (only.includes('agentvault') && agentvaultBuildIsStale()) console.log('warning: src/ has changed since dist/cli.js was built: run `npm run build` for current numbers');
const image = path.join(work, 'image.bin');
const size = sizeMiB * MiB;
const timing = ({ seconds, peakRssKiB, cpuSeconds, userSeconds, systemSeconds }: Measured): Timing => ({ seconds, mbPerSecond: sizeMiB / seconds, peakRssKiB, cpuSeconds, userSeconds, systemSeconds });
const t0 = Date.now();
const kinds = await writeCanisterImage(image, sizeMiB, IMAGE_SEED);
// Reading the image once leaves it in the page cache for every tool alike (it was just written, too).
const original = await sha256File(image);
console.log(
  `image: ${sizeMiB} MiB, ${kinds.pages} pages of 64 KiB: ${kinds.zero} zero, ${kinds.json} JSON text, ${kinds.random} random ` +
    `(${((Date.now() - t0) / 1000).toFixed(1)} s to make); sha256 ${original.slice(0, 16)}…`,
);

const results = new Map<ToolName, Partial<ToolResult>>();
const repoOf = (tool: BackupTool) => path.join(work, `repo-${tool.name}`);

/** The round with the median time, carrying the highest peak RSS of all rounds. */
function medianRound(rounds: Measured[]): Measured {
  const sorted = [...rounds].sort((a, b) => a.seconds - b.seconds);
  const rss = rounds.map((m) => m.peakRssKiB).filter((k): k is number => k !== null);
  return { ...sorted[Math.floor(sorted.length / 2)]!, peakRssKiB: rss.length ? Math.max(...rss) : null };
}

const fulls = new Map<ToolName, Measured[]>();
const sparseRestores: Array<Measured & { allocated: number }> = [];
const restores = new Map<ToolName, Measured[]>();
for (let round = 1; round <= repeat; round++) {
  for (const tool of tools) {
    // A fresh repository every round; the last one stays for the incremental.
    const repo = repoOf(tool);
    await rm(repo, { recursive: true, force: true });
    await tool.init(repo);
    syncDisks();
    console.log(`${tool.name}: full backup (round ${round}/${repeat})…`);
    const full = await tool.backup(repo, image);
    const repoBytes = await dirSize(repo);
    const into = path.join(work, `restore-${tool.name}`);
    await mkdir(into);
    syncDisks();
    console.log(`${tool.name}: restore (round ${round}/${repeat})…`);
    const restored = await tool.restore(repo, image, into);
    const sha256 = await sha256File(restored.file);
    if (sha256 !== original) throw new Error(`${tool.name}: RESTORED FILE DIFFERS from the original (sha256 ${sha256} != ${original})`);
    await rm(into, { recursive: true });
    if (tool.restoreSparse) {
      // Not in the table (the peers restore dense files here): reported on a line of its own.
      await mkdir(into);
      syncDisks();
      console.log(`${tool.name}: restore --sparse (round ${round}/${repeat})…`);
      const sparse = await tool.restoreSparse(repo, image, into);
      const sparseSha = await sha256File(sparse.file);
      if (sparseSha !== original) throw new Error(`${tool.name}: SPARSE RESTORED FILE DIFFERS from the original (sha256 ${sparseSha} != ${original})`);
      const allocated = (await stat(sparse.file)).blocks * 512;
      await rm(into, { recursive: true });
      sparseRestores.push({ ...sparse, allocated });
    }
    fulls.set(tool.name, [...(fulls.get(tool.name) ?? []), full]);
    restores.set(tool.name, [...(restores.get(tool.name) ?? []), restored]);
    results.set(tool.name, {
      tool: tool.name,
      version: tool.version!,
      full: { ...timing(medianRound(fulls.get(tool.name)!)), rounds: fulls.get(tool.name)!.map((m) => m.seconds) },
      repoBytes,
      restore: { ...timing(medianRound(restores.get(tool.name)!)), rounds: restores.get(tool.name)!.map((m) => m.seconds), sha256 },
    });
  }
}

const mutation = await mutatePages(image, MUTATED_FRACTION, MUTATION_SEED);
console.log(`mutated ${mutation.pages} scattered 4 KiB pages (${mib(mutation.bytes)} MiB)`);
for (const tool of tools) {
  const repo = repoOf(tool);
  const before = await dirSize(repo);
  syncDisks();
  console.log(`${tool.name}: incremental backup…`);
  const m = await tool.backup(repo, image);
  const growth = (await dirSize(repo)) - before;
  results.get(tool.name)!.incremental = { ...timing(m), repoGrowthBytes: growth, storedPerChange: growth / mutation.bytes };
}

const done = [...results.values()] as ToolResult[];
const av = results.get('agentvault') as ToolResult | undefined;
const ratio = (mine: number | undefined, theirs: number) => (mine === undefined ? 'n/a' : `${fixed(mine / theirs, 2)}x`);
const table = markdownTable(
  ['tool', 'backup s', 'backup MB/s', 'backup RSS MiB', 'repo MiB', 'restore s', 'restore MB/s', 'restore RSS MiB', 'incr. s', 'incr. RSS MiB', 'repo grew MiB', 'stored / changed', 'av ÷ tool backup', 'av ÷ tool restore'],
  done.map((r) => [
    r.tool,
    fixed(r.full.seconds, 2),
    fixed(r.full.mbPerSecond, 0),
    rssMiB(r.full),
    mib(r.repoBytes),
    fixed(r.restore.seconds, 2),
    fixed(r.restore.mbPerSecond, 0),
    rssMiB(r.restore),
    fixed(r.incremental.seconds, 2),
    rssMiB(r.incremental),
    mib(r.incremental.repoGrowthBytes),
    `${fixed(r.incremental.storedPerChange, 1)}x`,
    ratio(av?.full.mbPerSecond, r.full.mbPerSecond),
    ratio(av?.restore.mbPerSecond, r.restore.mbPerSecond),
  ]),
);
const when = new Date();
const host = machine();
console.log(`\n${when.toISOString()} — ${host.cores} cores (${host.cpu}), ${host.memoryGiB} GiB, ${host.os}, node ${host.node}`);
console.log(done.map((r) => `${r.tool}: ${r.version}`).join('; '));
console.log(`${sizeMiB} MiB image; backup and restore: median of ${repeat} round(s), highest RSS; incremental after ${mutation.pages} changed 4 KiB pages (${mib(mutation.bytes)} MiB), once\n`);
console.log(table);
// CPU says more than wall time on a noisy day; system time is where this VM's page-cache costs show.
const cpu = (t: Timing) => (t.userSeconds === null || t.systemSeconds === null ? 'n/a' : `${fixed(t.userSeconds, 2)} + ${fixed(t.systemSeconds, 2)}`);
const cpuLine = `CPU of the median rounds, user + system s: ${done.map((r) => `${r.tool} backup ${cpu(r.full)}, restore ${cpu(r.restore)}`).join('; ')}`;
console.log(`\n${cpuLine}`);
let sparseLine: string | undefined;
if (sparseRestores.length > 0 && av) {
  const median = medianRound(sparseRestores) as Measured & { allocated: number };
  const peers = done.filter((r) => r.tool !== 'agentvault').map((r) => `${r.tool} ${ratio(sizeMiB / median.seconds, r.restore.mbPerSecond)}`);
  sparseLine =
    `agentvault restore --sparse: ${fixed(median.seconds, 2)} s (${fixed(sizeMiB / median.seconds, 0)} MB/s; rounds ${sparseRestores.map((m) => fixed(m.seconds, 2)).join(' / ')}), ` +
    `${mib(median.allocated)} MiB on disk for ${sizeMiB} MiB; ÷ the dense restores above: agentvault ${ratio(sizeMiB / median.seconds, av.restore.mbPerSecond)}${peers.length ? `, ${peers.join(', ')}` : ''}`;
  console.log(`\n${sparseLine}`);
}

const stamp = when.toISOString().replace(/[:.]/g, '-');
const output = path.join(BENCH_DIR, `results-${stamp}.json`);
const json = {
  date: when.toISOString(),
  machine: host,
  image: { sizeMiB, bytes: size, seed: IMAGE_SEED, pages: kinds },
  repeat,
  mutation: { ...mutation, fraction: MUTATED_FRACTION, seed: MUTATION_SEED },
  results: done,
  table,
  cpuLine,
  sparseRestore: sparseRestores.length > 0 ? { rounds: sparseRestores, line: sparseLine } : undefined,
};
await writeFile(output, `${JSON.stringify(json, null, 2)}\n`);
console.log(`\nresults: ${path.relative(process.cwd(), output)}`);
if (!args.has('keep')) await rm(work, { recursive: true, force: true });
