// The user's settings (`agentvault backup config`, `agentvault config set`), kept as JSON in
// the user config dir. Never holds secrets.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ArweaveSettings } from '../arweave/gateways.js';
import { AgentvaultError } from '../errors.js';

export interface UserConfig {
  version: 1;
  /** Defaults for `backup create` and friends. */
  backup?: {
    destination?: string;
    project?: string;
    compression?: string;
    level?: number;
    excludes?: string[];
  };
  /** The IC side: network, identity, the canisters `--all` and `list` mean, deploy and health settings. */
  ic?: {
    network?: string;
    identity?: string;
    identityPem?: string;
    canisters?: string[];
    preDeploymentBackup?: boolean;
    minCycles?: string;
  };
  /** Gateways and the wallet path for `agentvault archive` (`archive configure`). */
  arweave?: ArweaveSettings;
  [section: string]: unknown;
}

export function userConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AGENTVAULT_CONFIG) return path.resolve(env.AGENTVAULT_CONFIG);
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'agentvault', 'config.json');
}

export function defaultRepositoryPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'agentvault', 'repository');
}

export async function readUserConfig(file = userConfigPath()): Promise<UserConfig> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1 };
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as UserConfig;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return { ...parsed, version: 1 };
  } catch {
    throw new AgentvaultError('INPUT', `the config file ${file} is not valid JSON; fix or remove it`);
  }
}

export async function writeUserConfig(config: UserConfig, file = userConfigPath()): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  await fs.rename(tmp, file);
}
