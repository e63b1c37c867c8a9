// Library-level round trips: a buffer as a backup source, a backup restored into a buffer.
import { Readable, Writable } from 'node:stream';
import type { Repository } from '../../src/repository/repository.js';
import { restore } from '../../src/restore.js';
import { ByteStreamSink } from '../../src/sinks/stream.js';
import { StdinSource } from '../../src/sources/stdin.js';

/** A source over a buffer, fed in pieces of `piece` bytes. */
export function bufferSource(data: Buffer, name = 'heap.bin', piece = 65536): StdinSource {
  const pieces: Buffer[] = [];
  for (let at = 0; at < data.length; at += piece) pieces.push(data.subarray(at, at + piece));
  return new StdinSource(Readable.from(pieces), { name });
}

/** The bytes of a one-entry backup, through restore() (`workers`: as restore() takes it). */
export async function restoreToBuffer(repository: Repository, backupId: string, options: { workers?: number } = {}): Promise<Buffer> {
  const parts: Buffer[] = [];
  const collector = new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), cb()) });
  await restore({ repository, manifest: await repository.readManifest(backupId), sink: new ByteStreamSink(collector), ...options });
  return Buffer.concat(parts);
}
