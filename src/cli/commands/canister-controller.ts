// agentvault canister controller <canister-id> [--json]: the controllers, one per line. Read from
// the certified state tree, so any identity may ask.
import type { CommandGroup } from '../command-group.js';
import type { CommandContext } from '../context.js';
import { connectToIc, withIcConnectionOptions } from '../ic-options.js';

export function registerCanisterController(group: CommandGroup): void {
  const cmd = group.command('controller <canister-id>', 'List the controllers of a canister').option('--json', 'Machine-readable output on stdout');
  withIcConnectionOptions(cmd).action(group.action(controller));
}

async function controller(ctx: CommandContext, canisterId: string): Promise<void> {
  const management = await connectToIc(ctx);
  const controllers = await management.controllers(canisterId);
  if (ctx.json) ctx.outJson({ canisterId, controllers });
  else for (const c of controllers) ctx.out(c);
}
