// agentvault health <canister-id> [--min-cycles N] [--json]: is the canister running, does its
// code match its newest backup, does it have enough cycles. Exit 0 when healthy, 1 when not.
import { LocalBackend } from '../../backend/local.js';
import { AgentvaultError } from '../../errors.js';
import type { Manifest } from '../../repository/manifest.js';
import { Repository } from '../../repository/repository.js';
import { withRepositoryOptions, type CommandGroup } from '../command-group.js';
import type { CommandContext } from '../context.js';
import { DEFAULT_MIN_CYCLES, formatCycles, parseCycles } from '../cycles.js';
import { formatDate } from '../format.js';
import { connectToIc, withIcConnectionOptions } from '../ic-options.js';

export function registerHealthCommand(group: CommandGroup): void {
  const cmd = group
    .command('<canister-id>', 'Check a canister: running, module hash as in its newest backup, cycles above a minimum; exit 1 when not healthy')
    .option('--min-cycles <amount>', `Fewest cycles that count as healthy, e.g. 2T (default: config min-cycles, else ${formatCycles(DEFAULT_MIN_CYCLES)})`);
  withIcConnectionOptions(withRepositoryOptions(cmd)).action(group.action(health));
}

interface Check {
  readonly name: 'status' | 'module' | 'cycles';
  readonly ok: boolean;
  readonly message: string;
}

async function health(ctx: CommandContext, canisterId: string): Promise<void> {
  const given = ctx.opts.string('min-cycles');
  const configured = (await ctx.userConfig()).ic?.minCycles;
  const minCycles = given !== undefined ? parseCycles(given, '--min-cycles') : configured !== undefined ? parseCycles(configured, 'min-cycles in the config') : DEFAULT_MIN_CYCLES;

  const management = await connectToIc(ctx);
  const s = await management.status(canisterId);
  const newest = await newestBackup(ctx, canisterId);

  const checks: Check[] = [];
  checks.push(s.status === 'running' ? { name: 'status', ok: true, message: 'running' } : { name: 'status', ok: false, message: `${s.status}, not running` });
  if (newest.backup) {
    const b = newest.backup;
    const recorded = typeof b.source.moduleHash === 'string' ? b.source.moduleHash : null;
    checks.push(
      recorded === s.moduleHash
        ? { name: 'module', ok: true, message: `module hash matches backup ${b.id} (${formatDate(b.created)})` }
        : { name: 'module', ok: false, message: `module hash ${short(s.moduleHash)} differs from backup ${b.id} (${short(recorded)}, ${formatDate(b.created)}): the code changed since; back it up again` },
    );
  }
  checks.push(
    s.cycles >= minCycles
      ? { name: 'cycles', ok: true, message: `${formatCycles(s.cycles)} cycles (minimum ${formatCycles(minCycles)})` }
      : { name: 'cycles', ok: false, message: `${formatCycles(s.cycles)} cycles, below the minimum ${formatCycles(minCycles)}` },
  );
  const problems = checks.filter((c) => !c.ok).map((c) => c.message);

  if (ctx.json) {
    ctx.outJson({
      canisterId,
      healthy: problems.length === 0,
      status: s.status,
      moduleHash: s.moduleHash,
      cycles: s.cycles.toString(),
      minCycles: minCycles.toString(),
      backup: newest.backup ? { id: newest.backup.id, created: newest.backup.created, moduleHash: newest.backup.source.moduleHash ?? null } : null,
      ...(newest.note ? { backupNote: newest.note } : {}),
      checks,
      problems,
    });
  } else {
    for (const c of checks) ctx.out(`${c.ok ? 'ok     ' : 'problem'}  ${c.message}`);
    if (newest.note) ctx.out(`note     ${newest.note}`);
  }
  if (problems.length > 0) throw new AgentvaultError('UNHEALTHY', `canister ${canisterId} is not healthy: ${problems.join('; ')}`);
}

/** The newest canister backup of this canister, or why there is none to compare with. */
async function newestBackup(ctx: CommandContext, canisterId: string): Promise<{ backup?: Manifest; note?: string }> {
  const store = new LocalBackend(await ctx.repositoryPath());
  if (!(await Repository.exists(store))) return { note: `no repository at ${store.location}: module hash not compared with a backup` };
  let repository: Repository;
  try {
    repository = await ctx.openRepository();
  } catch (err) {
    // Without a password the other checks still mean something; a wrong one is an error.
    if (err instanceof AgentvaultError && err.code === 'NEED_KEY') return { note: `backups not checked: ${err.message}` };
    throw err;
  }
  const backups = await repository.listBackups({ onUnreadable: (id, err) => ctx.warn(`ignoring backup ${id}: ${err.message}`) });
  const mine = backups.filter((m) => m.source.kind === 'canister' && m.source.canisterId === canisterId);
  const backup = mine.at(-1);
  return backup ? { backup } : { note: `no backup of canister ${canisterId} in ${repository.location}` };
}

function short(hash: string | null): string {
  return hash === null ? 'none' : `${hash.slice(0, 12)}…`;
}
