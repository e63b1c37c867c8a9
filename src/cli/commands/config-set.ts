// agentvault config set <key> <value>: one IC setting, checked before it is saved.
import type { CommandGroup } from '../command-group.js';
import type { CommandContext } from '../context.js';
import { IC_SETTING_KEYS, keySpec, showValue } from '../ic-settings.js';
import { userConfigPath, writeUserConfig } from '../user-config.js';

export function registerConfigSet(group: CommandGroup): void {
  const cmd = group.command('set <key> <value>', `Set an IC setting: ${Object.keys(IC_SETTING_KEYS).join(', ')}`).option('--json', 'Print the IC settings as JSON');
  for (const [key, spec] of Object.entries(IC_SETTING_KEYS)) cmd.example(`  agentvault config set ${key} ${spec.example}\n      ${spec.help}`);
  cmd.action(group.action(configSet));
}

async function configSet(ctx: CommandContext, key: string, value: string): Promise<void> {
  const spec = keySpec(key);
  const parsed = await spec.parse(value, ctx.io.env);
  const config = await ctx.userConfig();
  const ic = { ...(config.ic ?? {}), [spec.field]: parsed };
  await writeUserConfig({ ...config, ic });
  if (ctx.json) ctx.outJson(ic);
  else {
    ctx.out(`${key} = ${showValue(parsed)}`);
    ctx.info(`saved to ${userConfigPath()}`);
  }
}
