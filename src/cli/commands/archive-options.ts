// What the archive and wallet commands share: gateway options, the wallet (from a file path
// only), password handling for archives, and reading the archive state without a password.
import path from 'node:path';
import type { Command } from 'cac';
import { ArchiveState } from '../../arweave/archive-state.js';
import { GatewayClient, type ClientOptions } from '../../arweave/client.js';
import { clientsFor, defaultGateway, knownGateways, rankByLatency, regionGateways, type ArweaveSettings } from '../../arweave/gateways.js';
import { ArweaveWallet } from '../../arweave/wallet.js';
import { LocalBackend } from '../../backend/local.js';
import { AgentvaultError, UsageError } from '../../errors.js';
import { parseConfig } from '../../repository/config.js';
import type { Credentials } from '../../repository/keys.js';
import type { CommandContext } from '../context.js';
import { askPassword } from '../credentials.js';
import { terminalAvailable } from '../prompt.js';

export function withGatewayOptions(cmd: Command): Command {
  return cmd
    .option('--host <url>', 'Gateway URL (default: $AGENTVAULT_ARWEAVE_HOST, the configured host, or https://arweave.net)')
    .option('--timeout <seconds>', 'Give up on a request after this long (default 30)')
    .option('--retries <n>', 'Retries of a request that failed with 429, 5xx, a network error or a timeout (default 5)');
}

export async function arweaveSettings(ctx: CommandContext): Promise<ArweaveSettings> {
  return (await ctx.userConfig()).arweave ?? {};
}

/** --timeout / --retries, else the configured defaults, else the client's (30 s, 5). */
export async function clientOptions(ctx: CommandContext): Promise<ClientOptions> {
  const settings = await arweaveSettings(ctx);
  const raw = ctx.opts.string('timeout');
  let timeoutMs = settings.timeout !== undefined ? Math.round(settings.timeout * 1000) : undefined;
  if (raw !== undefined) {
    const seconds = Number(raw);
    if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--timeout takes seconds, got ${JSON.stringify(raw)}`);
    timeoutMs = Math.round(seconds * 1000);
  }
  const retries = ctx.opts.int('retries', { min: 0, max: 100 }) ?? settings.retries;
  return {
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(retries !== undefined ? { retries } : {}),
    onRetry: (e) => ctx.info(`${e.error.message}; retrying (${e.retriesLeft} ${e.retriesLeft === 1 ? 'retry' : 'retries'} left)`),
  };
}

export async function primaryGateway(ctx: CommandContext): Promise<string> {
  return defaultGateway(await arweaveSettings(ctx), ctx.opts.string('host'), ctx.io.env);
}

/** Where to upload: the gateways of --regions, else the default gateway. */
export async function uploadClients(ctx: CommandContext): Promise<GatewayClient[]> {
  const regions = ctx.opts.string('regions');
  const urls = regions !== undefined ? regionGateways(await arweaveSettings(ctx), regions.split(',')) : [await primaryGateway(ctx)];
  return clientsFor(urls, await clientOptions(ctx));
}

/**
 * Where to read from, in the order to try: `nearest` ranks every configured gateway by measured
 * latency; a region name gives its gateways; nothing gives the default gateway, or (when regions
 * are configured and no --host is given) every configured gateway, nearest first.
 */
export async function readClients(ctx: CommandContext, region: string | undefined): Promise<GatewayClient[]> {
  const settings = await arweaveSettings(ctx);
  const primary = await primaryGateway(ctx);
  const options = await clientOptions(ctx);
  const hasRegions = Object.keys(settings.regions ?? {}).length > 0;
  if (region === 'nearest' || (region === undefined && hasRegions && ctx.opts.string('host') === undefined)) {
    const ranked = await rankByLatency(clientsFor(knownGateways(settings, primary), options));
    for (const r of ranked) ctx.info(`gateway ${r.client.url}: ${r.latencyMs === undefined ? 'unreachable' : `${r.latencyMs.toFixed(0)} ms`}`);
    return ranked.map((r) => r.client);
  }
  if (region !== undefined) return clientsFor(regionGateways(settings, region.split(',')), options);
  return [new GatewayClient(primary, options)];
}

/** --wallet, else AGENTVAULT_ARWEAVE_WALLET, else the configured path. Never printed. */
export async function loadWallet(ctx: CommandContext): Promise<ArweaveWallet> {
  const file = ctx.opts.string('wallet') ?? (ctx.io.env.AGENTVAULT_ARWEAVE_WALLET || undefined) ?? (await arweaveSettings(ctx)).wallet;
  if (file === undefined) throw new UsageError('no wallet: give --wallet <jwk-file> or set one with `agentvault archive configure --wallet <jwk-file>`');
  const { wallet, warnings } = await ArweaveWallet.load(path.resolve(file));
  for (const w of warnings) ctx.warn(w);
  return wallet;
}

/** The archive state of the repository at the usual path, opened without a password. */
export async function openArchiveState(ctx: CommandContext): Promise<{ state: ArchiveState; location: string } | undefined> {
  const store = new LocalBackend(await ctx.repositoryPath());
  let configBytes: Buffer;
  try {
    configBytes = await store.read('config', 'config');
  } catch (err) {
    if (err instanceof AgentvaultError && err.code === 'NOT_FOUND') return undefined;
    throw err;
  }
  const config = parseConfig(configBytes, store.location);
  return { state: await ArchiveState.open(store.location, config.id), location: store.location };
}

/** The password or key file for an archive, asking on the terminal when nothing was given. */
export async function archiveCredentials(ctx: CommandContext, encrypted: boolean): Promise<Credentials> {
  const gathered = await ctx.credentials();
  const given = gathered.password !== undefined || (gathered.identities?.length ?? 0) > 0 || (gathered.recipients?.length ?? 0) > 0;
  if (gathered.wantsPrompt || (encrypted && !given && terminalAvailable())) return { ...gathered, password: await askPassword(false) };
  if (encrypted && !given) throw new AgentvaultError('NEED_KEY', 'this archive is encrypted: give the password (AGENTVAULT_PASSWORD, --password-file) or the age key file (--key-file)');
  return gathered;
}

/**
 * A transaction id argument: the positional one, or the first after `--` (where CommandGroup moves
 * an id that starts with "-", see dashed-ids.ts, and where a user may put one).
 */
export function txArgument(ctx: CommandContext, positional: string | undefined, required: boolean): string | undefined {
  const rest = ctx.opts.parsed['--'];
  const tx = positional ?? (Array.isArray(rest) && typeof rest[0] === 'string' ? rest[0] : undefined);
  if (tx === undefined && required) throw new UsageError('give the transaction id (one starting with "-" goes after `--`)');
  return tx;
}

export function parseChunkSize(ctx: CommandContext): number | undefined {
  return ctx.opts.int('chunk-size', { min: 1 });
}
