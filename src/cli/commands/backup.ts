// The `agentvault backup …` group.
import type { CommandGroup } from '../command-group.js';
import { registerBackupConfig } from './backup-config.js';
import { registerBackupCreate } from './backup-create.js';
import { registerBackupDelete } from './backup-delete.js';
import { registerBackupDiff } from './backup-diff.js';
import { registerBackupExport } from './backup-export.js';
import { registerBackupImport } from './backup-import.js';
import { registerBackupInit } from './backup-init.js';
import { registerBackupList } from './backup-list.js';
import { registerBackupPrune } from './backup-prune.js';
import { registerBackupRestore } from './backup-restore.js';
import { registerBackupUnlock } from './backup-unlock.js';
import { registerBackupVerify } from './backup-verify.js';

export function registerBackupCommands(group: CommandGroup): void {
  registerBackupCreate(group);
  registerBackupList(group);
  registerBackupRestore(group);
  registerBackupVerify(group);
  registerBackupDelete(group);
  registerBackupPrune(group);
  registerBackupDiff(group);
  registerBackupExport(group);
  registerBackupImport(group);
  registerBackupConfig(group);
  registerBackupInit(group);
  registerBackupUnlock(group);
}
