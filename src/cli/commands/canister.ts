// The `agentvault canister …` group: controllers of a canister.
import type { CommandGroup } from '../command-group.js';
import { registerCanisterController } from './canister-controller.js';
import { registerCanisterSetController } from './canister-set-controller.js';

export function registerCanisterCommands(group: CommandGroup): void {
  registerCanisterController(group);
  registerCanisterSetController(group);
}
