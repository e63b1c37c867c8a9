// agentvault backup config [--project <path>] [--destination <path>] [--algorithm a] [--level n] [--exclude p]
// Stores defaults for backup create in the user config; prints the result.
import path from 'node:path';
import { isCodecName } from '../../codecs/index.js';
import { UsageError } from '../../errors.js';
import { assertProjectRoot } from '../../sources/project-walk.js';
import type { CommandContext } from '../context.js';
import type { CommandGroup } from '../command-group.js';
import { userConfigPath, writeUserConfig } from '../user-config.js';

export function registerBackupConfig(group: CommandGroup): void {
  group
    .command('config', 'Set defaults for backup create (no options: show them)')
    .option('--project <path>', 'Project directory backed up by default')
    .option('--destination <path>', 'Default repository path')
    .option('--algorithm <algorithm>', 'Default compression: zstd, brotli, gzip, none')
    .option('--level <n>', 'Default compression level')
    .option('--exclude <pattern>', 'Default extra exclude (repeatable; replaces the list)')
    .option('--json', 'Print the settings as JSON')
    .action(group.action(backupConfig));
}

async function backupConfig(ctx: CommandContext): Promise<void> {
  const o = ctx.opts;
  const config = await ctx.userConfig();
  const backup = { ...(config.backup ?? {}) };
  let changed = false;
  const project = o.string('project');
  if (project !== undefined) {
    backup.project = await assertProjectRoot(project).catch((err: Error) => {
      throw new UsageError(err.message);
    });
    changed = true;
  }
  const destination = o.string('destination');
  if (destination !== undefined) {
    backup.destination = path.resolve(destination);
    changed = true;
  }
  const algorithm = o.string('algorithm');
  if (algorithm !== undefined) {
    if (!isCodecName(algorithm)) throw new UsageError(`unknown compression ${JSON.stringify(algorithm)}: use zstd, brotli, gzip or none`);
    backup.compression = algorithm;
    changed = true;
  }
  const level = o.int('level');
  if (level !== undefined) {
    backup.level = level;
    changed = true;
  }
  const excludes = o.strings('exclude');
  if (excludes.length > 0) {
    backup.excludes = excludes;
    changed = true;
  }
  if (changed) await writeUserConfig({ ...config, backup });
  if (ctx.json) ctx.outJson(backup);
  else {
    ctx.out(Object.keys(backup).length === 0 ? 'no backup defaults set' : Object.entries(backup).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`).join('\n'));
    if (changed) ctx.info(`saved to ${userConfigPath()}`);
  }
}
