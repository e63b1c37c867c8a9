// agentvault list [--format ids|table|json]: the canisters in the config (config set canisters).
import { resolveNetwork } from '../../ic/network.js';
import type { CommandGroup } from '../command-group.js';
import type { CommandContext } from '../context.js';
import { formatTable } from '../format.js';
import { userConfigPath } from '../user-config.js';

export function registerListCommand(group: CommandGroup): void {
  group
    .command('', 'List the canisters in the config (agentvault config set canisters <id>,<id>)')
    .option('--format <format>', 'ids (one per line), table (default) or json')
    .option('--json', 'Same as --format json')
    .action(group.action(list));
}

async function list(ctx: CommandContext): Promise<void> {
  const format = ctx.json ? 'json' : (ctx.opts.choice('format', ['ids', 'table', 'json'] as const) ?? 'table');
  const ic = (await ctx.userConfig()).ic ?? {};
  const canisters = ic.canisters ?? [];
  const network = resolveNetwork(ic.network, ctx.io.env);
  if (format === 'json') {
    ctx.outJson({ network: network.name, url: network.url, canisters });
    return;
  }
  if (format === 'ids') {
    for (const c of canisters) ctx.out(c);
    return;
  }
  if (canisters.length === 0) {
    ctx.info(`no canisters in ${userConfigPath()}; add them with: agentvault config set canisters <id>,<id>`);
    return;
  }
  ctx.out(formatTable(['#', 'CANISTER', 'NETWORK'], canisters.map((c, i) => [String(i + 1), c, network.name === network.url ? network.url : `${network.name} (${network.url})`]), new Set([0])));
}
