/**
 * FastCDC-2020 content-defined chunking (Xia et al. 2020), bit-exact with the published vectors of
 * nlfiedler/fastcdc-rs `v2020` (see test/fixtures/fastcdc/vectors.json), plus an optional 64-bit
 * seed XORed into the gear tables.
 *
 * The reference keeps a wrapping 64-bit hash. The masks only look at bits 4..48 and the hash only
 * ever shifts left and adds, so carries never travel downwards: the low 50 bits evolve on their own.
 * We carry those 50 bits as two 25-bit small integers (`lo` = bits 0..24, `hi` = bits 25..49), which
 * V8 keeps in registers as int32 — no BigInt, no heap numbers, no allocation in the loop.
 *
 * Speed notes (measured on Node 20, see bench/chunker.ts): the hot loop reads its gear table and
 * masks from module-level typed arrays, which TurboFan embeds as constants (no map, length or
 * Smi checks per byte); the instance being served is copied in when it changes (`activate`).
 * Parameters and instance fields in the loop cost ~10-40%. Runs of one byte (zero pages) are
 * skipped once the hash sits at the run's fixed point, with output identical to hashing them.
 */
import { createHash } from 'node:crypto';

export interface FastCdcParams {
  /**
   * Minimum chunk size, bytes (>= 64). The reference hashes whole byte pairs from min/2*2, so an
   * odd min behaves as min - 1 (a chunk can then be min - 1 bytes long).
   */
  min: number;
  /** Average/target size; bits = Math.round(Math.log2(avg)). */
  avg: number;
  /** Maximum chunk size, bytes (<= 16 MiB). */
  max: number;
  /** Normalization level 0..3. */
  normalization: number;
  /** 64-bit unsigned; 0n = the published table. */
  seed: bigint;
}

/** Masks by number of bits (5..25), from the C reference (destor) via fastcdc-rs. */
const MASKS_BY_BITS: ReadonlyMap<number, bigint> = new Map<number, bigint>([
  [5, 0x0000000001804110n],
  [6, 0x0000000001803110n],
  [7, 0x0000000018035100n],
  [8, 0x0000001800035300n],
  [9, 0x0000019000353000n],
  [10, 0x0000590003530000n],
  [11, 0x0000d90003530000n],
  [12, 0x0000d90103530000n],
  [13, 0x0000d90303530000n],
  [14, 0x0000d90313530000n],
  [15, 0x0000d90f03530000n],
  [16, 0x0000d90303537000n],
  [17, 0x0000d90703537000n],
  [18, 0x0000d90707537000n],
  [19, 0x0000d91707537000n],
  [20, 0x0000d91747537000n],
  [21, 0x0000d91767537000n],
  [22, 0x0000d93767537000n],
  [23, 0x0000d93777537000n],
  [24, 0x0000d93777577000n],
  [25, 0x0000db3777577000n],
]);
const MIN_MASK_BITS = 5;
const MAX_MASK_BITS = 25;

export const FASTCDC_MIN_SIZE_FLOOR = 64;
export const FASTCDC_MAX_SIZE_CEILING = 16 * 1024 * 1024;

const U64 = (1n << 64n) - 1n;
const LOW25N = 0x1ffffffn;

/** Low 25 bits and bits 25..49 of a 64-bit value. */
function splitLow50(value: bigint): [lo: number, hi: number] {
  return [Number(value & LOW25N), Number((value >> 25n) & LOW25N)];
}

/** Gear entry i = first 8 bytes (big-endian) of MD5 over 64 bytes all equal to i. */
const PUBLISHED_GEAR: readonly bigint[] = Array.from({ length: 256 }, (_, i) =>
  createHash('md5').update(Buffer.alloc(64, i)).digest().readBigUInt64BE(0),
);

/*
 * Gear table layout, one Int32Array per seed (one array = one bounds check base in the loop):
 *   [4b]   even-byte entry, low 25 bits    (gear << 1, XOR seed << 1)
 *   [4b+1] even-byte entry, bits 25..49
 *   [4b+2] odd-byte entry, low 25 bits     (gear XOR seed)
 *   [4b+3] odd-byte entry, bits 25..49
 *   [RUN_FIXED_LO + b], [RUN_FIXED_HI + b]: the fixed point F of h -> (h << 2) + even[b] + odd[b]
 *     (mod 2^50), i.e. the state a run of byte b settles into: from any state, 25 (b, b) steps
 *     shift everything older out of the low 50 bits.
 */
