// agentvault backup create --file <path> | --stdin [--name n] | --project <path>
import { backup } from '../../backup.js';
import { prestartDefaultWorkers, workerScript } from '../../workers/pool.js';
import { isCodecName } from '../../codecs/index.js';
import { AgentvaultError, UsageError } from '../../errors.js';
import type { Manifest } from '../../repository/manifest.js';
import { FileSource } from '../../sources/file.js';
import { ProjectSource } from '../../sources/project.js';
import type { BackupSource } from '../../sources/source.js';
import { StdinSource } from '../../sources/stdin.js';
import type { CanisterSnapshotSource } from '../../sources/canister.js';
import { connectToIc, withIcOptions } from '../ic-options.js';
import type { BackupType, CodecName } from '../../types.js';
import type { CommandContext } from '../context.js';
import { withRepositoryOptions, type CommandGroup } from '../command-group.js';
import { formatBytes } from '../format.js';
import { ProgressDisplay } from '../progress-display.js';
import { withInterrupt } from '../interrupt.js';
import { createBackupStream } from '../../stream/operations.js';
import { repositoryInitOptions, withInitOptions } from './backup-init.js';

export function registerBackupCreate(group: CommandGroup): void {
  const cmd = group
    .command('create [canister]', 'Back up a canister, a snapshot directory, a file, stdin or a project directory')
    .option('--canister <id>', 'Back up this canister (also: the positional argument, --canister-id)')
    .option('--canister-id <id>', 'Same as --canister')
    .option('--all', 'Back up every canister in the config (agentvault config set canisters a,b)')
    .option('--from-snapshot-dir <dir>', 'Back up a dfx/icp snapshot download directory')
    .option('--no-stop', 'Snapshot a running canister without stopping it (state may be inconsistent)')
    .option('--delete-snapshot', 'Delete the canister snapshot once downloaded')
    .option('--file <path>', 'Back up one file')
    .option('--stdin', 'Back up what arrives on stdin')
    .option('--name <name>', 'Name of the stdin entry and source (default: stdin)')
    .option('--size <bytes>', 'Expected stdin size: fewer or more bytes is an error')
    .option('--project <path>', 'Back up an agent project directory (default: the configured project)')
    .option('--exclude <pattern>', 'Extra .gitignore-style exclude (repeatable)')
    .option('--include-node-modules', 'Do not skip node_modules')
    .option('--incremental', 'Same as --type incremental')
    .option('--type <type>', 'full | incremental | differential (default: incremental when the source has a backup)')
    .option('--compress [algorithm]', 'Compress chunks (default zstd); --no-compress stores them raw')
    .option('--algorithm <algorithm>', 'Compression: zstd, brotli, gzip or none')
    .option('--level <n>', 'Compression level')
    .option('--encrypt', 'Encrypt a new repository (the default); --no-encrypt creates an unencrypted one')
    .option('--metadata <key=value>', 'Attach metadata to the backup (repeatable, or a JSON object)')
    .option('--stdout', 'Write the backup as a stream to stdout instead of a repository (see backup import)')
    .option('--archive', 'Then archive the new backup to Arweave (archive settings; on failure: archive upload <id> --retry)');
  withIcOptions(withInitOptions(withRepositoryOptions(cmd)));
  cmd.action(group.action(backupCreate));
}

export function backupCreateJson(m: Manifest) {
  return {
    id: m.id,
    created: m.created,
    type: m.type,
    parent: m.parent,
    source: m.source,
    logicalSize: m.stats.logicalSize,
    storedSize: m.stats.storedSize,
    chunks: m.stats.chunks,
    newChunks: m.stats.newChunks,
    entries: m.entries.length,
    metadata: m.metadata,
  };
}

async function backupCreate(ctx: CommandContext, positional?: string): Promise<void> {
  const canisters = await canisterTargets(ctx, positional);
  if (canisters.length > 1) {
    // --all: one backup per canister; stop at the first failure, after reporting what succeeded.
    for (const canisterId of canisters) await backupOne(ctx, canisterId);
    return;
  }
  await backupOne(ctx, canisters[0]);
}

