/**
 * Deterministic benchmark data: a canister-like memory image and the 1% page mutation.
 * Everything comes from a seeded PRNG, so the same seed and size give the same bytes on every machine.
 */
import { open } from 'node:fs/promises';

export const MiB = 1 << 20;
/** The image is laid out in 64 KiB pages (the size of a Wasm memory page). */
export const IMAGE_PAGE = 64 * 1024;
/** The mutation rewrites whole 4 KiB pages (the size of an OS page). */
export const MUTATION_PAGE = 4096;

/** xorshift32: small, fast, seeded, repeatable. */
export class Prng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0 || 1;
  }
  next(): number {
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (this.#state = x >>> 0);
  }
  /** Uniform in [0, 1). */
  unit(): number {
    return this.next() / 0x1_0000_0000;
  }
  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.unit() * n);
  }
  /** Fills `bytes` (a multiple of 4 bytes long, 4-byte aligned) with random bytes. */
  fill(bytes: Uint8Array): void {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
    for (let i = 0; i < words.length; i++) words[i] = this.next();
  }
}

const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];
const TOKENS = ['ICP', 'ckBTC', 'ckETH', 'CHAT', 'SNS1'];

/** Serialized-state-like text: `{"id":…,"owner":"…","balance":…,…}\n` lines, cut off at the page end. */
function fillJsonRecords(page: Buffer, rng: Prng): void {
  let at = 0;
  while (at < page.length) {
    const record =
      `{"id":${rng.next() % 1_000_000},"owner":"${NAMES[rng.next() % NAMES.length]}-${rng.next() % 10_000}",` +
      `"balance":${(rng.next() % 10_000_000) / 100},"token":"${TOKENS[rng.next() % TOKENS.length]}",` +
      `"updated":${1_700_000_000_000 + (rng.next() % 100_000_000)},"active":${rng.next() % 2 === 0}}\n`;
    at += page.write(record, at, 'latin1');
  }
}

export interface ImageStats {
  pages: number;
  zero: number;
  json: number;
  random: number;
}

/**
 * Writes a canister-like image of `sizeMiB` MiB to `file`: 64 KiB pages, each pseudo-randomly
 * (not in a fixed stride) all-zero (~40%), JSON-like text records (~30%) or random bytes (~30%).
 */
export async function writeCanisterImage(file: string, sizeMiB: number, seed: number): Promise<ImageStats> {
  const rng = new Prng(seed);
  const block = Buffer.alloc(16 * MiB);
  const stats: ImageStats = { pages: 0, zero: 0, json: 0, random: 0 };
  const out = await open(file, 'w');
  try {
    for (let left = sizeMiB * MiB; left > 0; ) {
      const length = Math.min(block.length, left);
      block.fill(0, 0, length);
      for (let at = 0; at < length; at += IMAGE_PAGE) {
        const page = block.subarray(at, at + IMAGE_PAGE);
        const kind = rng.unit();
        stats.pages++;
        if (kind < 0.4) {
          stats.zero++;
        } else if (kind < 0.7) {
          stats.json++;
          fillJsonRecords(page, rng);
        } else {
          stats.random++;
          rng.fill(page);
        }
      }
      await out.write(block, 0, length);
      left -= length;
    }
  } finally {
    await out.close();
  }
  return stats;
}

export interface Mutation {
  pages: number;
  bytes: number;
}

/** Overwrites `fraction` of the file's 4 KiB pages, chosen at seeded random places, with random bytes, in place. */
export async function mutatePages(file: string, fraction: number, seed: number): Promise<Mutation> {
  const rng = new Prng(seed);
  const f = await open(file, 'r+');
  try {
    const total = Math.floor((await f.stat()).size / MUTATION_PAGE);
    const count = Math.max(1, Math.round(total * fraction));
    const chosen = new Set<number>();
    while (chosen.size < count) chosen.add(rng.below(total));
    const page = Buffer.alloc(MUTATION_PAGE);
    for (const index of [...chosen].sort((a, b) => a - b)) {
      rng.fill(page);
      await f.write(page, 0, MUTATION_PAGE, index * MUTATION_PAGE);
    }
    await f.sync();
    return { pages: count, bytes: count * MUTATION_PAGE };
  } finally {
    await f.close();
  }
}
