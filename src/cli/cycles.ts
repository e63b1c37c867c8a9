// Cycle amounts as people write them: 1000000000000, 1T, 1.5T, 500B, 20M, 3K (decimal suffixes).
import { UsageError } from '../errors.js';

const SUFFIX: Record<string, bigint> = { '': 1n, k: 1_000n, m: 1_000_000n, b: 1_000_000_000n, t: 1_000_000_000_000n };

export const DEFAULT_MIN_CYCLES = 1_000_000_000_000n;

export function parseCycles(text: string, what = 'cycles'): bigint {
  const m = /^\s*(\d+)(?:\.(\d+))?\s*([kmbt]?)\s*$/i.exec(text.replace(/_/g, ''));
  if (!m) throw new UsageError(`${what} must be a whole number of cycles or an amount like 1.5T, 500B; got ${JSON.stringify(text)}`);
  const unit = SUFFIX[m[3]!.toLowerCase()]!;
  const fraction = m[2] ?? '';
  const scale = 10n ** BigInt(fraction.length);
  const value = (BigInt(m[1]!) * scale + BigInt(fraction || '0')) * unit;
  if (value % scale !== 0n) throw new UsageError(`${what} ${text} is not a whole number of cycles`);
  return value / scale;
}

/** 10000000000000 → "10.00T", for people; JSON output keeps the exact integer. */
export function formatCycles(n: bigint): string {
  for (const [suffix, unit] of [['T', 1_000_000_000_000n], ['B', 1_000_000_000n], ['M', 1_000_000n], ['K', 1_000n]] as const) {
    if (n >= unit) return `${(Number(n / (unit / 100n)) / 100).toFixed(2)}${suffix}`;
  }
  return n.toString();
}
