// Arweave data transactions: split the data into chunks, build the Merkle tree whose root the
// transaction signs (data_root), sign, and rebuild the same transaction later from its saved
// header and the same bytes (for resuming an upload). Uses arweave-js for the tree, signing and
// verification; nothing here touches the network.
//
// The chunk size is 256 KiB unless chosen: real nodes have required 256 KiB chunks since
// fork 2.5 (the last one or two may be smaller); smaller sizes mean more, smaller POSTs (finer
// resume points) on gateways that accept them. A transaction that fits in one chunk carries its
// data inside POST /tx, as arweave-js does.
import { createHash } from 'node:crypto';
import Arweave from 'arweave';
import { buildLayers, generateLeaves, generateProofs, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE, type Chunk, type Proof } from 'arweave/node/lib/merkle.js';
import { AgentvaultError } from '../errors.js';
import type { ChunkBody, TransactionHeader } from './client.js';
import type { Tag } from './tags.js';
import type { ArweaveWallet } from './wallet.js';

export const DEFAULT_CHUNK_SIZE = MAX_CHUNK_SIZE;

const arweave = Arweave.init({});

interface ChunkTree {
  readonly dataRoot: Uint8Array;
  readonly chunks: readonly Chunk[];
  readonly proofs: readonly Proof[];
}

/** A signed transaction and the chunk tree of its data, ready to post. */
export interface PreparedTransaction {
  readonly id: string;
  /** The signed header with `data: ""`; saved to resume. */
  readonly header: TransactionHeader;
  readonly chunkSize: number;
  readonly chunkCount: number;
  /** True when the data goes inside POST /tx (one chunk or less): nothing to POST /chunk. */
  readonly inBody: boolean;
  readonly tree: ChunkTree;
}

export function checkChunkSize(chunkSize: number): void {
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new AgentvaultError('USAGE', `--chunk-size must be between ${MIN_CHUNK_SIZE} and ${MAX_CHUNK_SIZE} bytes, got ${chunkSize}`);
  }
}

/**
 * arweave-js's chunkData with a chosen chunk size: full chunks, except that a remainder under
 * 32 KiB is avoided by splitting the last two evenly. With 256 KiB it is byte-for-byte the same.
 */
function splitChunks(data: Uint8Array, chunkSize: number): Chunk[] {
  const chunks: Chunk[] = [];
  let cursor = 0;
  while (data.byteLength - cursor >= chunkSize) {
    const rest = data.byteLength - cursor;
    let size = chunkSize;
    const next = rest - chunkSize;
    if (next > 0 && next < MIN_CHUNK_SIZE) size = Math.ceil(rest / 2);
    chunks.push({ dataHash: sha256(data.subarray(cursor, cursor + size)), minByteRange: cursor, maxByteRange: cursor + size });
    cursor += size;
  }
  chunks.push({ dataHash: sha256(data.subarray(cursor)), minByteRange: cursor, maxByteRange: data.byteLength });
  return chunks;
}

export async function chunkTree(data: Uint8Array, chunkSize = DEFAULT_CHUNK_SIZE): Promise<ChunkTree> {
  checkChunkSize(chunkSize);
  const chunks = splitChunks(data, chunkSize);
  const root = await buildLayers(await generateLeaves(chunks));
  const proofs = generateProofs(root);
  // As arweave-js: an exact multiple leaves an empty last chunk, which is never uploaded.
  const last = chunks.at(-1)!;
  if (last.maxByteRange === last.minByteRange && chunks.length > 1) {
    chunks.pop();
    proofs.pop();
  }
  return { dataRoot: root.id, chunks, proofs };
}

/** base64url data_root of `data` split at `chunkSize`. */
export async function dataRoot(data: Uint8Array, chunkSize = DEFAULT_CHUNK_SIZE): Promise<string> {
  return Buffer.from((await chunkTree(data, chunkSize)).dataRoot).toString('base64url');
}

export interface NewTransaction {
  readonly wallet: ArweaveWallet;
  readonly data: Buffer;
  readonly tags: readonly Tag[];
  /** `last_tx`: a recent block hash from the gateway. */
  readonly anchor: string;
  /** Winston, from the gateway's price for data.length bytes. */
  readonly reward: bigint;
  readonly chunkSize?: number;
}

export async function createDataTransaction(options: NewTransaction): Promise<PreparedTransaction> {
  const { wallet, data } = options;
  if (data.length === 0) throw new Error('an archived transaction has data');
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const tree = await chunkTree(data, chunkSize);
  const tx = arweave.transactions.fromRaw({
    format: 2,
    last_tx: options.anchor,
    owner: wallet.owner,
    target: '',
    quantity: '0',
    data: '',
    data_size: String(data.length),
    data_root: Buffer.from(tree.dataRoot).toString('base64url'),
    reward: options.reward.toString(),
  });
  for (const tag of options.tags) tx.addTag(tag.name, tag.value);
  await wallet.sign(tx);
  const json = tx.toJSON() as unknown as TransactionHeader;
  const header: TransactionHeader = {
    format: 2,
    id: json.id,
    last_tx: json.last_tx,
    owner: json.owner,
    tags: json.tags.map((t) => ({ name: t.name, value: t.value })),
    target: '',
    quantity: '0',
    data: '',
    data_size: json.data_size,
    data_root: json.data_root,
    reward: json.reward,
    signature: json.signature,
  };
  return prepared(header, tree, chunkSize);
}

/**
 * The transaction of a saved header over the same bytes, for resuming. Fails when the bytes are
 * not the ones signed (a pack rewritten since), so nothing contradicting the header is sent.
 */
export async function resumeTransaction(header: TransactionHeader, data: Buffer, chunkSize: number): Promise<PreparedTransaction> {
  const tree = await chunkTree(data, chunkSize);
  if (header.data_size !== String(data.length) || Buffer.from(tree.dataRoot).toString('base64url') !== header.data_root) {
    throw new AgentvaultError('CORRUPT', `the data of transaction ${header.id} is not what was signed (its pack changed since the upload started)`);
  }
  return prepared(header, tree, chunkSize);
}

function prepared(header: TransactionHeader, tree: ChunkTree, chunkSize: number): PreparedTransaction {
  return { id: header.id, header, chunkSize, chunkCount: tree.chunks.length, inBody: tree.chunks.length <= 1, tree };
}

/** What POST /tx gets: the header, with the data inside when it is one chunk. */
export function headerToPost(tx: PreparedTransaction, data: Buffer): TransactionHeader {
  return tx.inBody ? { ...tx.header, data: data.toString('base64url') } : tx.header;
}

/** What POST /chunk gets for chunk `index`. */
export function chunkToPost(tx: PreparedTransaction, index: number, data: Buffer): ChunkBody {
  const chunk = tx.tree.chunks[index]!;
  const proof = tx.tree.proofs[index]!;
  return {
    data_root: tx.header.data_root,
    data_size: tx.header.data_size,
    data_path: Buffer.from(proof.proof).toString('base64url'),
    offset: String(proof.offset),
    chunk: data.subarray(chunk.minByteRange, chunk.maxByteRange).toString('base64url'),
  };
}

/** True when `header` is signed by its owner and its id is the hash of that signature. */
export async function verifyHeader(header: TransactionHeader): Promise<boolean> {
  try {
    return await arweave.transactions.verify(arweave.transactions.fromRaw({ ...header, data: '' }));
  } catch {
    return false;
  }
}

/** The wallet address of a transaction's owner. */
export function ownerAddress(owner: string): string {
  return createHash('sha256').update(Buffer.from(owner, 'base64url')).digest('base64url');
}

function sha256(bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(bytes).digest();
}
