// Random access to the plaintext of a backup's entries: any byte range, read chunk by chunk.
import { AgentvaultError } from '../errors.js';
import type { ChunkReader } from './chunk-reader.js';
import { chunkRefs, type ChunkRef, type Manifest } from './manifest.js';

export class BackupEntryReader {
  readonly #layout = new Map<number, { refs: ChunkRef[]; starts: number[] }>();

  constructor(
    readonly manifest: Manifest,
    readonly chunks: ChunkReader,
  ) {}

  #entryLayout(entry: number) {
    let layout = this.#layout.get(entry);
    if (!layout) {
      const e = this.manifest.entries[entry];
      if (!e) throw new AgentvaultError('CORRUPT', `backup ${this.manifest.id} has no entry #${entry}`);
      const refs = [...chunkRefs(e)];
      const starts: number[] = [];
      let at = 0;
      for (const r of refs) {
        starts.push(at);
        at += r.size;
      }
      layout = { refs, starts };
      this.#layout.set(entry, layout);
    }
    return layout;
  }

  async read(entry: number, offset: number, length: number): Promise<Buffer> {
    const { refs, starts } = this.#entryLayout(entry);
    // Last chunk that starts at or before offset.
    let lo = 0;
    let hi = refs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    const parts: Buffer[] = [];
    let got = 0;
    for (let i = lo; i < refs.length && got < length; i++) {
      const plain = await this.chunks.plaintext(refs[i]!.id);
      const from = Math.max(0, offset + got - starts[i]!);
      const piece = plain.subarray(from, Math.min(plain.length, from + (length - got)));
      parts.push(piece);
      got += piece.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}
