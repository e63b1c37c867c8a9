// Which IC to talk to: `local` (a dfx/icp replica or agentvault's emulator), `ic` (mainnet), or a URL.
import { AgentvaultError } from '../errors.js';

export const MAINNET_URL = 'https://icp-api.io';
export const LOCAL_URL = 'http://127.0.0.1:4943';

export interface Network {
  readonly name: string;
  readonly url: string;
  /** Local replicas have their own root key; mainnet's is built into the agent and never fetched. */
  readonly fetchRootKey: boolean;
}

export function resolveNetwork(network: string | undefined, env: NodeJS.ProcessEnv = process.env): Network {
  const name = network ?? env.AGENTVAULT_NETWORK ?? 'local';
  if (name === 'ic') return { name, url: MAINNET_URL, fetchRootKey: false };
  if (name === 'local') return { name, url: env.AGENTVAULT_LOCAL_URL ?? LOCAL_URL, fetchRootKey: true };
  let url: URL;
  try {
    url = new URL(name);
  } catch {
    throw new AgentvaultError('USAGE', `--network must be local, ic or a URL, got ${JSON.stringify(name)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AgentvaultError('USAGE', `--network URL must be http or https: ${name}`);
  const mainnet = /(^|\.)(icp-api\.io|ic0\.app|icp0\.io)$/.test(url.hostname);
  return { name: url.origin, url: url.origin, fetchRootKey: !mainnet };
}
