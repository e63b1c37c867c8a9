// `agentvault backup restore --arweave <manifest-tx-id> [--target …|--stdout]`: restore on a
// machine with no repository. The manifest transaction carries the config, key files, manifest
// and pack list; the packs are fetched (and checked) into a scratch repository in the temp
// directory, the usual restore pipeline verifies every chunk again, and the scratch copy is
// removed afterwards.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { downloadArchive } from '../../arweave/download.js';
import { AgentvaultError, UsageError } from '../../errors.js';
import { unlockKeys } from '../../repository/keys.js';
import { restore } from '../../restore.js';
import { checkTarget, DirectorySink, FileSink } from '../../sinks/files.js';
import { fileTargetOptions } from '../target-options.js';
import { ByteStreamSink } from '../../sinks/stream.js';
import { ArweaveArchive } from '../../sources/arweave.js';
import type { CommandContext } from '../context.js';
import { formatBytes } from '../format.js';
import { withInterrupt } from '../interrupt.js';
import { ProgressDisplay } from '../progress-display.js';
import { archiveCredentials, readClients } from './archive-options.js';

export async function restoreFromArweave(ctx: CommandContext, tx: string): Promise<void> {
  const opts = ctx.opts;
  const target = opts.string('target');
  const toStdout = opts.bool('stdout') === true;
  const dryRun = opts.bool('dry-run') === true;
  const force = opts.bool('force') === true;
  if (target !== undefined && toStdout) throw new UsageError('give --target or --stdout, not both');
  if (target === undefined && !toStdout && !dryRun) throw new UsageError('where to? give --target <path> or --stdout');

  const clients = await readClients(ctx, undefined);
  await withInterrupt(async (signal) => {
    const archive = await ArweaveArchive.fetch(clients, tx, signal);
    ctx.info(`archive ${tx} from ${archive.gateway}: backup ${archive.backupId}, signed by ${archive.owner}`);
    const credentials = await archiveCredentials(ctx, archive.body.encrypted);

    if (dryRun) {
      const keys = await unlockKeys(archive.body.keyFiles, credentials, archive.config.id);
      const { manifest, packs } = archive.open(archive.body.encrypted ? keys.write.metaKey : undefined);
      const download = packs.reduce((n, p) => n + p.pack.size, 0);
      const plan = { backup: manifest.id, transaction: tx, target: target ?? (toStdout ? '-' : null), entries: manifest.entries.map((e) => ({ name: e.name, kind: e.kind, size: e.size })), logicalSize: manifest.stats.logicalSize, packs: packs.length, downloadBytes: download };
      if (ctx.json) ctx.outJson(plan);
      else {
        ctx.out(`would restore backup ${manifest.id} (${manifest.type} of ${manifest.source.name}, ${formatBytes(manifest.stats.logicalSize)}, ${manifest.entries.length} entries) from ${packs.length} pack transaction(s), ${formatBytes(download)} to download`);
        for (const e of manifest.entries.slice(0, 20)) ctx.out(`  ${e.kind.padEnd(9)} ${formatBytes(e.size).padStart(10)}  ${e.name}`);
      }
      return;
    }
    if (target !== undefined) await checkTarget(target, force);

    const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'agentvault-arweave-'));
    try {
      const { repository, manifest, downloadedBytes } = await downloadArchive({
        archive,
        path: path.join(scratch, 'repository'),
        credentials,
        signal,
        onPack: (bytes, done, total) => ctx.info(`pack ${done}/${total} (${formatBytes(bytes)}) downloaded and checked`),
      });
      const single = manifest.entries.length === 1 && !['directory', 'symlink'].includes(manifest.entries[0]!.kind);
      if (toStdout && !single) throw new UsageError(`backup ${manifest.id} has ${manifest.entries.length} entries; restore it to a directory with --target`);
      if (opts.bool('verify')) {
        await restore({ repository, manifest, sink: new Writable({ objectMode: true, write: (_r, _e, cb) => cb() }), signal });
        ctx.info(`verified every chunk of backup ${manifest.id}`);
      }
      const sink = toStdout ? new ByteStreamSink(process.stdout) : single ? new FileSink(target!, fileTargetOptions(ctx)) : new DirectorySink(target!, fileTargetOptions(ctx));
      const progress = new ProgressDisplay('restore', process.stderr, ctx.showProgress);
      await restore({ repository, manifest, sink, signal, onProgress: progress.update }).finally(() => progress.done());
      const summary = { backup: manifest.id, transaction: tx, target: target ?? '-', logicalSize: manifest.stats.logicalSize, entries: manifest.entries.length, downloadedBytes };
      if (ctx.json && !toStdout) ctx.outJson(summary);
      else ctx.info(`restored backup ${manifest.id} (${formatBytes(manifest.stats.logicalSize)}) from Arweave to ${target ?? 'stdout'}`);
    } catch (err) {
      if (err instanceof AgentvaultError && err.code === 'CORRUPT' && !err.message.includes(tx)) {
        throw new AgentvaultError('CORRUPT', `restoring archive ${tx}: ${err.message}`, { cause: err });
      }
      throw err;
    } finally {
      await fs.rm(scratch, { recursive: true, force: true });
    }
  });
}
