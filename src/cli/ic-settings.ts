// The `ic` section of the user config as `agentvault config set|unset|show` names its keys, with
// the checks each value gets before it is saved.
import path from 'node:path';
import { Principal } from '@dfinity/principal';
import { UsageError } from '../errors.js';
import { loadIdentity } from '../ic/identity.js';
import { resolveNetwork } from '../ic/network.js';
import { parseCycles } from './cycles.js';
import type { UserConfig } from './user-config.js';

export type IcSettings = NonNullable<UserConfig['ic']>;

interface KeySpec {
  readonly field: keyof IcSettings;
  readonly help: string;
  readonly example: string;
  /** Checks and converts a value given on the command line. */
  parse(value: string, env: NodeJS.ProcessEnv): Promise<IcSettings[keyof IcSettings]>;
}

export const IC_SETTING_KEYS: Readonly<Record<string, KeySpec>> = {
  network: {
    field: 'network',
    help: 'local, ic, or a replica URL',
    example: 'ic',
    parse: async (v, env) => {
      resolveNetwork(v, env);
      return v;
    },
  },
  identity: {
    field: 'identity',
    help: 'dfx identity name',
    example: 'default',
    parse: async (v) => {
      if (v === '' || /[/\\]/.test(v)) throw new UsageError(`identity takes a dfx identity name, got ${JSON.stringify(v)}; for a file use identity-pem`);
      return v;
    },
  },
  'identity-pem': {
    field: 'identityPem',
    help: 'identity PEM file (stored as an absolute path)',
    example: '~/.config/dfx/identity/default/identity.pem',
    parse: async (v, env) => {
      const file = path.resolve(v);
      await loadIdentity({ pemFile: file }, env); // fails now rather than at the next backup
      return file;
    },
  },
  canisters: {
    field: 'canisters',
    help: 'comma-separated canister ids (backup create --all, list); "" clears',
    example: 'rrkah-fqaaa-aaaaa-aaaaq-cai,ryjl3-tyaaa-aaaaa-aaaba-cai',
    parse: async (v) =>
      v
        .split(',')
        .map((c) => c.trim())
        .filter((c) => c !== '')
        .map((c) => {
          try {
            return Principal.fromText(c).toText();
          } catch {
            throw new UsageError(`${JSON.stringify(c)} is not a canister id`);
          }
        }),
  },
  'pre-deployment-backup': {
    field: 'preDeploymentBackup',
    help: 'true or false: deploy backs the canister up first',
    example: 'true',
    parse: async (v) => {
      if (/^(true|yes|on|1)$/i.test(v)) return true;
      if (/^(false|no|off|0)$/i.test(v)) return false;
      throw new UsageError(`pre-deployment-backup is true or false, got ${JSON.stringify(v)}`);
    },
  },
  'min-cycles': {
    field: 'minCycles',
    help: 'health: fewest cycles that count as healthy, e.g. 2T',
    example: '2T',
    parse: async (v) => parseCycles(v, 'min-cycles').toString(),
  },
};

export function keySpec(key: string): KeySpec {
  const spec = IC_SETTING_KEYS[key];
  if (!spec) throw new UsageError(`unknown key ${JSON.stringify(key)}; keys: ${Object.keys(IC_SETTING_KEYS).join(', ')}`);
  return spec;
}

/** A value as `config show` prints it. */
export function showValue(value: unknown): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}