async function canisterTargets(ctx: CommandContext, positional?: string): Promise<Array<string | undefined>> {
  const named = [positional, ctx.opts.string('canister'), ctx.opts.string('canister-id')].filter((c): c is string => c !== undefined);
  if (new Set(named).size > 1) throw new UsageError(`give one canister id, not ${named.join(' and ')}`);
  if (ctx.opts.bool('all')) {
    if (named.length > 0) throw new UsageError('give --all or a canister id, not both');
    const configured = (await ctx.userConfig()).ic?.canisters ?? [];
    if (configured.length === 0) throw new UsageError('--all backs up the canisters in the config, and there are none: agentvault config set canisters <id>,<id>');
    return configured;
  }
  return [named[0]];
}

async function backupOne(ctx: CommandContext, canister: string | undefined): Promise<void> {
  const opts = ctx.opts;
  const type = backupType(ctx);
  const compression = await compressionChoice(ctx);
  const metadata = parseMetadata(opts.strings('metadata'));
  const source = await openSource(ctx, canister);
  const archiving = opts.bool('archive') === true ? await (await import('./archive-upload.js')).prepareBackupArchiving(ctx) : undefined;

  if (opts.bool('stdout')) {
    if (type && type !== 'full') throw new UsageError('a backup written to stdout is always full; use backup export --since for an incremental stream');
    await backupToStdout(ctx, source, compression, metadata);
    return;
  }

  // The worker threads start while the password key is derived (scrypt), not after it.
  prestartDefaultWorkers(workerScript('backup-worker'));
  const { repository, created } = await ctx.openOrCreateRepository(await repositoryInitOptions(ctx));
  archiving?.check(repository);
  const progress = new ProgressDisplay('backup', process.stderr, ctx.showProgress);
  const result = await withInterrupt((signal) =>
    backup({
      repository,
      source,
      ...(type ? { type } : {}),
      compression,
      metadata,
      signal,
      onProgress: progress.update,
      onUnreadableBackup: (id, err) => ctx.warn(`ignoring backup ${id}: ${err.message}`),
    }),
  ).finally(() => progress.done());

  const m = result.manifest;
  if (result.adoptedPacks > 0) ctx.info(`reused ${result.adoptedPacks} pack(s) left by an interrupted backup`);
  if (ctx.json) {
    const archive = archiving ? await archiving.upload(repository, m) : undefined;
    ctx.outJson({ ...backupCreateJson(m), repository: repository.location, repositoryCreated: created, ...(archive ? { archive } : {}) });
    return;
  }
  ctx.out(m.id);
  ctx.info(
    `${m.type} backup ${m.id} of ${m.source.name}: ${formatBytes(m.stats.logicalSize)} in ${m.entries.length} ${m.entries.length === 1 ? 'entry' : 'entries'}, ` +
      `stored ${formatBytes(m.stats.storedSize)} new (${m.stats.newChunks} of ${m.stats.chunks} chunks)${m.parent ? `, parent ${m.parent}` : ''}`,
  );
  if (archiving) await archiving.upload(repository, m);
}

function backupType(ctx: CommandContext): BackupType | undefined {
  const type = ctx.opts.choice('type', ['full', 'incremental', 'differential'] as const);
  if (ctx.opts.bool('incremental')) {
    if (type && type !== 'incremental') throw new UsageError(`--incremental contradicts --type ${type}`);
    return 'incremental';
  }
  return type;
}

async function compressionChoice(ctx: CommandContext): Promise<{ codec: CodecName; level?: number }> {
  const opts = ctx.opts;
  const configured = (await ctx.userConfig()).backup;
  const flag = opts.flagOrString('compress');
  let codec: string = opts.string('algorithm') ?? (typeof flag === 'string' ? flag : undefined) ?? configured?.compression ?? 'zstd';
  if (opts.bool('compress') === false) codec = 'none';
  if (!isCodecName(codec)) throw new UsageError(`unknown compression ${JSON.stringify(codec)}: use zstd, brotli, gzip or none`);
  const level = opts.int('level') ?? (codec === configured?.compression ? configured?.level : undefined);
  return { codec, ...(level !== undefined ? { level } : {}) };
}

