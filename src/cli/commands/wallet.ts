// The `agentvault wallet …` group: the Arweave wallet that pays for archives.
import type { CommandGroup } from '../command-group.js';
import { registerWalletBalance } from './wallet-balance.js';

export function registerWalletCommands(group: CommandGroup): void {
  registerWalletBalance(group);
}
