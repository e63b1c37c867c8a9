import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FastCdc2020, chunkLengths, validateFastCdcParams, type FastCdcParams } from '../src/chunker/fastcdc.js';

// ---------------------------------------------------------------------------------------------
// Fixtures (copied from the shared vectors so a fresh clone is self-contained)

interface VectorCase {
  min: number;
  avg: number;
  max: number;
  normalization: number;
  seed: string;
  lengths: number[];
}
interface Vectors {
  fixture: string;
  fixture_sha256: string;
  cases: VectorCase[];
  masks_by_bits: Record<string, string>;
}

const fixtureDir = new URL('./fixtures/fastcdc/', import.meta.url);
const vectors = JSON.parse(readFileSync(new URL('vectors.json', fixtureDir), 'utf8')) as Vectors;
const fixture = new Uint8Array(readFileSync(new URL(vectors.fixture, fixtureDir)));

function paramsOf(c: VectorCase): FastCdcParams {
  return { min: c.min, avg: c.avg, max: c.max, normalization: c.normalization, seed: BigInt(c.seed) };
}

// ---------------------------------------------------------------------------------------------
// Slow, obviously-correct reference: fastcdc-rs v2020 `cut` transcribed with BigInt, with its own
// gear table and the masks taken from vectors.json (not from the module under test).

const U64 = (1n << 64n) - 1n;
const referenceGear: bigint[] = Array.from({ length: 256 }, (_, i) =>
  BigInt('0x' + createHash('md5').update(Buffer.alloc(64, i)).digest('hex').slice(0, 16)),
);
const referenceMasks = new Map<number, bigint>(
  Object.entries(vectors.masks_by_bits).map(([bits, mask]) => [Number(bits), BigInt(mask)]),
);

function referenceLengths(data: Uint8Array, p: FastCdcParams): number[] {
  const gear = referenceGear.map((g) => g ^ p.seed);
  const gearShifted = referenceGear.map((g) => ((g << 1n) & U64) ^ ((p.seed << 1n) & U64));
  const bits = Math.round(Math.log2(p.avg));
  const maskS = referenceMasks.get(bits + p.normalization)!;
  const maskL = referenceMasks.get(bits - p.normalization)!;
  const maskSShifted = maskS << 1n;
  const maskLShifted = maskL << 1n;

  const cut = (start: number): number => {
    let remaining = data.length - start;
    if (remaining <= p.min) return remaining;
    let center = p.avg;
    if (remaining > p.max) remaining = p.max;
    else if (remaining < center) center = remaining;
    let index = Math.floor(p.min / 2);
    let hash = 0n;
    while (index < Math.floor(center / 2)) {
      const a = index * 2;
      hash = ((hash << 2n) + gearShifted[data[start + a]!]!) & U64;
      if ((hash & maskSShifted) === 0n) return a;
      hash = (hash + gear[data[start + a + 1]!]!) & U64;
      if ((hash & maskS) === 0n) return a + 1;
      index++;
    }
    while (index < Math.floor(remaining / 2)) {
      const a = index * 2;
      hash = ((hash << 2n) + gearShifted[data[start + a]!]!) & U64;
      if ((hash & maskLShifted) === 0n) return a;
      hash = (hash + gear[data[start + a + 1]!]!) & U64;
      if ((hash & maskL) === 0n) return a + 1;
      index++;
    }
    return remaining;
  };

  const lengths: number[] = [];
  for (let start = 0; start < data.length; ) {
    const length = cut(start);
    lengths.push(length);
    start += length;
  }
  return lengths;
}

// ---------------------------------------------------------------------------------------------
// Seeded random data

class Prng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0 || 1;
  }
  /** xorshift32: uniform 32-bit unsigned. */
  next(): number {
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state;
  }
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor((this.next() / 0x1_0000_0000) * (hi - lo + 1));
  }
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.next() & 0xff;
    return out;
  }
  seed64(): bigint {
    return (BigInt(this.next()) << 32n) | BigInt(this.next());
  }
}

