/**
 * Micro-benchmark of the FastCDC-2020 chunker on generated, repeatable data (no fixtures):
 *   node --import tsx bench/chunker.ts [imageMiB=256]
 * Prints median-of-3 throughput in MB/s (1 MB = 2^20 bytes) after one warm-up run per input.
 */
import { chunkLengths, type FastCdcParams } from '../src/chunker/fastcdc.js';
import { WasmFastCdc } from '../src/chunker/fastcdc-wasm.js';
import { median } from './measure.js';

/**
 * The two implementations (the same chunks): JavaScript, and WebAssembly over the whole input at
 * once, one instance per parameter set as in a worker (its memory grown once, in the warm-up; the
 * copy into it is timed).
 */
const wasmInstances = new Map<FastCdcParams, WasmFastCdc>();
const CHUNKERS = {
  js: (data: Uint8Array, params: FastCdcParams) => chunkLengths(data, params).length,
  wasm: (data: Uint8Array, params: FastCdcParams) => {
    let chunker = wasmInstances.get(params);
    if (!chunker) wasmInstances.set(params, (chunker = new WasmFastCdc(params)));
    return chunker.cutAll(data, 0, data.length, true).length;
  },
};
type ChunkerName = keyof typeof CHUNKERS;

const MiB = 1 << 20;
const PAGE_SIZE = 64 * 1024;

/** xorshift32: small, fast, seeded, repeatable. */
class Prng {
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
  fillRandom(page: Uint8Array): void {
    // Pages start at multiples of 64 KiB, so a 32-bit view is aligned.
    const words = new Uint32Array(page.buffer, page.byteOffset, page.length >>> 2);
    for (let i = 0; i < words.length; i++) words[i] = this.next();
  }
}

const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];
const TOKENS = ['ICP', 'ckBTC', 'ckETH', 'CHAT', 'SNS1'];

/** JSON-like text records, the shape canister state often takes when serialized. */
function fillJsonRecords(page: Uint8Array, rng: Prng): void {
  let at = 0;
  const text = Buffer.from(page.buffer, page.byteOffset, page.length);
  while (at < page.length) {
    const id = rng.next() % 1_000_000;
    const record =
      `{"id":${id},"owner":"${NAMES[rng.next() % NAMES.length]}-${rng.next() % 10000}",` +
      `"balance":${(rng.next() % 10_000_000) / 100},"token":"${TOKENS[rng.next() % TOKENS.length]}",` +
      `"updated":${1_700_000_000_000 + (rng.next() % 100_000_000)},"active":${rng.next() % 2 === 0}}\n`;
    at += text.write(record, at, 'latin1');
  }
}

/** 64 KiB pages: ~40% all-zero, ~30% JSON-like text, ~30% random bytes. */
function canisterImage(size: number, seed: number): Uint8Array {
  const image = new Uint8Array(size);
  const rng = new Prng(seed);
  for (let at = 0; at < size; at += PAGE_SIZE) {
    const page = image.subarray(at, Math.min(size, at + PAGE_SIZE));
    const kind = rng.unit();
    if (kind < 0.4) continue; // already zero
    if (kind < 0.7) fillJsonRecords(page, rng);
    else rng.fillRandom(page);
  }
  return image;
}

interface Measurement {
  mbPerSecond: number;
  chunks: number;
  meanChunk: number;
}

function measure(data: Uint8Array, params: FastCdcParams, chunker: ChunkerName, runs = 3): Measurement {
  const count = CHUNKERS[chunker];
  count(data, params); // warm-up: JIT and gear tables
  const rates: number[] = [];
  let chunks = 0;
  for (let run = 0; run < runs; run++) {
    const t0 = process.hrtime.bigint();
    chunks = count(data, params);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push(data.length / MiB / seconds);
  }
  return { mbPerSecond: median(rates), chunks, meanChunk: data.length / chunks };
}

function report(label: string, m: Measurement): void {
  console.log(
    `${label.padEnd(44)} ${m.mbPerSecond.toFixed(0).padStart(6)} MB/s   ${String(m.chunks).padStart(7)} chunks   mean ${m.meanChunk.toFixed(0)} B`,
  );
}

const imageMiB = Number(process.argv[2] ?? 256);
if (!Number.isInteger(imageMiB) || imageMiB <= 0) throw new RangeError(`image size must be a positive integer (MiB), got ${process.argv[2]}`);
const seed = 0x5eed_c0de_1234_5678n;
const paramSets: FastCdcParams[] = [
  { min: 2048, avg: 8192, max: 65536, normalization: 2, seed },
  { min: 4096, avg: 16384, max: 131072, normalization: 2, seed },
  { min: 1024, avg: 4096, max: 32768, normalization: 2, seed },
];

console.log(`node ${process.version}; generating a ${imageMiB} MiB canister-like image...`);
const image = canisterImage(imageMiB * MiB, 20240601);
for (const chunker of ['js', 'wasm'] as const) {
  for (const params of paramSets) {
    report(`${chunker}: mixed image, avg ${params.avg / 1024} KiB (min ${params.min / 1024}K max ${params.max / 1024}K)`, measure(image, params, chunker));
  }
}

const other = 64 * MiB;
const random = new Uint8Array(other);
new Prng(99).fillRandom(random);
const zero = new Uint8Array(other);
const text = new Uint8Array(other);
for (let at = 0; at < other; at += PAGE_SIZE) fillJsonRecords(text.subarray(at, at + PAGE_SIZE), new Prng(at + 1));
for (const chunker of ['js', 'wasm'] as const) {
  report(`${chunker}: all-random 64 MiB, avg 8 KiB`, measure(random, paramSets[0]!, chunker));
  report(`${chunker}: all-zero 64 MiB, avg 8 KiB`, measure(zero, paramSets[0]!, chunker));
  report(`${chunker}: all-JSON-text 64 MiB, avg 8 KiB`, measure(text, paramSets[0]!, chunker));
}
