// Gathers small buffers into large writev() calls: restoring 8 KiB chunks one write each would
// spend its time in syscalls. Writes are positional (from offset 0), so a range someone else
// wrote into the file can be stepped over with skip(). Given a DirectWriter, a batch that is one
// page-aligned buffer (a pack writer's) goes around the page cache (direct-io.ts).
import type { FileHandle } from 'node:fs/promises';
import type { DirectWriter } from './direct-io.js';
import { zeroBlockRuns } from './zero-blocks.js';

const DEFAULT_BATCH_BYTES = 4 << 20;

export class BatchedWriter {
  #batch: Uint8Array[] = [];
  #batchBytes = 0;
  #written = 0;

  constructor(
    readonly handle: FileHandle,
    readonly batchBytes = DEFAULT_BATCH_BYTES,
    readonly direct?: DirectWriter,
  ) {}

  /** Bytes accepted so far (flushed or not). */
  get size(): number {
    return this.#written + this.#batchBytes;
  }

  async write(bytes: Uint8Array): Promise<void> {
    this.#batch.push(bytes);
    this.#batchBytes += bytes.byteLength;
    if (this.#batchBytes >= this.batchBytes) await this.flush();
  }

  /** As write, leaving whole file blocks of zeros unwritten (holes: see zero-blocks.ts). */
  async writeSparse(bytes: Uint8Array): Promise<void> {
    for (const run of zeroBlockRuns(bytes, bytes.byteLength, this.size)) {
      if (run.hole) await this.skip(run.end - run.start);
      else await this.write(bytes.subarray(run.start, run.end));
    }
  }

  async flush(): Promise<void> {
    let pending = this.#batch;
    let position = this.#written;
    this.#written += this.#batchBytes;
    this.#batch = [];
    this.#batchBytes = 0;
    if (this.direct && pending.length === 1) {
      const written = await this.direct.writePrefix(pending[0]!, position);
      pending = dropWritten(pending, written);
      position += written;
    }
    while (pending.length > 0) {
      const { bytesWritten } = await this.handle.writev(pending as NodeJS.ArrayBufferView[], position);
      pending = dropWritten(pending, bytesWritten);
      position += bytesWritten;
    }
  }

  /** Steps over `bytes` that are already in the file (written there by someone else), or are to be a hole. */
  async skip(bytes: number): Promise<void> {
    if (this.#batchBytes > 0) await this.flush();
    this.#written += bytes;
  }

  discard(): void {
    this.#batch = [];
    this.#batchBytes = 0;
  }
}

function dropWritten(buffers: Uint8Array[], written: number): Uint8Array[] {
  let i = 0;
  while (i < buffers.length && written >= buffers[i]!.byteLength) written -= buffers[i++]!.byteLength;
  const rest = buffers.slice(i);
  if (written > 0 && rest.length > 0) rest[0] = rest[0]!.subarray(written);
  return rest;
}
