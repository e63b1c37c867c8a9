// agentvault deploy <canister-id> --wasm <file> [--mode upgrade|install|reinstall]
// install_code, after a backup of the canister when `config set pre-deployment-backup true`
// (or --backup). A failed backup means no deploy.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { AgentvaultError, UsageError } from '../../errors.js';
import { MAX_INSTALL_CODE_BYTES } from '../../ic/management.js';
import { backupCanister } from '../canister-backup.js';
import { withRepositoryOptions, type CommandGroup } from '../command-group.js';
import type { CommandContext } from '../context.js';
import { formatBytes } from '../format.js';
import { connectToIc, withIcOptions } from '../ic-options.js';

/** Candid for "no arguments", `()`: what dfx sends when a canister takes none. */
const EMPTY_CANDID_ARGS = Uint8Array.from([0x44, 0x49, 0x44, 0x4c, 0x00, 0x00]);

export function registerDeployCommand(group: CommandGroup): void {
  const cmd = group
    .command('<canister-id>', 'Install a Wasm module into a canister (default: upgrade), backing it up first when pre-deployment-backup is on')
    .option('--wasm <file>', 'The Wasm module (optionally gzipped) to install')
    .option('--mode <mode>', 'upgrade (default: keeps stable memory), install (empty canister) or reinstall (wipes state)')
    .option('--arg-file <file>', 'Install argument as binary Candid (default: no arguments)')
    .option('--backup', 'Back the canister up first (default: config pre-deployment-backup); --no-backup skips it');
  withIcOptions(withRepositoryOptions(cmd)).action(group.action(deploy));
}

async function deploy(ctx: CommandContext, canisterId: string): Promise<void> {
  const wasmFile = ctx.opts.string('wasm');
  if (wasmFile === undefined) throw new UsageError('which module? give --wasm <file>');
  const mode = ctx.opts.choice('mode', ['upgrade', 'install', 'reinstall'] as const) ?? 'upgrade';
  const wasm = await readInput(wasmFile, 'the Wasm module');
  if (wasm.length > MAX_INSTALL_CODE_BYTES) {
    throw new AgentvaultError('INPUT', `${wasmFile} is ${formatBytes(wasm.length)}; one install_code call takes at most ${formatBytes(MAX_INSTALL_CODE_BYTES)} (gzip it; chunked installs are not supported yet)`);
  }
  const argFile = ctx.opts.string('arg-file');
  const arg = argFile !== undefined ? await readInput(argFile, 'the install argument') : EMPTY_CANDID_ARGS;
  const wantBackup = ctx.opts.has('backup') ? ctx.opts.bool('backup') === true : (await ctx.userConfig()).ic?.preDeploymentBackup === true;

  const management = await connectToIc(ctx);
  const before = await management.status(canisterId);
  // Checked here too, so a doomed install does not cost a backup first.
  if (mode === 'install' && before.moduleHash !== null) throw new UsageError(`canister ${canisterId} already has code; --mode install is for an empty canister: use upgrade or reinstall`);
  if (mode === 'upgrade' && before.moduleHash === null) throw new UsageError(`canister ${canisterId} has no code to upgrade: use --mode install`);
  let backupId: string | null = null;
  if (wantBackup) {
    if (before.moduleHash === null) ctx.info(`canister ${canisterId} has no code yet: nothing to back up`);
    else {
      try {
        backupId = (await backupCanister(ctx, management, canisterId, { reason: 'pre-deployment' })).id;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        throw new AgentvaultError(err instanceof AgentvaultError ? err.code : 'REJECTED', `the pre-deployment backup of canister ${canisterId} failed, so nothing was deployed: ${message}`, { cause: err });
      }
      if (!ctx.json) ctx.out(`pre-deployment backup ${backupId}`);
    }
  }

  ctx.info(`installing ${formatBytes(wasm.length)} into canister ${canisterId} (${mode})`);
  await management.installCode(canisterId, wasm, mode, arg);
  const after = await management.status(canisterId);
  const expected = createHash('sha256').update(wasm).digest('hex');
  if (after.moduleHash !== expected) {
    throw new AgentvaultError('REJECTED', `after install_code, canister ${canisterId} reports module hash ${after.moduleHash ?? 'none'}, not ${expected}`);
  }
  if (ctx.json) ctx.outJson({ canisterId, mode, moduleHash: after.moduleHash, previousModuleHash: before.moduleHash, backup: backupId });
  else ctx.out(`deployed module ${after.moduleHash} to canister ${canisterId} (${mode})`);
}

async function readInput(file: string, what: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    throw new AgentvaultError('INPUT', `cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}
