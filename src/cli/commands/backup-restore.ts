// agentvault backup restore <backup-id> [--target <path> | --stdout] [--verify] [--dry-run] [--force]
import { prestartDefaultWorkers, workerScript } from '../../workers/pool.js';
import { AgentvaultError, UsageError } from '../../errors.js';
import type { ChunkIndex } from '../../repository/chunk-index.js';
import { chunkRefs, type ManifestEntry } from '../../repository/manifest.js';
import { restore } from '../../restore.js';
import { checkTarget, DirectorySink, FileSink } from '../../sinks/files.js';
import { ByteStreamSink } from '../../sinks/stream.js';
import { VerifySink } from '../../sinks/verify.js';
import type { CommandContext } from '../context.js';
import { withRepositoryOptions, type CommandGroup } from '../command-group.js';
import { askPassword } from '../credentials.js';
import { restoreBackupStream } from '../../stream/operations.js';
import { formatBytes } from '../format.js';
import { withInterrupt } from '../interrupt.js';
import { ProgressDisplay } from '../progress-display.js';
import { withIcOptions } from '../ic-options.js';
import { fileTargetOptions } from '../target-options.js';

export function registerBackupRestore(group: CommandGroup): void {
  const cmd = group
    .command('restore [backup-id]', 'Restore a backup (id, unique prefix, or latest; or a stream with --stdin)')
    .option('--stdin', 'Restore a backup stream read from stdin (no repository needed)')
    .option('--arweave <manifest-tx-id>', 'Restore from an Arweave archive by its manifest transaction (no repository needed)')
    .option('--target <path>', 'File (one-entry backups) or directory (projects) to restore to')
    .option('--stdout', 'Write the bytes to stdout (one-entry backups)')
    .option('--verify', 'Read and verify every chunk before writing anything')
    .option('--dry-run', 'Show what would be restored; write nothing')
    .option('--force', 'Replace an existing target')
    .option('--sparse', 'Leave whole 4 KiB blocks of zeros as holes in restored files (--target, --to-snapshot-dir)')
    .option('--canister <id>', 'Canister backups: restore into this canister (default: the one backed up; another one needs --force)')
    .option('--to-snapshot-dir <dir>', 'Canister backups: write a dfx/icp snapshot directory instead')
    .option('--source <name>', 'With latest: the newest backup of this source');
  withIcOptions(withRepositoryOptions(cmd)).action(group.action(backupRestore));
}

