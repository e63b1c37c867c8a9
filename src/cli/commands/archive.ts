// The `agentvault archive …` group: backups on Arweave.
import type { CommandGroup } from '../command-group.js';
import { registerArchiveConfigure } from './archive-configure.js';
import { registerArchiveDelete } from './archive-delete.js';
import { registerArchiveDownload } from './archive-download.js';
import { registerArchiveEstimate } from './archive-estimate.js';
import { registerArchiveFind } from './archive-find.js';
import { registerArchiveList } from './archive-list.js';
import { registerArchiveStatus } from './archive-status.js';
import { registerArchiveUpload } from './archive-upload.js';

export function registerArchiveCommands(group: CommandGroup): void {
  registerArchiveUpload(group);
  registerArchiveEstimate(group);
  registerArchiveStatus(group);
  registerArchiveList(group);
  registerArchiveDownload(group);
  registerArchiveFind(group);
  registerArchiveDelete(group);
  registerArchiveConfigure(group);
}