const RUN_FIXED_LO = 1024;
const RUN_FIXED_HI = 1280;
const GEAR_TABLE_LENGTH = 1536;

const gearTablesBySeed = new Map<bigint, Int32Array>();

function gearTableFor(seed: bigint): Int32Array {
  const cached = gearTablesBySeed.get(seed);
  if (cached !== undefined) return cached;
  const mod50 = (1n << 50n) - 1n;
  const table = new Int32Array(GEAR_TABLE_LENGTH);
  for (let b = 0; b < 256; b++) {
    const odd = PUBLISHED_GEAR[b]! ^ seed;
    // (g << 1) ^ (seed << 1) == (g ^ seed) << 1 modulo 2^64, so the order does not matter.
    const even = ((PUBLISHED_GEAR[b]! << 1n) & U64) ^ ((seed << 1n) & U64);
    [table[4 * b], table[4 * b + 1]] = splitLow50(even);
    [table[4 * b + 2], table[4 * b + 3]] = splitLow50(odd);
    let state = 0n;
    for (let step = 0; step < 30; step++) state = ((state << 2n) + even + odd) & mod50;
    [table[RUN_FIXED_LO + b], table[RUN_FIXED_HI + b]] = splitLow50(state);
  }
  gearTablesBySeed.set(seed, table);
  return table;
}

/*
 * What the hot loop reads. Module-level constants so TurboFan embeds them (see the header);
 * FastCdc2020#activate copies an instance's table and masks in when another instance was last used.
 */
const ACTIVE_GEAR = new Int32Array(GEAR_TABLE_LENGTH);
/** [maskS lo, hi, maskS<<1 lo, hi, maskL lo, hi, maskL<<1 lo, hi] */
const ACTIVE_MASKS = new Int32Array(8);
const MASKS_BEFORE_CENTER = 0;
const MASKS_AFTER_CENTER = 4;
let activeOwner: object | undefined;
/** The 50-bit hash carried from one scan call to the next: [lo, hi]. */
const HASH_STATE = new Int32Array(2);

const RUN_BLOCK_SIZE = 4096;
const runBlocks: Array<Buffer | undefined> = new Array<Buffer | undefined>(256);
/** A block of one repeated byte, to compare runs against (made on first use). */
function runBlockOf(byte: number): Buffer {
  return (runBlocks[byte] ??= Buffer.alloc(RUN_BLOCK_SIZE, byte));
}
// Buffer#compare with ranges, callable on any Uint8Array target without making subarrays.
const compareBytes = Buffer.prototype.compare;

function describe(value: unknown): string {
  return typeof value === 'bigint' ? `${value}n` : String(value);
}

function requireInteger(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new RangeError(`FastCDC ${name} must be an integer, got ${describe(value)}`);
  }
}

/** Throws a RangeError naming the first offending parameter. */
export function validateFastCdcParams(p: FastCdcParams): void {
  if (typeof p !== 'object' || p === null) throw new RangeError('FastCDC params must be an object');
  requireInteger('min', p.min);
  requireInteger('avg', p.avg);
  requireInteger('max', p.max);
  requireInteger('normalization', p.normalization);
  if (p.min < FASTCDC_MIN_SIZE_FLOOR) {
    throw new RangeError(`FastCDC min must be >= ${FASTCDC_MIN_SIZE_FLOOR}, got ${p.min}`);
  }
  if (!(p.min < p.avg && p.avg < p.max)) {
    throw new RangeError(`FastCDC sizes must satisfy min < avg < max, got min=${p.min} avg=${p.avg} max=${p.max}`);
  }
  if (p.max > FASTCDC_MAX_SIZE_CEILING) {
    throw new RangeError(`FastCDC max must be <= ${FASTCDC_MAX_SIZE_CEILING} (16 MiB), got ${p.max}`);
  }
  if (p.normalization < 0 || p.normalization > 3) {
    throw new RangeError(`FastCDC normalization must be 0..3, got ${p.normalization}`);
  }
  const bits = Math.round(Math.log2(p.avg));
  if (bits - p.normalization < MIN_MASK_BITS || bits + p.normalization > MAX_MASK_BITS) {
    throw new RangeError(
      `FastCDC avg=${p.avg} (bits=${bits}) with normalization=${p.normalization} needs masks ` +
        `${bits - p.normalization}..${bits + p.normalization}, outside the table ${MIN_MASK_BITS}..${MAX_MASK_BITS}`,
    );
  }
  if (typeof p.seed !== 'bigint') {
    throw new RangeError(`FastCDC seed must be a bigint, got ${typeof p.seed}`);
  }
  if (p.seed < 0n || p.seed > U64) {
    throw new RangeError(`FastCDC seed must be in 0..2^64-1, got ${p.seed}`);
  }
}

