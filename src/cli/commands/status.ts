// agentvault status <canister-id> [--json]: canister_status in a readable form.
import type { CanisterStatusInfo } from '../../ic/management.js';
import type { CommandGroup } from '../command-group.js';
import type { CommandContext } from '../context.js';
import { formatCycles } from '../cycles.js';
import { formatBytes } from '../format.js';
import { connectToIc, withIcConnectionOptions } from '../ic-options.js';

export function registerStatusCommand(group: CommandGroup): void {
  const cmd = group
    .command('<canister-id>', 'Show a canister: status, module hash, cycles, controllers, memory, settings (needs a controller identity)')
    .option('--json', 'Machine-readable output on stdout');
  withIcConnectionOptions(cmd).action(group.action(status));
}

/** The status as JSON-friendly values (big integers as decimal strings). */
export function statusJson(canisterId: string, s: CanisterStatusInfo) {
  return {
    canisterId,
    status: s.status,
    moduleHash: s.moduleHash,
    cycles: s.cycles.toString(),
    controllers: s.controllers,
    memorySize: s.memorySize.toString(),
    idleCyclesBurnedPerDay: s.idleCyclesBurnedPerDay.toString(),
    settings: Object.fromEntries(Object.entries(s.settings).map(([k, v]) => [k, v.toString()])),
  };
}

async function status(ctx: CommandContext, canisterId: string): Promise<void> {
  const management = await connectToIc(ctx);
  const s = await management.status(canisterId);
  if (ctx.json) {
    ctx.outJson(statusJson(canisterId, s));
    return;
  }
  const rows: Array<[string, string]> = [
    ['canister', canisterId],
    ['status', s.status],
    ['module hash', s.moduleHash ?? 'none (no code installed)'],
    ['cycles', `${s.cycles} (${formatCycles(s.cycles)})`],
    ['controllers', s.controllers.join(', ')],
    ['memory', `${formatBytes(Number(s.memorySize))} (${s.memorySize} bytes)`],
    ['idle burn', `${s.idleCyclesBurnedPerDay} cycles/day`],
    ['compute alloc', `${s.settings.computeAllocation}%`],
    ['memory alloc', s.settings.memoryAllocation === 0n ? 'best effort' : formatBytes(Number(s.settings.memoryAllocation))],
    ['freezing', `${s.settings.freezingThreshold} s`],
    ['reserved limit', `${s.settings.reservedCyclesLimit} cycles`],
    ['heap limit', s.settings.wasmMemoryLimit === 0n ? 'none' : formatBytes(Number(s.settings.wasmMemoryLimit))],
  ];
  for (const [k, v] of rows) ctx.out(`${k.padEnd(15)} ${v}`);
}