async function openSource(ctx: CommandContext, canister: string | undefined): Promise<BackupSource> {
  const opts = ctx.opts;
  const file = opts.string('file');
  const project = opts.string('project');
  const snapshotDir = opts.string('from-snapshot-dir');
  const stdin = opts.bool('stdin') === true;
  const chosen = [file !== undefined, project !== undefined, stdin, snapshotDir !== undefined, canister !== undefined && snapshotDir === undefined].filter(Boolean).length;
  if (chosen > 1) throw new UsageError('give only one source: a canister id, --from-snapshot-dir, --file, --stdin or --project');
  if (snapshotDir !== undefined) return (await import('../../sources/snapshot-dir.js')).SnapshotDirSource.open(snapshotDir, canister !== undefined ? { canisterId: canister } : {});
  if (canister !== undefined) return openCanisterSource(ctx, canister);
  if (file !== undefined) return FileSource.open(file);
  if (stdin) {
    const size = opts.int('size', { min: 0 });
    const name = opts.string('name');
    return new StdinSource(process.stdin, { ...(name !== undefined ? { name } : {}), ...(size !== undefined ? { expectedSize: size } : {}) });
  }
  const configured = (await ctx.userConfig()).backup;
  const root = project ?? configured?.project;
  if (root === undefined) throw new UsageError('nothing to back up: give --file <path>, --stdin or --project <path> (or set one with `agentvault backup config --project <path>`)');
  return ProjectSource.open(root, {
    excludes: [...(configured?.excludes ?? []), ...opts.strings('exclude')],
    includeNodeModules: opts.bool('include-node-modules') === true,
  });
}

export function parseMetadata(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    if (v.trim().startsWith('{')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(v);
      } catch {
        throw new UsageError('--metadata JSON is not valid');
      }
      for (const [k, val] of Object.entries(parsed as Record<string, unknown>)) out[k] = typeof val === 'string' ? val : JSON.stringify(val);
      continue;
    }
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UsageError(`--metadata takes key=value, got ${JSON.stringify(v)}`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  if (JSON.stringify(out).length > 64 * 1024) throw new AgentvaultError('USAGE', '--metadata is too large (64 KiB at most)');
  return out;
}

async function backupToStdout(ctx: CommandContext, source: BackupSource, compression: { codec: CodecName; level?: number }, metadata: Record<string, string>): Promise<void> {
  if (process.stdout.isTTY) throw new UsageError('stdout is a terminal: redirect the stream to a file or a pipe');
  const encrypt = ctx.opts.bool('encrypt') !== false;
  const secrets = await ctx.credentialsForNewKeys(encrypt);
  const progress = new ProgressDisplay('backup', process.stderr, ctx.showProgress);
  const info = await withInterrupt((signal) =>
    createBackupStream({ source, output: process.stdout, encrypt, ...secrets, compression, metadata, signal, onProgress: progress.update }),
  ).finally(() => progress.done());
  ctx.info(`full backup ${info.id} of ${info.source.name} written to stdout`);
}

async function openCanisterSource(ctx: CommandContext, canisterId: string): Promise<CanisterSnapshotSource> {
  const management = await connectToIc(ctx);
  const { CanisterSnapshotSource } = await import('../../sources/canister.js');
  const source = await CanisterSnapshotSource.open({
    management,
    canisterId,
    noStop: ctx.opts.bool('stop') === false,
    deleteSnapshot: ctx.opts.bool('delete-snapshot') === true,
    onEvent: (m) => (m.startsWith('warning: ') ? ctx.warn(m.slice(9)) : ctx.info(m)),
  });
  // The snapshot itself (stop → snapshot → start) is taken by backup() through source.prepare(),
  // once the repository is open and locked: a wrong password costs the canister no downtime.
  return source;
}