export class FastCdc2020 {
  readonly params: Readonly<FastCdcParams>;

  readonly #min: number;
  readonly #avg: number;
  readonly #max: number;
  readonly #gear: Int32Array;
  readonly #masks: Int32Array;

  constructor(params: FastCdcParams) {
    validateFastCdcParams(params);
    this.params = Object.freeze({
      min: params.min,
      avg: params.avg,
      max: params.max,
      normalization: params.normalization,
      seed: params.seed,
    });
    this.#min = params.min;
    this.#avg = params.avg;
    this.#max = params.max;
    this.#gear = gearTableFor(params.seed);
    const bits = Math.round(Math.log2(params.avg));
    // S = the harder mask before center, L = the easier one after; `<< 1` for the even bytes.
    const maskS = MASKS_BY_BITS.get(bits + params.normalization)!;
    const maskL = MASKS_BY_BITS.get(bits - params.normalization)!;
    this.#masks = Int32Array.from([maskS, maskS << 1n, maskL, maskL << 1n].flatMap((mask) => splitLow50(mask)));
  }

  /** Makes this instance's table and masks the ones the hot loop reads. */
  #activate(): void {
    if (activeOwner === this) return;
    ACTIVE_GEAR.set(this.#gear);
    ACTIVE_MASKS.set(this.#masks);
    activeOwner = this;
  }

  /**
   * data[start..end) begins a new chunk. Returns the length of that chunk, or -1 when `final` is
   * false and the chunk is not yet determined by the bytes given (supply more and call again from
   * the same start). With `final`, always returns a length (0 only when start === end).
   */
  cut(data: Uint8Array, start: number, end: number, final: boolean): number {
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && 0 <= start && start <= end && end <= data.length)) {
      throw new RangeError(`FastCDC cut: need 0 <= start <= end <= ${data.length}, got start=${start} end=${end}`);
    }
    const min = this.#min;
    const remaining = end - start;
    if (remaining <= min) return final ? remaining : -1;
    // Once `max` bytes are present the outcome cannot depend on later bytes.
    const determined = final || remaining >= this.#max;
    const window = remaining > this.#max ? this.#max : remaining;
    // Not final and shorter than avg: every step we can evaluate lies before the true center
    // (true center = min(avg, total remaining) >= remaining), so using `remaining` here is exact.
    const center = remaining < this.#avg ? remaining : this.#avg;

    this.#activate();
    // Steps cover the byte pairs (2i, 2i+1) for min/2 <= i < center/2, then up to window/2 (integer
    // halves, exactly as the reference: an odd min starts one byte early, an odd window never tests
    // its last byte).
    const centerEnd = start + (center & ~1);
    const windowEnd = start + (window & ~1);
    HASH_STATE[0] = 0;
    HASH_STATE[1] = 0;
    let cutAt = scanForCut(data, start + (min & ~1), centerEnd, MASKS_BEFORE_CENTER);
    if (cutAt < 0) cutAt = scanForCut(data, centerEnd, windowEnd, MASKS_AFTER_CENTER);
    if (cutAt >= 0) return cutAt - start;
    return determined ? window : -1;
  }
}

/**
 * Hashes the pairs (p, p+1), (p+2, p+3), ... before `limit`, starting from HASH_STATE, testing the
 * masks at ACTIVE_MASKS[maskIndex..+3]. Returns the absolute cut position, or -1 with the hash
 * saved back into HASH_STATE.
 *
 * `hi` is carried unmasked: int32 wrap-around keeps its low 25 bits exact and only those are tested.
 */
