// agentvault canister set-controller <canister-id> --principal <p> [--replace [--force]]
// Adds controllers by default. --replace makes the given principals the only controllers, and
// refuses to drop the caller's own principal (which would lock it out) unless --force.
import { Principal } from '@dfinity/principal';
import { UsageError } from '../../errors.js';
import type { CommandGroup } from '../command-group.js';
import type { CommandContext } from '../context.js';
import { connectToIc, withIcConnectionOptions } from '../ic-options.js';

const MAX_CONTROLLERS = 10;

export function registerCanisterSetController(group: CommandGroup): void {
  const cmd = group
    .command('set-controller <canister-id>', 'Add a controller (default), or with --replace make the given principals the only controllers')
    .option('--principal <principal>', 'The principal to add or set (repeatable)')
    .option('--replace', 'Set the controllers to exactly the given principals (removes the others)')
    .option('--force', "With --replace: allow removing your own principal (you lose control of the canister)")
    .option('--json', 'Machine-readable output on stdout');
  withIcConnectionOptions(cmd).action(group.action(setController));
}

async function setController(ctx: CommandContext, canisterId: string): Promise<void> {
  const given = ctx.opts.strings('principal');
  if (given.length === 0) throw new UsageError('which principal? give --principal <principal>');
  const principals = [...new Set(given.map(principalText))];
  const replace = ctx.opts.bool('replace') === true;
  if (ctx.opts.bool('force') && !replace) throw new UsageError('--force only matters with --replace');

  const management = await connectToIc(ctx);
  const before = (await management.status(canisterId)).controllers;
  const self = management.principal;
  const after = replace ? principals : [...before, ...principals.filter((p) => !before.includes(p))];
  if (after.length > MAX_CONTROLLERS) throw new UsageError(`a canister has at most ${MAX_CONTROLLERS} controllers; this would make ${after.length}`);
  if (replace && !after.includes(self) && ctx.opts.bool('force') !== true) {
    throw new UsageError(`--replace would remove your own principal ${self} from the controllers of ${canisterId}, and you could not control it any more; add --force to do it anyway`);
  }
  const changed = after.length !== before.length || after.some((p) => !before.includes(p));
  if (changed) await management.setControllers(canisterId, after);
  if (ctx.json) {
    ctx.outJson({ canisterId, changed, before, controllers: after });
    return;
  }
  for (const c of after) ctx.out(c);
  ctx.info(changed ? `controllers of ${canisterId} set (${after.length})` : `nothing to change: already ${replace ? 'exactly these controllers' : 'a controller'}`);
}

function principalText(text: string): string {
  try {
    return Principal.fromText(text).toText();
  } catch {
    throw new UsageError(`--principal ${JSON.stringify(text)} is not a principal`);
  }
}
