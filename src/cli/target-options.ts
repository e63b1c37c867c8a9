// Options shared by every command that restores into files: backup restore, its canister form
// (--to-snapshot-dir) and archive restore.
import type { FileTargetOptions } from '../sinks/files.js';
import type { CommandContext } from './context.js';

/** --force and --sparse, for the file and directory sinks. */
export function fileTargetOptions(ctx: CommandContext): FileTargetOptions {
  return { force: ctx.opts.bool('force') === true, sparse: ctx.opts.bool('sparse') === true };
}
