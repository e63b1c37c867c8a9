/** The benchmarked tools, one function each, all driven through their command lines. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanEnv, commandVersion, type Measured, type Runner } from './measure.js';

export const TOOL_NAMES = ['agentvault', 'restic', 'borg'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

export interface BackupTool {
  readonly name: ToolName;
  /** Version line, or null when the tool is not installed. */
  readonly version: string | null;
  /** How to get it when it is missing. */
  readonly install: string;
  /** Creates an empty repository at `repo` (not timed). */
  init(repo: string): Promise<void>;
  /** Backs `image` up into `repo`; the second call is the incremental. */
  backup(repo: string, image: string): Promise<Measured>;
  /** Restores the newest backup into the empty directory `into`; `file` is where the image landed. */
  restore(repo: string, image: string, into: string): Promise<Measured & { file: string }>;
  /** As restore, making a sparse file (zero blocks left as holes), for tools that offer it. */
  restoreSparse?(repo: string, image: string, into: string): Promise<Measured & { file: string }>;
}

const PASSWORD = 'bench-password';
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const SRC = fileURLToPath(new URL('../src', import.meta.url));
/** Where generated data and results go (gitignored). */
export const BENCH_DIR = fileURLToPath(new URL('../.bench', import.meta.url));

/** True when a file under src/ is newer than dist/cli.js: the numbers would be for old code. */
export function agentvaultBuildIsStale(): boolean {
  if (!existsSync(CLI)) return false;
  const built = statSync(CLI).mtimeMs;
  return readdirSync(SRC, { recursive: true, encoding: 'utf8' }).some((f) => f.endsWith('.ts') && statSync(path.join(SRC, f)).mtimeMs > built);
}

export interface ChunkerSizes {
  min: number;
  avg: number;
  max: number;
}

/** What `agentvault backup create --json` prints (the fields the benchmarks use). */
export interface AgentvaultBackupJson {
  id: string;
  logicalSize: number;
  storedSize: number;
  chunks: number;
  newChunks: number;
}

/** agentvault from dist/ (build first), zstd level 3 and AES-256-GCM: the defaults. */
export function agentvault(runner: Runner, options: { chunker?: ChunkerSizes } = {}): BackupTool & { lastBackup?: AgentvaultBackupJson } {
  const env = cleanEnv({ AGENTVAULT_PASSWORD: PASSWORD, AGENTVAULT_CONFIG: path.join(runner.scratchDir, 'agentvault-config.json') });
  const av = (args: readonly string[], cwd?: string) => runner.run(process.execPath, [CLI, 'backup', ...args], { env, ...(cwd ? { cwd } : {}) });
  const chunker = options.chunker;
  const tool: BackupTool & { lastBackup?: AgentvaultBackupJson } = {
    name: 'agentvault',
    version: existsSync(CLI) ? commandVersion(process.execPath, [CLI, '--version']) : null,
    install: 'npm run build',
    async init(repo) {
      const sizes = chunker ? ['--chunk-min', `${chunker.min}`, '--chunk-avg', `${chunker.avg}`, '--chunk-max', `${chunker.max}`] : [];
      await av(['init', '--destination', repo, '--quiet', ...sizes]);
    },
    async backup(repo, image) {
      const m = await av(['create', '--file', image, '--destination', repo, '--json', '--quiet']);
      tool.lastBackup = JSON.parse(m.stdout) as AgentvaultBackupJson;
      return m;
    },
    async restore(repo, image, into) {
      if (!tool.lastBackup) throw new Error('agentvault: nothing backed up yet');
      const file = path.join(into, path.basename(image));
      return { ...(await av(['restore', tool.lastBackup.id, '--target', file, '--destination', repo, '--quiet'])), file };
    },
    async restoreSparse(repo, image, into) {
      if (!tool.lastBackup) throw new Error('agentvault: nothing backed up yet');
      const file = path.join(into, path.basename(image));
      return { ...(await av(['restore', tool.lastBackup.id, '--target', file, '--destination', repo, '--quiet', '--sparse'])), file };
    },
  };
  return tool;
}

/** restic with its defaults on a repository of format version 2 (compression auto = zstd). */
export function restic(runner: Runner): BackupTool {
  const env = cleanEnv({ RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: path.join(runner.scratchDir, 'restic-cache') });
  const run = (repo: string, args: readonly string[]) => runner.run('restic', ['--repo', repo, '--quiet', ...args], { env });
  return {
    name: 'restic',
    version: commandVersion('restic', ['version']),
    install: 'apt-get install -y restic',
    async init(repo) {
      await run(repo, ['init', '--repository-version', '2']);
    },
    backup: (repo, image) => run(repo, ['backup', path.resolve(image)]),
    async restore(repo, image, into) {
      // restic restores the absolute path the file was backed up from below the target.
      return { ...(await run(repo, ['restore', 'latest', '--target', into])), file: path.join(into, path.resolve(image)) };
    },
  };
}

/** borg with repokey encryption and `--compression zstd,3`; otherwise defaults. */
export function borg(runner: Runner): BackupTool {
  const env = cleanEnv({ BORG_PASSPHRASE: PASSWORD, BORG_BASE_DIR: path.join(runner.scratchDir, 'borg-home') });
  const run = (args: readonly string[], cwd?: string) => runner.run('borg', args, { env, ...(cwd ? { cwd } : {}) });
  let archives = 0;
  return {
    name: 'borg',
    version: commandVersion('borg', ['--version']),
    install: 'apt-get install -y borgbackup',
    async init(repo) {
      await run(['init', '--encryption', 'repokey', path.resolve(repo)]);
    },
    // Run from the image's directory so the archive holds just its file name.
    backup: (repo, image) => run(['create', '--compression', 'zstd,3', `${path.resolve(repo)}::a${++archives}`, path.basename(image)], path.dirname(path.resolve(image))),
    async restore(repo, image, into) {
      return { ...(await run(['extract', `${path.resolve(repo)}::a${archives}`], into)), file: path.join(into, path.basename(image)) };
    },
  };
}

export function makeTool(name: ToolName, runner: Runner): BackupTool {
  return name === 'agentvault' ? agentvault(runner) : name === 'restic' ? restic(runner) : borg(runner);
}
