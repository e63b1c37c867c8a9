// backup restore for canister backups: into a canister (the one backed up, or a clone with
// --force), or to a dfx/icp snapshot directory (--to-snapshot-dir).
import { AgentvaultError, UsageError } from '../../errors.js';
import { UploadStateFile } from '../../ic/upload-state.js';
import type { Manifest } from '../../repository/manifest.js';
import type { Repository } from '../../repository/repository.js';
import { restore } from '../../restore.js';
import { CanisterRestoreSink } from '../../sinks/canister.js';
import { checkTarget, DirectorySink } from '../../sinks/files.js';
import { SNAPSHOT_ENTRY_NAMES } from '../../ic/constants.js';
import type { CommandContext } from '../context.js';
import { formatBytes } from '../format.js';
import { connectToIc } from '../ic-options.js';
import { withInterrupt } from '../interrupt.js';
import { ProgressDisplay } from '../progress-display.js';
import { VerifySink } from '../../sinks/verify.js';
import { fileTargetOptions } from '../target-options.js';

export function isCanisterBackup(m: Manifest): boolean {
  return m.source.kind === 'canister' || (m.source.kind === 'snapshot-dir' && m.entries[0]?.name === SNAPSHOT_ENTRY_NAMES.metadata);
}

function entrySize(m: Manifest, name: string): number {
  return m.entries.find((e) => e.name === name)?.size ?? 0;
}

export async function restoreCanisterBackup(ctx: CommandContext, repository: Repository, manifest: Manifest, to: { canister?: string; snapshotDir?: string }): Promise<void> {
  if (!isCanisterBackup(manifest)) throw new UsageError(`backup ${manifest.id} is a ${manifest.source.kind} backup, not a canister backup; restore it with --target or --stdout`);
  const force = ctx.opts.bool('force') === true;
  const dryRun = ctx.opts.bool('dry-run') === true;

  if (to.snapshotDir !== undefined) {
    await checkTarget(to.snapshotDir, force);
    if (dryRun) {
      ctx.out(`would write the snapshot directory of backup ${manifest.id} to ${to.snapshotDir} (${manifest.entries.length} files, ${formatBytes(manifest.stats.logicalSize)})`);
      return;
    }
    await run(ctx, 'restore', (signal, onProgress) => restore({ repository, manifest, sink: new DirectorySink(to.snapshotDir!, fileTargetOptions(ctx)), signal, onProgress }));
    ctx.info(`wrote snapshot directory ${to.snapshotDir} from backup ${manifest.id}`);
    return;
  }

  const sourceCanister = typeof manifest.source.canisterId === 'string' ? manifest.source.canisterId : undefined;
  const canisterId = to.canister ?? sourceCanister;
  if (canisterId === undefined) throw new UsageError(`backup ${manifest.id} names no canister; give --canister <id> or --to-snapshot-dir <dir>`);
  if (sourceCanister !== undefined && canisterId !== sourceCanister && !force) {
    throw new UsageError(`backup ${manifest.id} is of canister ${sourceCanister}; restoring it into ${canisterId} replaces that canister's state: add --force to clone`);
  }
  const management = await connectToIc(ctx);
  const status = await management.status(canisterId);
  const backupHash = typeof manifest.source.moduleHash === 'string' ? manifest.source.moduleHash : null;
  const plan = {
    backup: manifest.id,
    canister: canisterId,
    clone: sourceCanister !== undefined && canisterId !== sourceCanister,
    moduleHash: { current: status.moduleHash, backup: backupHash },
    cycles: { current: status.cycles.toString(), atBackup: typeof manifest.source.cycles === 'string' ? manifest.source.cycles : null },
    wasmMemory: entrySize(manifest, SNAPSHOT_ENTRY_NAMES.wasm_memory),
    stableMemory: entrySize(manifest, SNAPSHOT_ENTRY_NAMES.stable_memory),
    wasmModule: entrySize(manifest, SNAPSHOT_ENTRY_NAMES.wasm_module),
  };
  if (dryRun) {
    if (ctx.json) ctx.outJson({ dryRun: true, ...plan });
    else {
      ctx.out(`would restore backup ${manifest.id} into canister ${canisterId}${plan.clone ? ` (a clone of ${sourceCanister})` : ''}:`);
      ctx.out(`  module hash  ${status.moduleHash ?? 'none'} → ${backupHash ?? 'unknown'}${status.moduleHash === backupHash ? ' (unchanged)' : ''}`);
      ctx.out(`  heap         ${formatBytes(plan.wasmMemory)}, stable memory ${formatBytes(plan.stableMemory)}, module ${formatBytes(plan.wasmModule)}`);
      ctx.out(`  cycles       ${plan.cycles.current} now (${plan.cycles.atBackup ?? 'unknown'} at backup; cycles are not part of a snapshot)`);
      ctx.out('  nothing was changed');
    }
    return;
  }

  // 1. Validate: every chunk is read and verified before the canister is touched.
  await run(ctx, 'verify', (signal, onProgress) => restore({ repository, manifest, sink: new VerifySink(), signal, onProgress }));
  ctx.info(`verified every chunk of backup ${manifest.id}`);
  // 2-6. Stop, upload metadata and data, load, check, start (CanisterRestoreSink).
  const state = new UploadStateFile(manifest.id, canisterId);
  const sink = new CanisterRestoreSink({
    management,
    canisterId,
    backupId: manifest.id,
    state,
    expectedModuleHash: backupHash,
    onEvent: (m) => (m.startsWith('warning: ') ? ctx.warn(m.slice(9)) : ctx.info(m)),
  });
  try {
    await run(ctx, 'upload', (signal, onProgress) => restore({ repository, manifest, sink, signal, onProgress }));
  } catch (err) {
    // Say so in the error itself (--json and -q hide the sink's messages) when a re-run resumes.
    if (err instanceof AgentvaultError && err.code !== 'ABORTED' && (await state.load())?.snapshotId !== undefined) {
      throw new AgentvaultError(err.code, `${err.message}; the upload progress is saved: run the same restore again to resume`, { cause: err });
    }
    throw err;
  }
  if (ctx.json) ctx.outJson({ restored: true, ...plan });
  else ctx.info(`restored backup ${manifest.id} into canister ${canisterId}; it is running`);
}

async function run(ctx: CommandContext, label: string, work: (signal: AbortSignal, onProgress: ProgressDisplay['update']) => Promise<void>): Promise<void> {
  const progress = new ProgressDisplay(label, process.stderr, ctx.showProgress);
  try {
    await withInterrupt((signal) => work(signal, progress.update));
  } catch (err) {
    if (err instanceof AgentvaultError && err.code === 'ABORTED') throw new AgentvaultError('ABORTED', 'interrupted; run the same restore again to resume');
    throw err;
  } finally {
    progress.done();
  }
}
