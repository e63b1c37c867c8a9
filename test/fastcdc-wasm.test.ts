// The WebAssembly chunker (src/chunker/fastcdc-wasm.ts, fastcdc.wat) gives exactly the chunks of the
// JavaScript one (fastcdc.ts, itself proven against the published vectors and a BigInt reference):
// on the vectors, on random data, parameters and seeds, on runs of one byte (the skip), and when
// not final; and the generated module is the one fastcdc.wat compiles to.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { chunkLengths, FastCdc2020, type FastCdcParams } from '../src/chunker/fastcdc.js';
import { WasmFastCdc } from '../src/chunker/fastcdc-wasm.js';
import { FASTCDC_WASM } from '../src/chunker/fastcdc-wasm.generated.js';
// @ts-expect-error: a plain .mjs build script, no types
import { compileFastCdcWat } from '../scripts/build-wasm.mjs';

const fixtureDir = new URL('./fixtures/fastcdc/', import.meta.url);
const vectors = JSON.parse(readFileSync(new URL('vectors.json', fixtureDir), 'utf8')) as {
  fixture: string;
  cases: Array<{ min: number; avg: number; max: number; normalization: number; seed: string; lengths: number[] }>;
};
const fixture = new Uint8Array(readFileSync(new URL(vectors.fixture, fixtureDir)));

/** xorshift32, seeded: the same cases every run. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
  return {
    int: (lo: number, hi: number) => lo + (next() % (hi - lo + 1)),
    bytes: (n: number) => Uint8Array.from({ length: n }, () => next() & 255),
    seed64: () => (BigInt(next()) << 32n) | BigInt(next()),
  };
}

/** Random bytes, zero runs, runs of other bytes and text-like stretches. */
function mixed(r: ReturnType<typeof rng>, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let at = 0; at < length; ) {
    const n = Math.min(length - at, r.int(1, 70_000));
    const kind = r.int(0, 3);
    if (kind === 0) out.set(r.bytes(n), at);
    else if (kind === 1) out.fill(0, at, at + n);
    else if (kind === 2) out.fill(r.int(0, 255), at, at + n);
    else for (let i = 0; i < n; i++) out[at + i] = 0x61 + (i % 7);
    at += n;
  }
  return out;
}

const wasmLengths = (data: Uint8Array, params: FastCdcParams) => [...new WasmFastCdc(params).cutAll(data, 0, data.length, true)];

test('the generated module is what fastcdc.wat compiles to (run npm run build:wasm after editing it)', async () => {
  const bytes: Buffer = await compileFastCdcWat();
  assert.equal(FASTCDC_WASM, bytes.toString('base64'));
});

test('reproduces all six published vectors', () => {
  for (const c of vectors.cases) {
    const params = { min: c.min, avg: c.avg, max: c.max, normalization: c.normalization, seed: BigInt(c.seed) };
    assert.deepEqual(wasmLengths(fixture, params), c.lengths, JSON.stringify(c).slice(0, 80));
  }
});

test('equals the JavaScript chunker on random data, parameters and seeds, runs included', () => {
  const r = rng(0xfa57cdc);
  let chunks = 0;
  for (let round = 0; round < 40; round++) {
    const avg = 1 << r.int(8, 16);
    const normalization = r.int(0, 3);
    const params: FastCdcParams = { min: Math.max(64, (avg >> 2) + r.int(0, 1)), avg, max: avg * r.int(2, 8) + r.int(0, 1), normalization, seed: round % 3 === 0 ? 0n : r.seed64() };
    const data = mixed(r, r.int(0, 600_000));
    const expected = chunkLengths(data, params);
    assert.deepEqual(wasmLengths(data, params), expected, `round ${round}: ${JSON.stringify({ ...params, seed: String(params.seed) })}`);
    chunks += expected.length;
  }
  assert.ok(chunks > 2000, `only ${chunks} chunks compared`);
});

test('every run length and alignment around a skip', () => {
  const r = rng(2024);
  const prefix = r.bytes(301);
  const suffix = r.bytes(700);
  const params: FastCdcParams = { min: 64, avg: 256, max: 65536, normalization: 3, seed: 0n };
  for (const runByte of [0, 0x5a, 0xff]) {
    for (let runLength = 4090; runLength < 4230; runLength++) {
      const data = new Uint8Array(Buffer.concat([prefix.subarray((runLength >> 1) & 1), new Uint8Array(runLength).fill(runByte), suffix]));
      assert.deepEqual(wasmLengths(data, params), chunkLengths(data, params), `run of ${runLength} x ${runByte}`);
    }
  }
});

test('not final: the chunks the bytes determine, as FastCdc2020.cut gives them until -1', () => {
  const r = rng(77);
  const params: FastCdcParams = { min: 2048, avg: 8192, max: 65536, normalization: 2, seed: r.seed64() };
  const js = new FastCdc2020(params);
  const wasm = new WasmFastCdc(params);
  for (let round = 0; round < 30; round++) {
    const data = mixed(r, r.int(0, 300_000));
    const start = r.int(0, Math.min(data.length, 5000));
    const expected: number[] = [];
    for (let at = start; ; ) {
      const length = js.cut(data, at, data.length, false);
      if (length <= 0) break;
      expected.push(length);
      at += length;
    }
    assert.deepEqual([...wasm.cutAll(data, start, data.length, false)], expected, `round ${round}`);
  }
  assert.deepEqual([...wasm.cutAll(new Uint8Array(0), 0, 0, true)], []);
  assert.throws(() => wasm.cutAll(new Uint8Array(10), 5, 11, true), /start <= end <= 10/);
});

test('cutParts: bytes in several pieces are chunked as if joined, final or not', () => {
  const r = rng(91);
  const params: FastCdcParams = { min: 2048, avg: 8192, max: 65536, normalization: 2, seed: r.seed64() };
  const wasm = new WasmFastCdc(params);
  for (let round = 0; round < 30; round++) {
    const data = mixed(r, r.int(0, 400_000));
    const cuts = [0, ...Array.from({ length: r.int(0, 4) }, () => r.int(0, data.length)).sort((a, b) => a - b), data.length];
    const parts = cuts.slice(1).map((end, i) => data.subarray(cuts[i]!, end)); // empty pieces included
    for (const final of [true, false]) {
      assert.deepEqual([...wasm.cutParts(parts, final)], [...wasm.cutAll(data, 0, data.length, final)], `round ${round}, final ${final}`);
    }
  }
});
