// Which gateways to talk to. Arweave has no regions: a "region" here is a name in the user config
// for one gateway or a list of them. Uploading to several seeds the same signed transactions to
// each; reading picks the gateway with the lowest measured latency ("nearest") and falls back to
// the next one when a gateway fails or serves data that does not verify.
import { AgentvaultError, UsageError } from '../errors.js';
import { GatewayClient, normalizeGatewayUrl, type ClientOptions } from './client.js';

/** The `arweave` section of the user config. Paths only: never a key. */
export interface ArweaveSettings {
  /** The default gateway. */
  host?: string;
  /** Path of the wallet's JWK file. */
  wallet?: string;
  /** Region name → gateway URLs. */
  regions?: Record<string, string[]>;
  /** Default per-request timeout, seconds. */
  timeout?: number;
  /** Default retries of a failed request. */
  retries?: number;
}

export const DEFAULT_GATEWAY = 'https://arweave.net';

/** --host, else AGENTVAULT_ARWEAVE_HOST, else the configured host, else arweave.net. */
export function defaultGateway(settings: ArweaveSettings, override?: string, env: NodeJS.ProcessEnv = process.env): string {
  return normalizeGatewayUrl(override ?? (env.AGENTVAULT_ARWEAVE_HOST || undefined) ?? settings.host ?? DEFAULT_GATEWAY);
}

/** Gateways of the named regions (a URL stands for itself), in order, without repeats. */
export function regionGateways(settings: ArweaveSettings, names: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of names) {
    const name = raw.trim();
    if (name === '') continue;
    const urls = settings.regions?.[name] ?? (/^https?:\/\//.test(name) ? [name] : undefined);
    if (!urls) {
      const known = Object.keys(settings.regions ?? {});
      throw new UsageError(`unknown region ${JSON.stringify(name)}: ${known.length ? `configured regions are ${known.join(', ')}` : 'none is configured'} (agentvault archive configure --region ${name}=<url>[,<url>…])`);
    }
    for (const url of urls) {
      const normalized = normalizeGatewayUrl(url);
      if (!out.includes(normalized)) out.push(normalized);
    }
  }
  if (out.length === 0) throw new UsageError('--regions names no gateway');
  return out;
}

/** Every gateway the config knows: the default first, then each region's. */
export function knownGateways(settings: ArweaveSettings, primary: string): string[] {
  const out = [primary];
  for (const urls of Object.values(settings.regions ?? {})) {
    for (const url of urls) {
      const normalized = normalizeGatewayUrl(url);
      if (!out.includes(normalized)) out.push(normalized);
    }
  }
  return out;
}

export function clientsFor(urls: readonly string[], options: ClientOptions): GatewayClient[] {
  return urls.map((url) => new GatewayClient(url, options));
}

/** Gateways by measured latency, fastest first; unreachable ones go last, in their given order. */
export async function rankByLatency(clients: readonly GatewayClient[], signal?: AbortSignal): Promise<Array<{ client: GatewayClient; latencyMs: number | undefined }>> {
  const measured = await Promise.all(
    clients.map(async (client, order) => ({ client, order, latencyMs: await client.latency(signal).catch(() => undefined) })),
  );
  return measured
    .sort((a, b) => (a.latencyMs ?? Infinity) - (b.latencyMs ?? Infinity) || a.order - b.order)
    .map(({ client, latencyMs }) => ({ client, latencyMs }));
}

/**
 * Runs `fn` against each gateway in turn until one succeeds. An interrupted command is not
 * retried elsewhere. With one gateway its error passes through unchanged.
 */
export async function withFallback<T>(clients: readonly GatewayClient[], what: string, fn: (client: GatewayClient) => Promise<T>, signal?: AbortSignal): Promise<T> {
  const failures: Array<{ client: GatewayClient; error: Error }> = [];
  for (const client of clients) {
    try {
      return await fn(client);
    } catch (err) {
      if (signal?.aborted || clients.length === 1) throw err;
      failures.push({ client, error: err as Error });
    }
  }
  if (failures.length === 0) throw new UsageError(`no gateway to ${what}`);
  const first = failures[0]!.error;
  const summary = failures.map((f) => `${f.client.url}: ${f.error.message}`).join('; ');
  if (first instanceof AgentvaultError) throw new AgentvaultError(first.code, `${what} failed at every gateway — ${summary}`, { cause: first });
  throw new Error(`${what} failed at every gateway — ${summary}`, { cause: first });
}
