/** Shared benchmark helpers: run a command measuring wall time and peak RSS, sizes, hashes, tables. */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs, { createReadStream } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

export interface Measured {
  /** Wall time from spawn to exit. */
  seconds: number;
  /** Peak resident set size of the process, from GNU time's %M; null when /usr/bin/time is missing. */
  peakRssKiB: number | null;
  /** User + system CPU time; null when /usr/bin/time is missing. */
  cpuSeconds: number | null;
  /** The two parts of cpuSeconds: system time is where this VM's page-cache costs show. */
  userSeconds: number | null;
  systemSeconds: number | null;
  stdout: string;
}

const GNU_TIME = '/usr/bin/time';
const CLOCK_TICKS = 100; // USER_HZ on Linux

/** User + system CPU seconds this process has used so far. */
export function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** User + system CPU seconds another running process has used so far (Linux /proc). */
export function processCpuSeconds(pid: number): number {
  // /proc/PID/stat: fields 14 and 15 are utime and stime, after the parenthesised name.
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Runs commands one at a time, under GNU time when it is installed (package `time`). */
export class Runner {
  readonly hasTime: boolean;

  constructor(readonly scratchDir: string) {
    this.hasTime = spawnSync(GNU_TIME, ['-f', '%M', 'true'], { stdio: 'ignore' }).status === 0;
  }

  async run(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Measured> {
    const timeFile = path.join(this.scratchDir, `time-${process.pid}.txt`);
    const [file, argv] = this.hasTime ? [GNU_TIME, ['-f', '%M %U %S', '-o', timeFile, command, ...args]] : [command, [...args]];
    const started = process.hrtime.bigint();
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(file, argv, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
      child.stderr.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(-8192)));
      child.on('error', reject);
      child.on('close', (status) => resolve({ code: status, stdout: out, stderr: err }));
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (code !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${code}):\n${stderr.trim()}`);
    if (!this.hasTime) return { seconds, peakRssKiB: null, cpuSeconds: null, userSeconds: null, systemSeconds: null, stdout };
    const fields = (await readFile(timeFile, 'utf8')).trim().split('\n').pop()!.split(' ').map(Number);
    await rm(timeFile, { force: true });
    return { seconds, peakRssKiB: fields[0]!, cpuSeconds: fields[1]! + fields[2]!, userSeconds: fields[1]!, systemSeconds: fields[2]!, stdout };
  }
}

/** The first line of `command args` (a version string), or null when the command is not installed. */
export function commandVersion(command: string, args: readonly string[]): string | null {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return `${r.stdout}${r.stderr}`.trim().split('\n')[0]!;
}

/** Flushes dirty pages so that one tool's writeback does not land in the next tool's timing. */
export function syncDisks(): void {
  spawnSync('sync', { stdio: 'ignore' });
}

/** Sum of the sizes of all files under `dir` (like `du -sb`, without directory blocks). */
export async function dirSize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name))).size;
  }
  return total;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), hash);
  return hash.digest('hex');
}

/** A child environment without the caller's agentvault/restic/borg settings, plus `extra`. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(AGENTVAULT|RESTIC|BORG)_/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

export function machine(): { cpu: string; cores: number; memoryGiB: number; os: string; node: string } {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

/** Options that take no value. */
const FLAGS: ReadonlySet<string> = new Set(['keep', 'guard']);

/** Parses `--name value` options and the FLAGS; `--only` may repeat and take comma-separated values. */
export function parseArgs(argv: readonly string[], known: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]!.replace(/^--/, '');
    if (!argv[i]!.startsWith('--') || !known.includes(name)) throw new Error(`unknown argument ${argv[i]}; known: ${known.map((k) => `--${k}`).join(' ')}`);
    const value = FLAGS.has(name) ? 'true' : argv[++i];
    if (value === undefined) throw new Error(`--${name} needs a value`);
    out.set(name, [...(out.get(name) ?? []), ...value.split(',')]);
  }
  return out;
}

export function positiveInt(value: string | undefined, fallback: number, name: string): number {
  return intAtLeast(value, fallback, name, 1, 'a positive integer');
}

export function nonNegativeInt(value: string | undefined, fallback: number, name: string): number {
  return intAtLeast(value, fallback, name, 0, 'a whole number');
}

function intAtLeast(value: string | undefined, fallback: number, name: string, min: number, what: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be ${what}, got ${value}`);
  return n;
}

export const MB = 1 << 20;

/** The middle value (the upper middle for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
export const fixed = (n: number | null, digits = 1): string => (n === null || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits));
export const mib = (bytes: number | null): string => fixed(bytes === null ? null : bytes / MB, 1);
export const rssMiB = (m: { peakRssKiB: number | null }): string => fixed(m.peakRssKiB === null ? null : m.peakRssKiB / 1024, 0);

/** A GitHub-flavoured Markdown table; every column but the first is right-aligned. */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((s, c) => (c === 0 ? s.padEnd(widths[c]!) : s.padStart(widths[c]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (c === 0 ? `-${'-'.repeat(w)}-` : `-${'-'.repeat(w)}:`)).join('|')}|`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}
