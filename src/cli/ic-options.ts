// Options and connection shared by every command that talks to the IC.
import type { Command } from 'cac';
import { loadIdentity } from '../ic/identity.js';
import { CanisterManagement } from '../ic/management.js';
import { resolveNetwork } from '../ic/network.js';
import type { CommandContext } from './context.js';

export function withIcOptions(cmd: Command): Command {
  return cmd
    .option('--network <network>', 'local (default), ic, or a replica URL')
    .option('--identity <name>', 'dfx identity name (~/.config/dfx/identity/<name>/identity.pem)')
    .option('--identity-pem <file>', 'Identity PEM file (Ed25519 or secp256k1, as dfx/icp write them)');
}

export async function connectToIc(ctx: CommandContext): Promise<CanisterManagement> {
  const ic = (await ctx.userConfig()).ic ?? {};
  const network = resolveNetwork(ctx.opts.string('network') ?? ic.network, ctx.io.env);
  const pemFile = ctx.opts.string('identity-pem') ?? (ctx.opts.string('identity') === undefined ? ic.identityPem : undefined);
  const name = ctx.opts.string('identity') ?? (pemFile === undefined ? ic.identity : undefined);
  const identity = await loadIdentity({ ...(pemFile !== undefined ? { pemFile } : {}), ...(name !== undefined ? { name } : {}) }, ctx.io.env);
  return CanisterManagement.connect({ network, identity });
}
