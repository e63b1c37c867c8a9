// Reads a file as data pieces, into buffers the consumer hands out when it offers them (the
// parallel backup stage lends whole shared segments, which it then takes back without copying),
// otherwise into fresh 1 MiB pieces; and the stream of a file source's records.
import fs from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { SourceRecord } from '../types.js';
import { READ_PIECE_BYTES, type RecordsOptions } from './source.js';

/** A file source's records as a stream, reading ahead by the right number of pieces. */
export function fileRecords(records: AsyncGenerator<SourceRecord>, options: RecordsOptions): Readable {
  // Lent segments are 2 MiB or more: read one ahead (the stage keeps its own work in flight).
  return Readable.from(records, { objectMode: true, highWaterMark: options.allocate ? 1 : 4 });
}

/** Yields the file's bytes in order; each yielded buffer is the source's to forget. */
export async function* readFilePieces(file: string, allocate: (() => Uint8Array) | undefined, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    let position = 0;
    for (;;) {
      signal?.throwIfAborted();
      const into = allocate?.() ?? Buffer.allocUnsafe(READ_PIECE_BYTES);
      // Fill it: a lent segment is only taken whole (or as the file's last piece).
      let filled = 0;
      while (filled < into.byteLength) {
        const { bytesRead } = await handle.read(into, filled, into.byteLength - filled, position);
        if (bytesRead === 0) break;
        filled += bytesRead;
        position += bytesRead;
      }
      if (filled > 0) yield Buffer.from(into.buffer, into.byteOffset, filled);
      if (filled < into.byteLength) return;
    }
  } finally {
    await handle.close();
  }
}
