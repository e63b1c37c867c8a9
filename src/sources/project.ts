// An agent project directory (agent.yaml, package.json, sources) as a multi-entry backup,
// honouring .gitignore-style excludes and skipping node_modules by default.
import { createReadStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { AgentvaultError, describeIoError } from '../errors.js';
import type { SourceRecord } from '../types.js';
import { assertProjectRoot, walkProject, ProjectWalkError, type ProjectWalkOptions } from './project-walk.js';
import { READ_PIECE_BYTES, type BackupSource } from './source.js';

export class ProjectSource implements BackupSource {
  private constructor(
    readonly root: string,
    readonly options: ProjectWalkOptions,
    readonly totalBytes: number,
  ) {}

  /** Checks the root and sizes the tree (a stat-only walk) so progress can show an ETA. */
  static async open(root: string, options: ProjectWalkOptions = {}): Promise<ProjectSource> {
    try {
      const absolute = await assertProjectRoot(root, options);
      let total = 0;
      for await (const file of walkProject(absolute, options)) total += file.size;
      return new ProjectSource(absolute, options, total);
    } catch (err) {
      throw asInputError(err);
    }
  }

  get description() {
    return { kind: 'project' as const, name: path.basename(this.root), path: this.root, host: os.hostname() };
  }

  records(signal?: AbortSignal): Readable {
    return Readable.from(this.#generate(signal), { objectMode: true, highWaterMark: 4 });
  }

  async *#generate(signal?: AbortSignal): AsyncGenerator<SourceRecord> {
    let index = 0;
    try {
      for await (const file of walkProject(this.root, this.options)) {
        signal?.throwIfAborted();
        const entry = index++;
        yield {
          type: 'entry',
          entry: {
            index: entry,
            name: file.path,
            kind: file.kind,
            size: file.size,
            mode: file.mode,
            mtime: Math.floor(file.mtimeMs),
            ...(file.linkTarget !== undefined ? { linkTarget: file.linkTarget } : {}),
          },
        };
        let size = 0;
        if (file.kind === 'file') {
          try {
            for await (const bytes of createReadStream(file.absolutePath, { highWaterMark: READ_PIECE_BYTES })) {
              size += (bytes as Buffer).byteLength;
              yield { type: 'data', entry, bytes: bytes as Buffer };
            }
          } catch (err) {
            throw describeIoError(err, `reading ${file.absolutePath}`);
          }
        }
        yield { type: 'entry-end', entry, size };
      }
    } catch (err) {
      throw asInputError(err);
    }
  }
}

function asInputError(err: unknown): Error {
  if (err instanceof ProjectWalkError) return new AgentvaultError('INPUT', err.message, { cause: err });
  return err instanceof Error ? err : new Error(String(err));
}