async function backupRestore(ctx: CommandContext, ref?: string): Promise<void> {
  const opts = ctx.opts;
  const target = opts.string('target');
  const toStdout = opts.bool('stdout') === true;
  const dryRun = opts.bool('dry-run') === true;
  if (target !== undefined && toStdout) throw new UsageError('give --target or --stdout, not both');
  if (opts.bool('sparse') && target === undefined && opts.string('to-snapshot-dir') === undefined && !dryRun) {
    throw new UsageError('--sparse makes sparse files: give --target (or --to-snapshot-dir)');
  }
  const arweaveTx = opts.string('arweave');
  if (arweaveTx !== undefined) {
    if (ref !== undefined) throw new UsageError('--arweave restores the archive with that transaction id; do not give a backup id');
    await (await import('./archive-restore.js')).restoreFromArweave(ctx, arweaveTx);
    return;
  }
  if (opts.bool('stdin')) {
    if (ref !== undefined) throw new UsageError('--stdin restores the stream on stdin; do not give a backup id');
    await restoreFromStdin(ctx, target, toStdout);
    return;
  }
  if (ref === undefined) throw new UsageError('which backup? give its id, a unique prefix, or latest');
  const snapshotDir = opts.string('to-snapshot-dir');
  const canisterTarget = opts.string('canister');
  if ([target !== undefined || toStdout, snapshotDir !== undefined, canisterTarget !== undefined].filter(Boolean).length > 1) {
    throw new UsageError('give one destination: --target, --stdout, --to-snapshot-dir or --canister');
  }

  // The worker threads start while the password key is derived (scrypt), not after it.
  if (!dryRun) prestartDefaultWorkers(workerScript('restore-worker'));
  const repository = await ctx.openRepository();
  const filter = opts.string('source');
  const id = await repository.resolveBackupId(ref, filter !== undefined ? { sourceName: filter } : {});
  const manifest = await repository.readManifest(id);
  const canisterBackup = manifest.source.kind === 'canister' || manifest.source.kind === 'snapshot-dir';
  if (canisterTarget !== undefined || snapshotDir !== undefined || (canisterBackup && target === undefined && !toStdout)) {
    await (await import('./backup-restore-canister.js')).restoreCanisterBackup(ctx, repository, manifest, { ...(canisterTarget !== undefined ? { canister: canisterTarget } : {}), ...(snapshotDir !== undefined ? { snapshotDir } : {}) });
    return;
  }
  if (target === undefined && !toStdout && !dryRun) throw new UsageError('where to? give --target <path> or --stdout');
  const single = manifest.entries.length === 1 && !['directory', 'symlink'].includes(manifest.entries[0]!.kind);
  if (toStdout && !single) throw new UsageError(`backup ${id} has ${manifest.entries.length} entries; restore it to a directory with --target`);
  if (target !== undefined) await checkTarget(target, opts.bool('force'));

  if (dryRun) {
    const index = await repository.loadIndex();
    const missing = manifest.entries.reduce((n, e) => n + countMissing(e, index), 0);
    const plan = {
      backup: id,
      target: target ?? (toStdout ? '-' : null),
      entries: manifest.entries.map((e) => ({ name: e.name, kind: e.kind, size: e.size })),
      logicalSize: manifest.stats.logicalSize,
      missingChunks: missing,
    };
    if (ctx.json) ctx.outJson(plan);
    else {
      ctx.out(`would restore backup ${id} (${manifest.type} of ${manifest.source.name}, ${formatBytes(manifest.stats.logicalSize)}, ${manifest.entries.length} entries) to ${plan.target ?? '(no target given)'}`);
      for (const e of manifest.entries.slice(0, 20)) ctx.out(`  ${e.kind.padEnd(9)} ${formatBytes(e.size).padStart(10)}  ${e.name}`);
      if (manifest.entries.length > 20) ctx.out(`  … and ${manifest.entries.length - 20} more`);
    }
    if (missing > 0) throw new AgentvaultError('MISSING_DATA', `backup ${id} cannot be restored: ${missing} chunk(s) are missing from the repository`);
    return;
  }

  if (opts.bool('verify')) {
    const progress = new ProgressDisplay('verify', process.stderr, ctx.showProgress);
    await withInterrupt((signal) => restore({ repository, manifest, sink: new VerifySink(), signal, onProgress: progress.update })).finally(() => progress.done());
    ctx.info(`verified every chunk of backup ${id}`);
  }

  const sink = toStdout ? new ByteStreamSink(process.stdout) : single ? new FileSink(target!, fileTargetOptions(ctx)) : new DirectorySink(target!, fileTargetOptions(ctx));
  const progress = new ProgressDisplay('restore', process.stderr, ctx.showProgress);
  await withInterrupt((signal) => restore({ repository, manifest, sink, signal, onProgress: progress.update })).finally(() => progress.done());
  const summary = { backup: id, target: target ?? '-', logicalSize: manifest.stats.logicalSize, entries: manifest.entries.length };
  if (ctx.json && !toStdout) ctx.outJson(summary);
  else ctx.info(`restored backup ${id} (${formatBytes(manifest.stats.logicalSize)}) to ${target ?? 'stdout'}`);
}

function countMissing(entry: ManifestEntry, index: ChunkIndex): number {
  let missing = 0;
  for (const ref of chunkRefs(entry)) if (!index.has(ref.id)) missing++;
  return missing;
}

async function restoreFromStdin(ctx: CommandContext, target: string | undefined, toStdout: boolean): Promise<void> {
  if (process.stdin.isTTY) throw new UsageError('stdin is a terminal: pipe a backup stream in');
  if (ctx.opts.bool('dry-run') || ctx.opts.bool('verify')) throw new UsageError('--dry-run and --verify need a repository; a stream is verified as it is restored');
  if (target !== undefined) await checkTarget(target, ctx.opts.bool('force'));
  let credentials = await ctx.credentials();
  if (credentials.wantsPrompt) credentials = { ...credentials, password: await askPassword(false) };
  const progress = new ProgressDisplay('restore', process.stderr, ctx.showProgress);
  const reader = await withInterrupt((signal) =>
    restoreBackupStream({
      input: process.stdin,
      credentials,
      signal,
      onProgress: progress.update,
      // A stream's entries arrive before its manifest: the source kind says file or tree.
      sink: (r) => {
        const tree = r.info.source.kind === 'project';
        if (toStdout && tree) throw new UsageError(`the stream holds a ${r.info.source.kind} backup with several entries; restore it with --target <directory>`);
        if (toStdout) return new ByteStreamSink(process.stdout);
        return tree ? new DirectorySink(target!, fileTargetOptions(ctx)) : new FileSink(target!, fileTargetOptions(ctx));
      },
    }),
  ).finally(() => progress.done());
  ctx.info(`restored backup ${reader.info.id} (${reader.info.source.name}) from the stream to ${target ?? 'stdout'}`);
}
