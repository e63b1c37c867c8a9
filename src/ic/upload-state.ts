// Progress of a restore into a canister, saved after every acknowledged slice, so an interrupted
// restore continues where it stopped instead of uploading everything again.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface UploadProgress {
  readonly version: 1;
  readonly backupId: string;
  readonly canisterId: string;
  snapshotId?: string;
  /** Bytes of each region entry uploaded, as a contiguous prefix. */
  regions: Record<string, number>;
  /** wasm_chunk entries uploaded. */
  chunks: string[];
}

export function uploadStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state'), 'agentvault', 'uploads');
}

export class UploadStateFile {
  readonly file: string;

  constructor(
    readonly backupId: string,
    readonly canisterId: string,
    dir: string = uploadStateDir(),
  ) {
    this.file = path.join(dir, `${canisterId}-${backupId}.json`);
  }

  async load(): Promise<UploadProgress | undefined> {
    try {
      const p = JSON.parse(await fs.readFile(this.file, 'utf8')) as UploadProgress;
      return p.version === 1 && p.backupId === this.backupId && p.canisterId === this.canisterId ? p : undefined;
    } catch {
      return undefined;
    }
  }

  async save(progress: UploadProgress): Promise<void> {
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(progress));
    await fs.rename(tmp, this.file);
  }

  async remove(): Promise<void> {
    await fs.rm(this.file, { force: true });
  }
}
