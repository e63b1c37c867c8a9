// Index files (docs/FORMAT.md §5): which chunks each pack holds, so a reader finds any chunk
// without opening packs. One file per backup run (or per prune), never rewritten in place.
import { AgentvaultError } from '../errors.js';
import { ByteReader, ByteWriter, readHeader, writeHeader } from './binary.js';
import { packContentsLength, readPackContents, readPackContentsTable, writePackContents, writePackContentsTable, type PackContents, type PackEntryTable } from './pack-format.js';
import { openSealedZstd, sealZstd } from './sealed.js';

export const INDEX_VERSION = 1;
const INDEX_MAGIC = 'AVIX';

export interface IndexedPack extends PackContents {
  readonly packId: string;
  readonly size: number;
}

export interface IndexFile {
  readonly supersedes: readonly string[];
  readonly packs: readonly IndexedPack[];
}

/** A pack as an index file lists it, with its entries left as stored (see PackEntryTable). */
export interface IndexedPackTable {
  readonly packId: string;
  readonly size: number;
  readonly keys: readonly Buffer[];
  readonly table: PackEntryTable;
}

/** An index file with each pack's entries left as stored. */
export interface IndexFileTables {
  readonly supersedes: readonly string[];
  readonly packs: readonly IndexedPackTable[];
}

function aad(indexId: string): Buffer {
  return Buffer.concat([Buffer.from('AVIX1'), Buffer.from(indexId, 'hex')]);
}

/** Packs listed with entry objects or with their entries as stored: the file is the same. */
export function encodeIndexFile(indexId: string, file: { readonly supersedes: readonly string[]; readonly packs: ReadonlyArray<IndexedPack | IndexedPackTable> }, metaKey: Buffer | undefined): Buffer {
  // Sized exactly: a grown buffer left each doubling behind (an index file is ~2 MB per 32 packs).
  let length = 4 + 16 * file.supersedes.length + 4;
  for (const pack of file.packs) length += 16 + 8 + packContentsLength(pack.keys.length, 'table' in pack ? pack.table.count : pack.entries.length);
  const w = new ByteWriter(length);
  w.u32(file.supersedes.length);
  for (const id of file.supersedes) w.bytes(Buffer.from(id, 'hex'));
  w.u32(file.packs.length);
  for (const pack of file.packs) {
    w.bytes(Buffer.from(pack.packId, 'hex')).u64(pack.size);
    if ('table' in pack) writePackContentsTable(w, pack.keys, pack.table);
    else writePackContents(w, pack);
  }
  const plain = w.finish();
  if (plain.length !== length) throw new Error(`internal error: index file is ${plain.length} bytes, expected ${length}`);
  const header = new ByteWriter(8);
  writeHeader(header, INDEX_MAGIC, INDEX_VERSION, metaKey ? 1 : 0);
  return sealZstd(header.finish(), [plain], plain.length, metaKey, aad(indexId));
}

export function decodeIndexFile(indexId: string, bytes: Buffer, metaKey: Buffer | undefined): IndexFile {
  return decode(indexId, bytes, metaKey, (b) => readPackContents(b));
}

/** As decodeIndexFile, without decoding each entry: what loading the chunk index needs. */
export function decodeIndexFileTables(indexId: string, bytes: Buffer, metaKey: Buffer | undefined): IndexFileTables {
  return decode(indexId, bytes, metaKey, (b) => readPackContentsTable(b));
}

function decode<T>(indexId: string, bytes: Buffer, metaKey: Buffer | undefined, contents: (b: ByteReader) => T): { supersedes: string[]; packs: Array<{ packId: string; size: number } & T> } {
  const what = `index ${indexId}`;
  const r = new ByteReader(bytes, what);
  const { flags } = readHeader(r, INDEX_MAGIC, INDEX_VERSION, 'index');
  if (flags & 1 && !metaKey) throw new AgentvaultError('CORRUPT', `${what} is encrypted but the repository is not`);
  const plain = openSealedZstd(r.bytes(r.remaining), flags & 1 ? metaKey : undefined, aad(indexId), what, 'is corrupt (fails authentication)');
  const b = new ByteReader(plain, what);
  const supersedes: string[] = [];
  for (let n = b.u32(); n > 0; n--) supersedes.push(b.bytes(16).toString('hex'));
  const packs: Array<{ packId: string; size: number } & T> = [];
  for (let n = b.u32(); n > 0; n--) {
    const packId = b.bytes(16).toString('hex');
    const size = b.u64n();
    packs.push({ packId, size, ...contents(b) });
  }
  b.expectEnd();
  return { supersedes, packs };
}
