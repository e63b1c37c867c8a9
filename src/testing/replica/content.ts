// Deterministic test content: a seeded byte stream, and memory that looks like a real canister's
// heap (runs of zero pages, serialized JSON-ish records, incompressible data), so that chunking,
// dedup and compression see something realistic. Sized for gigabytes: AES-CTR keystream.
import { createCipheriv, createHash, type Cipher } from 'node:crypto';

export const WASM_PAGE_SIZE = 65536;

const KEYSTREAM_BLOCK = 1 << 20;
const ZEROS = new Uint8Array(KEYSTREAM_BLOCK);

/** A reproducible pseudo-random stream: the same seed always gives the same bytes. */
export class SeededRandom {
  readonly #cipher: Cipher;
  #pool = new Uint8Array(0);
  #poolOffset = 0;

  constructor(seed: string | number) {
    const key = createHash('sha256').update(`agentvault-replica:${seed}`).digest();
    this.#cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  }

  /** Overwrites `target` with the next bytes of the stream. */
  fill(target: Uint8Array): void {
    for (let offset = 0; offset < target.length; offset += KEYSTREAM_BLOCK) {
      const length = Math.min(KEYSTREAM_BLOCK, target.length - offset);
      target.set(this.#cipher.update(ZEROS.subarray(0, length)), offset);
    }
  }

  /** A uniform integer in [0, bound). */
  below(bound: number): number {
    if (!Number.isSafeInteger(bound) || bound <= 0) throw new RangeError(`invalid bound ${bound}`);
    const high = this.#uint32() * 2 ** 21;
    const low = this.#uint32() >>> 11;
    return Math.floor(((high + low) / 2 ** 53) * bound);
  }

  #uint32(): number {
    if (this.#poolOffset + 4 > this.#pool.length) {
      this.#pool = new Uint8Array(4096);
      this.fill(this.#pool);
      this.#poolOffset = 0;
    }
    const p = this.#pool;
    const o = this.#poolOffset;
    this.#poolOffset += 4;
    return (p[o]! | (p[o + 1]! << 8) | (p[o + 2]! << 16) | (p[o + 3]! << 24)) >>> 0;
  }
}

/** `count` distinct indexes in [0, total), ascending (Floyd's sampling: no shuffle of `total`). */
export function sampleDistinct(random: SeededRandom, total: number, count: number): number[] {
  if (count > total) throw new RangeError(`cannot pick ${count} distinct pages out of ${total}`);
  const picked = new Set<number>();
  for (let j = total - count; j < total; j++) {
    const candidate = random.below(j + 1);
    picked.add(picked.has(candidate) ? j : candidate);
  }
  return [...picked].sort((a, b) => a - b);
}

export type MemoryContent = 'zero' | 'random' | 'canister-like';

/** Share of 64 KiB pages in canister-like memory: zero, JSON text, incompressible. */
const CANISTER_LIKE_MIX = { zero: 0.4, json: 0.3 } as const;

const WORDS = [
  'alpha', 'bravo', 'ledger', 'token', 'canister', 'balance', 'transfer', 'memo', 'owner', 'subaccount',
  'proposal', 'neuron', 'vote', 'stake', 'reward', 'archive', 'block', 'index', 'cycles', 'principal',
];

/** Fills `target` (a multiple of 64 KiB) with content of the given kind. */
export function fillMemory(target: Uint8Array, content: MemoryContent, seed: string | number): void {
  if (content === 'zero') {
    target.fill(0);
    return;
  }
  const random = new SeededRandom(`memory:${seed}`);
  if (content === 'random') {
    random.fill(target);
    return;
  }
  const buffer = Buffer.from(target.buffer, target.byteOffset, target.byteLength);
  let recordId = 0;
  for (let page = 0; page * WASM_PAGE_SIZE < target.length; page++) {
    const start = page * WASM_PAGE_SIZE;
    const end = Math.min(start + WASM_PAGE_SIZE, target.length);
    const draw = random.below(1000) / 1000;
    if (draw < CANISTER_LIKE_MIX.zero) {
      buffer.fill(0, start, end);
    } else if (draw < CANISTER_LIKE_MIX.zero + CANISTER_LIKE_MIX.json) {
      recordId = writeJsonRecords(buffer, start, end, random, recordId);
    } else {
      random.fill(buffer.subarray(start, end));
    }
  }
}

function writeJsonRecords(buffer: Buffer, start: number, end: number, random: SeededRandom, firstId: number): number {
  let offset = start;
  let id = firstId;
  while (offset < end) {
    const words = `${WORDS[random.below(WORDS.length)]} ${WORDS[random.below(WORDS.length)]} ${WORDS[random.below(WORDS.length)]}`;
    const record =
      `{"id":${id},"owner":"${WORDS[random.below(WORDS.length)]}-${random.below(1_000_000)}",` +
      `"balance":${random.below(1_000_000_000)},"memo":"${words}","updated_at":${1_700_000_000_000 + random.below(100_000_000)}}\n`;
    offset += buffer.write(record, offset, end - offset, 'latin1');
    id++;
  }
  return id;
}
