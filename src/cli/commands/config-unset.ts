// agentvault config unset <key>: back to the default.
import type { CommandGroup } from '../command-group.js';
import type { CommandContext } from '../context.js';
import { keySpec } from '../ic-settings.js';
import { userConfigPath, writeUserConfig } from '../user-config.js';

export function registerConfigUnset(group: CommandGroup): void {
  group.command('unset <key>', 'Remove an IC setting (back to its default)').action(group.action(configUnset));
}

async function configUnset(ctx: CommandContext, key: string): Promise<void> {
  const spec = keySpec(key);
  const config = await ctx.userConfig();
  const ic = { ...(config.ic ?? {}) };
  if (!(spec.field in ic)) {
    ctx.info(`${key} is not set`);
    return;
  }
  delete ic[spec.field];
  await writeUserConfig({ ...config, ic });
  ctx.info(`removed ${key} from ${userConfigPath()}`);
}
