// Options and connection shared by every command that talks to the IC.
import type { Command } from 'cac';
import { DEFAULT_STOP_TIMEOUT_MS } from '../ic/constants.js';
import type { CanisterManagement } from '../ic/management.js';
import { resolveNetwork } from '../ic/network.js';
import type { CommandContext } from './context.js';

/** --network, --identity, --identity-pem: what every IC command takes. */
export function withIcConnectionOptions(cmd: Command): Command {
  return cmd
    .option('--network <network>', 'local (default), ic, or a replica URL')
    .option('--identity <name>', 'dfx identity name (~/.config/dfx/identity/<name>/identity.pem)')
    .option('--identity-pem <file>', 'Identity PEM file (Ed25519 or secp256k1, as dfx/icp write them)');
}

/** The connection options plus --stop-timeout, for commands that stop canisters. */
export function withIcOptions(cmd: Command): Command {
  return withIcConnectionOptions(cmd).option('--stop-timeout <seconds>', `How long to wait for a canister to stop (default ${DEFAULT_STOP_TIMEOUT_MS / 1000})`);
}

export async function connectToIc(ctx: CommandContext): Promise<CanisterManagement> {
  const ic = (await ctx.userConfig()).ic ?? {};
  const network = resolveNetwork(ctx.opts.string('network') ?? ic.network, ctx.io.env);
  const pemFile = ctx.opts.string('identity-pem') ?? (ctx.opts.string('identity') === undefined ? ic.identityPem : undefined);
  const name = ctx.opts.string('identity') ?? (pemFile === undefined ? ic.identity : undefined);
  // The agent libraries load only when a command really talks to the IC.
  const { loadIdentity } = await import('../ic/identity.js');
  const { CanisterManagement } = await import('../ic/management.js');
  const identity = await loadIdentity({ ...(pemFile !== undefined ? { pemFile } : {}), ...(name !== undefined ? { name } : {}) }, ctx.io.env);
  const stopTimeout = ctx.opts.int('stop-timeout', { min: 1 });
  return CanisterManagement.connect({ network, identity, ...(stopTimeout !== undefined ? { stopTimeoutMs: stopTimeout * 1000 } : {}) });
}