function scanForCut(data: Uint8Array, p: number, limit: number, maskIndex: number): number {
  // Typed-array loads come out as untagged int32: no Smi checks on the masks inside the loop.
  const maskLo = ACTIVE_MASKS[maskIndex]!;
  const maskHi = ACTIVE_MASKS[maskIndex + 1]!;
  const evenMaskLo = ACTIVE_MASKS[maskIndex + 2]!;
  const evenMaskHi = ACTIVE_MASKS[maskIndex + 3]!;
  const gear = ACTIVE_GEAR;
  let lo = HASH_STATE[0]!;
  let hi = HASH_STATE[1]!;
  while (p < limit) {
    const loBefore = lo;
    const even = data[p]! << 2;
    lo = (lo << 2) + gear[even]!;
    hi = ((hi << 2) + gear[even + 1]! + (lo >>> 25)) | 0;
    lo &= 0x1ffffff;
    if (((lo & evenMaskLo) | (hi & evenMaskHi)) === 0) return p;
    const oddByte = data[p + 1]!;
    const odd = (oddByte << 2) + 2;
    lo += gear[odd]!;
    hi = (hi + gear[odd + 1]! + (lo >>> 25)) | 0;
    lo &= 0x1ffffff;
    if (((lo & maskLo) | (hi & maskHi)) === 0) return p + 1;
    p += 2;
    // At a run's fixed point the step leaves the hash unchanged. Comparing with the previous `lo`
    // needs no load (~5% faster than looking F up every step); it is almost never true on varied
    // data (1 in 2^25) and true from ~26 steps into a run of one byte. Then confirm F exactly.
    // (Literals, not RUN_FIXED_LO/HI: a module binding read in the loop may cost a load + TDZ check.)
    if (lo === loBefore && lo === gear[1024 + oddByte] && (hi & 0x1ffffff) === gear[1280 + oddByte]) {
      p = skipRun(data, p, limit, oddByte);
    }
  }
  HASH_STATE[0] = lo;
  HASH_STATE[1] = hi & 0x1ffffff;
  return -1;
}

/**
 * The step that just ended (odd byte `runByte`) left the hash at F, the fixed point of a run of
 * `runByte`. That step's even half was therefore F - odd[runByte], which is exactly what every
 * following (runByte, runByte) pair produces as well: each such pair repeats the two tests that just
 * failed, under the same masks (the caller's `limit` keeps us inside one mask region). So no cut
 * can fall inside the run: jump to the first pair that is not (runByte, runByte), or to `limit`.
 * The hash stays F. Returns the next step position.
 */
function skipRun(data: Uint8Array, p: number, limit: number, runByte: number): number {
  const block = runBlockOf(runByte);
  let q = p;
  // Long runs (zero pages) compare a block at a time natively (memcmp), the tail byte by byte.
  while (limit - q >= RUN_BLOCK_SIZE && compareBytes.call(block, data, q, q + RUN_BLOCK_SIZE, 0, RUN_BLOCK_SIZE) === 0) {
    q += RUN_BLOCK_SIZE;
  }
  while (q < limit && data[q] === runByte) q++;
  // Whole pairs only: [p, q) holds only runByte; keep the pair grid anchored at the chunk start.
  return q >= limit ? limit : p + ((q - p) & ~1);
}

/** All chunk lengths of a whole buffer. */
export function chunkLengths(data: Uint8Array, params: FastCdcParams): number[] {
  const chunker = new FastCdc2020(params);
  const lengths: number[] = [];
  for (let start = 0; start < data.length; ) {
    const length = chunker.cut(data, start, data.length, true);
    lengths.push(length);
    start += length;
  }
  return lengths;
}

/** The 64-bit tables and masks of a parameter set, for the WebAssembly chunker (fastcdc-wasm.ts). */
export interface FastCdcTables {
  /** gear[b] ^ seed. */
  readonly odd: BigUint64Array;
  /** (gear[b] ^ seed) << 1, mod 2^64. */
  readonly even: BigUint64Array;
  /** The state a run of byte b settles into: F = (F << 2) + even[b] + odd[b], mod 2^64. */
  readonly fixed: BigUint64Array;
  /** The harder mask (before the center) and the easier one (after). */
  readonly maskS: bigint;
  readonly maskL: bigint;
}

export function fastCdcTables(params: FastCdcParams): FastCdcTables {
  validateFastCdcParams(params);
  const odd = new BigUint64Array(256);
  const even = new BigUint64Array(256);
  const fixed = new BigUint64Array(256);
  for (let b = 0; b < 256; b++) {
    odd[b] = PUBLISHED_GEAR[b]! ^ params.seed;
    even[b] = (odd[b]! << 1n) & U64;
    let state = 0n;
    // 32 pair steps shift every older bit out of 64; a few more for good measure.
    for (let step = 0; step < 40; step++) state = ((state << 2n) + even[b]! + odd[b]!) & U64;
    fixed[b] = state;
  }
  const bits = Math.round(Math.log2(params.avg));
  return { odd, even, fixed, maskS: MASKS_BY_BITS.get(bits + params.normalization)!, maskL: MASKS_BY_BITS.get(bits - params.normalization)! };
}
