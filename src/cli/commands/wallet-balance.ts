// agentvault wallet balance [--wallet <jwk-file>]: the wallet's address and balance (AR and
// winston). The key file is read from its path and never printed.
import { describeCost, winstonToAr } from '../../arweave/pricing.js';
import { GatewayClient } from '../../arweave/client.js';
import type { CommandContext } from '../context.js';
import type { CommandGroup } from '../command-group.js';
import { clientOptions, loadWallet, primaryGateway, withGatewayOptions } from './archive-options.js';

export function registerWalletBalance(group: CommandGroup): void {
  const cmd = group
    .command('balance', 'Show the wallet address and its balance')
    .option('--wallet <jwk-file>', 'Wallet (JWK file; default: the one set with archive configure)')
    .option('--json', 'Machine-readable output');
  withGatewayOptions(cmd).action(group.action(walletBalance));
}

async function walletBalance(ctx: CommandContext): Promise<void> {
  const wallet = await loadWallet(ctx);
  const client = new GatewayClient(await primaryGateway(ctx), await clientOptions(ctx));
  const winston = await client.balance(wallet.address);
  if (ctx.json) ctx.outJson({ address: wallet.address, winston: winston.toString(), ar: winstonToAr(winston), gateway: client.url });
  else ctx.out(`${wallet.address}  ${describeCost(winston)}  at ${client.url}`);
}
