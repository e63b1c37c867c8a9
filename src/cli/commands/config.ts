// The `agentvault config …` group: IC settings in the user config (backup defaults are `backup config`).
import type { CommandGroup } from '../command-group.js';
import { registerConfigSet } from './config-set.js';
import { registerConfigShow } from './config-show.js';
import { registerConfigUnset } from './config-unset.js';

export function registerConfigCommands(group: CommandGroup): void {
  registerConfigSet(group);
  registerConfigUnset(group);
  registerConfigShow(group);
}
