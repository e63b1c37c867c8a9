// agentvault config show [--json]: the IC settings, under the names config set takes.
import type { CommandGroup } from '../command-group.js';
import type { CommandContext } from '../context.js';
import { IC_SETTING_KEYS, showValue } from '../ic-settings.js';
import { userConfigPath } from '../user-config.js';

export function registerConfigShow(group: CommandGroup): void {
  group.command('show', 'Show the IC settings (backup defaults: agentvault backup config)').option('--json', 'Print them as JSON').action(group.action(configShow));
}

async function configShow(ctx: CommandContext): Promise<void> {
  const ic = (await ctx.userConfig()).ic ?? {};
  if (ctx.json) {
    ctx.outJson(ic);
    return;
  }
  const set = Object.entries(IC_SETTING_KEYS).filter(([, spec]) => ic[spec.field] !== undefined);
  if (set.length === 0) ctx.out('no IC settings');
  for (const [key, spec] of set) ctx.out(`${key} = ${showValue(ic[spec.field])}`);
  ctx.info(`from ${userConfigPath()}`);
}