/** Random bytes interleaved with long runs of zero and of other constant bytes, and short text. */
function mixedData(rng: Prng, length: number, maxRun: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  while (at < length) {
    const span = Math.min(length - at, rng.int(1, maxRun));
    const kind = rng.int(0, 9);
    if (kind < 4) {
      for (let i = 0; i < span; i++) out[at + i] = rng.next() & 0xff;
    } else if (kind < 7) {
      out.fill(0, at, at + span);
    } else if (kind < 9) {
      out.fill(rng.int(0, 255), at, at + span);
    } else {
      const text = Buffer.from(`{"key":${rng.next()},"name":"record-${rng.int(0, 99)}","ok":true}\n`);
      for (let i = 0; i < span; i++) out[at + i] = text[i % text.length]!;
    }
    at += span;
  }
  return out;
}

function randomParams(rng: Prng): FastCdcParams {
  for (;;) {
    const min = rng.int(64, 3000);
    const avg = min + rng.int(1, 6000);
    const max = avg + rng.int(1, 12000);
    const normalization = rng.int(0, 3);
    const seedKind = rng.int(0, 3);
    const seed = seedKind === 0 ? 0n : seedKind === 1 ? U64 : rng.seed64();
    const params = { min, avg, max, normalization, seed };
    try {
      validateFastCdcParams(params);
      return params;
    } catch {
      // bits +- normalization outside the mask table: draw again
    }
  }
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function boundaries(lengths: readonly number[]): number[] {
  const out: number[] = [];
  let at = 0;
  for (const length of lengths) out.push((at += length));
  return out;
}

/**
 * Simulates a streaming caller: bytes arrive in pieces of the given sizes into a buffer whose tail
 * (beyond `end`) holds garbage, `cut` is called after every piece with final=false, and with
 * final=true once everything has arrived.
 */
function streamedLengths(data: Uint8Array, params: FastCdcParams, nextPieceSize: () => number, garbage: Prng): number[] {
  const chunker = new FastCdc2020(params);
  const buffer = garbage.bytes(data.length + 64);
  const lengths: number[] = [];
  let start = 0;
  let end = 0;
  while (end < data.length) {
    const pieceEnd = Math.min(data.length, end + Math.max(1, nextPieceSize()));
    buffer.set(data.subarray(end, pieceEnd), end);
    end = pieceEnd;
    for (;;) {
      const length = chunker.cut(buffer, start, end, false);
      if (length === -1) break;
      assert.ok(length > 0 && start + length <= end, `bad streaming length ${length}`);
      lengths.push(length);
      start += length;
    }
  }
  while (start < end) {
    const length = chunker.cut(buffer, start, end, true);
    lengths.push(length);
    start += length;
  }
  return lengths;
}

const defaultParams: FastCdcParams = { min: 2048, avg: 8192, max: 65536, normalization: 2, seed: 0x9e3779b97f4a7c15n };

// ---------------------------------------------------------------------------------------------

test('fixture matches its recorded sha256', () => {
  assert.equal(createHash('sha256').update(fixture).digest('hex'), vectors.fixture_sha256);
  assert.equal(vectors.cases.length, 6);
});

test('reproduces all six published vectors', () => {
  for (const c of vectors.cases) {
    const label = `min=${c.min} avg=${c.avg} max=${c.max} nc=${c.normalization} seed=${c.seed}`;
    assert.deepEqual(chunkLengths(fixture, paramsOf(c)), c.lengths, label);
    // The reference used to cross-check the fast chunker must itself reproduce the vectors.
    assert.deepEqual(referenceLengths(fixture, paramsOf(c)), c.lengths, `reference ${label}`);
  }
});

test('fast chunker equals the BigInt reference on random data, params and seeds', () => {
  const rng = new Prng(0xc0ffee);
  let chunks = 0;
  for (let round = 0; round < 60; round++) {
    const params = randomParams(rng);
    const data = mixedData(rng, rng.int(0, 120_000), rng.int(1, 3) * params.max);
    const expected = referenceLengths(data, params);
    assert.deepEqual(chunkLengths(data, params), expected, `round ${round} ${JSON.stringify({ ...params, seed: String(params.seed) })}`);
    chunks += expected.length;
  }
  assert.ok(chunks > 500, `only ${chunks} chunks compared`);
  // Large sizes: masks with many high bits, windows far beyond a 64 KiB page.
  for (const params of [
    { min: 16384, avg: 65536, max: 262144, normalization: 3, seed: rng.seed64() },
    { min: 65536, avg: 1 << 20, max: 4 << 20, normalization: 2, seed: rng.seed64() },
  ]) {
    const data = mixedData(rng, 3 << 20, 300_000);
    assert.deepEqual(chunkLengths(data, params), referenceLengths(data, params), `avg ${params.avg}`);
  }
});

test('fast chunker equals the reference on long runs of one byte (fixed-point skip)', () => {
  const rng = new Prng(42);
  const cases: FastCdcParams[] = [
    defaultParams,
    { ...defaultParams, seed: 0n },
    { min: 64, avg: 256, max: 1024, normalization: 3, seed: 0n },
    { min: 65, avg: 300, max: 1001, normalization: 1, seed: 7n },
    { min: 1000, avg: 1500, max: 70001, normalization: 0, seed: rng.seed64() },
  ];
  for (const params of cases) {
    // 64 KiB pages: zero, random, or one repeated byte, plus runs of every byte value.
    const pages: Uint8Array[] = [];
    for (let i = 0; i < 24; i++) {
      const kind = rng.int(0, 4);
      const page = kind === 0 ? rng.bytes(65536) : new Uint8Array(65536).fill(kind === 1 ? 0 : rng.int(0, 255));
      if (kind >= 3) page.set(rng.bytes(rng.int(1, 300)), rng.int(0, 65000)); // a blip inside a run
      pages.push(page);
    }
    for (let b = 0; b < 256; b++) pages.push(new Uint8Array(rng.int(200, 3000)).fill(b), rng.bytes(rng.int(1, 200)));
    const data = new Uint8Array(Buffer.concat(pages));
    assert.deepEqual(chunkLengths(data, params), referenceLengths(data, params), JSON.stringify({ ...params, seed: String(params.seed) }));
  }
});

test('fast chunker equals the reference for every run length and alignment around a skip', () => {
  // The skip compares runs a block at a time, then byte by byte, then rounds down to whole pairs:
  // sweep the run's end across block and pair boundaries, with the run starting at both parities.
  const rng = new Prng(2024);
  const prefix = rng.bytes(301);
  const suffix = rng.bytes(700);
  // After center the 5-bit mask cuts within a few bytes of the run's end, so a skip that lands even
  // one pair off changes the next boundary.
  const params: FastCdcParams = { min: 64, avg: 256, max: 65536, normalization: 3, seed: 0n };
  for (const runByte of [0, 0x5a, 0xff]) {
    for (const [from, to] of [[4100, 4400], [8150, 8450]] as const) {
      for (let runLength = from; runLength < to; runLength++) {
        const data = new Uint8Array(Buffer.concat([prefix.subarray((runLength >> 1) & 1), new Uint8Array(runLength).fill(runByte), suffix]));
        assert.deepEqual(chunkLengths(data, params), referenceLengths(data, params), `run of ${runLength} x ${runByte}`);
      }
    }
  }
});

test('deterministic: same input twice gives the same chunks', () => {
  const data = mixedData(new Prng(7), 1 << 20, 40_000);
  const first = chunkLengths(data, defaultParams);
  const second = chunkLengths(new Uint8Array(data), defaultParams);
  assert.deepEqual(second, first);
  assert.deepEqual(new FastCdc2020(defaultParams).cut(data, 0, data.length, true), first[0]);
});

test('re-synchronises after an insertion near the start', () => {
  const rng = new Prng(99);
  const original = rng.bytes(4 << 20);
  const inserted = Buffer.from('hello');
  const at = 1000;
  const edited = new Uint8Array(Buffer.concat([original.subarray(0, at), inserted, original.subarray(at)]));
  const before = boundaries(chunkLengths(original, defaultParams));
  const after = new Set(boundaries(chunkLengths(edited, defaultParams)));
  const firstShared = before.findIndex((b) => b > at && after.has(b + inserted.length));
  assert.ok(firstShared >= 0 && firstShared <= 4, `re-synchronised only at chunk ${firstShared}`);
  for (const b of before.slice(firstShared)) assert.ok(after.has(b + inserted.length), `boundary ${b} lost`);
  // ...and no extra boundaries appear after the re-synchronisation point.
  const resyncAt = before[firstShared]! + inserted.length;
  assert.equal([...after].filter((b) => b >= resyncAt).length, before.length - firstShared);
});

test('chunk sizes stay within min..max', () => {
  const rng = new Prng(5);
  const data = mixedData(rng, 3 << 20, 200_000);
  for (const params of [defaultParams, { min: 4096, avg: 16384, max: 131072, normalization: 1, seed: 1n }, { min: 64, avg: 128, max: 256, normalization: 0, seed: 0n }]) {
    const lengths = chunkLengths(data, params);
    assert.equal(sum(lengths), data.length);
    lengths.forEach((length, i) => {
      assert.ok(length <= params.max, `chunk ${i} too long: ${length}`);
      if (i < lengths.length - 1) assert.ok(length >= params.min, `chunk ${i} too short: ${length}`);
      else assert.ok(length > 0);
    });
  }
  assert.deepEqual(chunkLengths(new Uint8Array(0), defaultParams), []);
  assert.deepEqual(chunkLengths(new Uint8Array(100), defaultParams), [100]);
  // An all-zero input never finds a cut with the published table: max-sized chunks.
  assert.deepEqual(chunkLengths(new Uint8Array(65536 * 3 + 5), { ...defaultParams, seed: 0n }), [65536, 65536, 65536, 5]);
});

test('streaming cut in 1-byte, random and 1 MiB pieces equals the whole-buffer result', () => {
  const rng = new Prng(1234);
  const small: FastCdcParams = { min: 256, avg: 1024, max: 4096, normalization: 2, seed: 3n };
  const smallData = mixedData(rng, 200_000, 6000);
  assert.deepEqual(streamedLengths(smallData, small, () => 1, rng), chunkLengths(smallData, small), '1-byte pieces');

  const data = mixedData(rng, 3 << 20, 150_000);
  const whole = chunkLengths(data, defaultParams);
  assert.deepEqual(streamedLengths(data, defaultParams, () => rng.int(1, 100_000), rng), whole, 'random pieces');
  assert.deepEqual(streamedLengths(data, defaultParams, () => 1 << 20, rng), whole, '1 MiB pieces');
});

test('streaming equals whole-buffer for random params, splits and short tails', () => {
  const rng = new Prng(77);
  for (let round = 0; round < 300; round++) {
    const params = randomParams(rng);
    // Lengths around and below avg make the final remainder (and many non-final calls) shorter than avg.
    const data = mixedData(rng, rng.int(0, 4 * params.avg), rng.int(1, 2 * params.avg));
    const maxPiece = rng.int(1, 2 * params.max);
    const streamed = streamedLengths(data, params, () => rng.int(1, maxPiece), rng);
    assert.deepEqual(streamed, chunkLengths(data, params), `round ${round}`);
  }
});

test('cut with final=false: -1 until the chunk is determined', () => {
  const chunker = new FastCdc2020(defaultParams);
  const zeros = new Uint8Array(70_000);
  // Too short to know anything.
  assert.equal(chunker.cut(zeros, 0, defaultParams.min, false), -1);
  assert.equal(chunker.cut(zeros, 0, defaultParams.min, true), defaultParams.min);
  // No cut found yet and fewer than max bytes: undetermined.
  assert.equal(chunker.cut(zeros, 0, 65535, false), -1);
  // max bytes present: determined.
  const atMax = chunker.cut(zeros, 0, 65536, false);
  assert.ok(atMax > 0 && atMax <= 65536);
  assert.equal(chunker.cut(zeros, 0, 70_000, false), atMax);
  assert.equal(chunker.cut(zeros, 0, 0, true), 0);
  assert.throws(() => chunker.cut(zeros, 10, 5, true), RangeError);
  assert.throws(() => chunker.cut(zeros, 0, 70_001, true), RangeError);
});

test('a non-zero seed changes the boundaries', () => {
  const data = new Prng(11).bytes(1 << 20);
  const unseeded = chunkLengths(data, { ...defaultParams, seed: 0n });
  const seeded = chunkLengths(data, defaultParams);
  const seeded2 = chunkLengths(data, { ...defaultParams, seed: defaultParams.seed + 1n });
  assert.notDeepEqual(seeded, unseeded);
  assert.notDeepEqual(seeded2, seeded);
  const shared = boundaries(seeded).filter((b) => new Set(boundaries(unseeded)).has(b));
  assert.ok(shared.length < boundaries(seeded).length / 4, `${shared.length} boundaries unchanged by the seed`);
  // Two chunkers used alternately (they share the hot loop's tables) each keep their own results.
  const chunkerA = new FastCdc2020({ ...defaultParams, seed: 0n });
  const chunkerB = new FastCdc2020({ ...defaultParams, min: 1024, avg: 4096, normalization: 1 });
  const interleavedA: number[] = [];
  const interleavedB: number[] = [];
  let startA = 0;
  let startB = 0;
  while (startA < data.length || startB < data.length) {
    if (startA < data.length) {
      interleavedA.push(chunkerA.cut(data, startA, data.length, true));
      startA += interleavedA.at(-1)!;
    }
    if (startB < data.length) {
      interleavedB.push(chunkerB.cut(data, startB, data.length, true));
      startB += interleavedB.at(-1)!;
    }
  }
  assert.deepEqual(interleavedA, unseeded);
  assert.deepEqual(interleavedB, chunkLengths(data, chunkerB.params));
  const seed666 = vectors.cases.find((c) => c.seed === '666')!;
  assert.deepEqual(chunkLengths(fixture, paramsOf(seed666)), seed666.lengths);
  assert.notDeepEqual(chunkLengths(fixture, { ...paramsOf(seed666), seed: 0n }), seed666.lengths);
});

test('validateFastCdcParams rejects bad params with clear messages', () => {
  const ok: FastCdcParams = { min: 2048, avg: 8192, max: 65536, normalization: 2, seed: 0n };
  assert.doesNotThrow(() => validateFastCdcParams(ok));
  assert.doesNotThrow(() => validateFastCdcParams({ ...ok, seed: U64 }));
  assert.doesNotThrow(() => validateFastCdcParams({ ...ok, max: 16 * 1024 * 1024 }));
  const bad: Array<[Partial<Record<keyof FastCdcParams, unknown>>, RegExp]> = [
    [{ min: 63, avg: 128, normalization: 0 }, /min must be >= 64, got 63/],
    [{ min: 8192 }, /min < avg < max/],
    [{ avg: 65536 }, /min < avg < max/],
    [{ max: 16 * 1024 * 1024 + 1 }, /max must be <= 16777216/],
    [{ normalization: 4 }, /normalization must be 0\.\.3, got 4/],
    [{ normalization: -1 }, /normalization must be 0\.\.3/],
    [{ normalization: 1.5 }, /normalization must be an integer/],
    [{ min: 2048.5 }, /min must be an integer/],
    [{ avg: Number.NaN }, /avg must be an integer/],
    [{ min: 64, avg: 128, max: 1024, normalization: 3 }, /outside the table 5\.\.25/],
    [{ min: 64, avg: 8 << 20, max: 16 << 20, normalization: 3 }, /outside the table 5\.\.25/],
    [{ seed: -1n }, /seed must be in 0\.\.2\^64-1/],
    [{ seed: 1n << 64n }, /seed must be in 0\.\.2\^64-1/],
    [{ seed: 5 }, /seed must be a bigint/],
  ];
  for (const [change, message] of bad) {
    const params = { ...ok, ...change } as FastCdcParams;
    assert.throws(() => validateFastCdcParams(params), (e: unknown) => e instanceof RangeError && message.test(e.message), JSON.stringify(change, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
    assert.throws(() => new FastCdc2020(params), RangeError);
  }
});
