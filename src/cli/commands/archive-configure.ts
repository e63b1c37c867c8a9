// agentvault archive configure --wallet <jwk-file> | --host <url> | --region <name>=<url>[,<url>…]
// agentvault archive config show
// The settings live in the user config's `arweave` section: the wallet as a path, never a key.
import path from 'node:path';
import { normalizeGatewayUrl } from '../../arweave/client.js';
import { defaultGateway, type ArweaveSettings } from '../../arweave/gateways.js';
import { ArweaveWallet } from '../../arweave/wallet.js';
import { UsageError } from '../../errors.js';
import type { CommandContext } from '../context.js';
import type { CommandGroup } from '../command-group.js';
import { userConfigPath, writeUserConfig } from '../user-config.js';
import { arweaveSettings } from './archive-options.js';

export function registerArchiveConfigure(group: CommandGroup): void {
  group
    .command('configure', 'Set the wallet, the default gateway, or a region (named gateway list)')
    .option('--wallet <jwk-file>', 'Path of the wallet (JWK) that pays for archives; the file is read when needed, never copied')
    .option('--host <url>', 'Default gateway, e.g. https://arweave.net')
    .option('--region <name=urls>', 'Name a gateway or list: eu=https://a.example,https://b.example (repeatable; name= removes it)')
    .option('--timeout <seconds>', 'Default per-request timeout (30 unless set)')
    .option('--retries <n>', 'Default retries of a failed request (5 unless set)')
    .option('--json', 'Print the settings as JSON')
    .action(group.action(archiveConfigure));
  group
    .command('config <action>', 'config show: print the archive settings')
    .option('--json', 'Machine-readable output')
    .action(group.action(archiveConfigShow));
}

async function archiveConfigure(ctx: CommandContext): Promise<void> {
  const o = ctx.opts;
  const config = await ctx.userConfig();
  const settings: ArweaveSettings = { ...(config.arweave ?? {}), ...(config.arweave?.regions ? { regions: { ...config.arweave.regions } } : {}) };
  const wallet = o.string('wallet');
  const host = o.string('host');
  const regions = o.strings('region');
  const timeout = o.string('timeout');
  const retries = o.int('retries', { min: 0, max: 100 });
  if (wallet === undefined && host === undefined && regions.length === 0 && timeout === undefined && retries === undefined) {
    throw new UsageError('give --wallet <jwk-file>, --host <url>, --region <name>=<url>, --timeout or --retries; `agentvault archive config show` prints the settings');
  }
  if (timeout !== undefined) {
    const seconds = Number(timeout);
    if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--timeout takes seconds, got ${JSON.stringify(timeout)}`);
    settings.timeout = seconds;
  }
  if (retries !== undefined) settings.retries = retries;
  if (wallet !== undefined) {
    const file = path.resolve(wallet);
    const loaded = await ArweaveWallet.load(file); // refuse a file that is not a wallet now, not at upload time
    for (const w of loaded.warnings) ctx.warn(w);
    settings.wallet = file;
    ctx.info(`wallet ${loaded.wallet.address} (${file})`);
  }
  if (host !== undefined) settings.host = normalizeGatewayUrl(host);
  for (const spec of regions) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new UsageError(`--region takes name=url[,url…], got ${JSON.stringify(spec)}`);
    const name = spec.slice(0, eq).trim();
    const urls = spec
      .slice(eq + 1)
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean)
      .map(normalizeGatewayUrl);
    if (name === 'nearest') throw new UsageError('"nearest" is not a region name: it means the fastest configured gateway');
    settings.regions ??= {};
    if (urls.length === 0) delete settings.regions[name];
    else settings.regions[name] = urls;
  }
  await writeUserConfig({ ...config, arweave: settings });
  await show(ctx, settings);
  ctx.info(`saved to ${userConfigPath(ctx.io.env)}`);
}

async function archiveConfigShow(ctx: CommandContext, action: string): Promise<void> {
  if (action !== 'show') throw new UsageError(`unknown action ${JSON.stringify(action)}: use \`agentvault archive config show\``);
  await show(ctx, await arweaveSettings(ctx));
}

async function show(ctx: CommandContext, settings: ArweaveSettings): Promise<void> {
  let address: string | undefined;
  if (settings.wallet) address = await ArweaveWallet.load(settings.wallet).then((w) => w.wallet.address, () => undefined);
  const effective = defaultGateway(settings, undefined, ctx.io.env);
  if (ctx.json) {
    ctx.outJson({ host: settings.host ?? null, gateway: effective, wallet: settings.wallet ?? null, address: address ?? null, regions: settings.regions ?? {}, timeout: settings.timeout ?? null, retries: settings.retries ?? null });
    return;
  }
  ctx.out(`gateway: ${effective}${settings.host === undefined ? ' (default)' : ''}`);
  ctx.out(`wallet:  ${settings.wallet ? `${settings.wallet}${address ? ` (${address})` : ' (unreadable)'}` : '(none: archive configure --wallet <jwk-file>)'}`);
  const regions = Object.entries(settings.regions ?? {});
  if (regions.length === 0) ctx.out('regions: (none)');
  for (const [name, urls] of regions) ctx.out(`region ${name}: ${urls.join(', ')}`);
  ctx.out(`timeout: ${settings.timeout ?? 30} s, retries: ${settings.retries ?? 5}`);
}
