// What storing bytes on Arweave costs, and whether a wallet can pay. Prices come from the
// gateway (`GET /price/<bytes>`, per transaction, so a fixed per-transaction part is counted
// once per transaction) as close to posting as possible; amounts are winston (10^-12 AR) kept as
// bigint, never floats.
import { UsageError } from '../errors.js';
import type { GatewayClient } from './client.js';
import { ArweaveError } from './errors.js';

export const WINSTON_PER_AR = 1_000_000_000_000n;

/** "0.000343909376983" — exact, trailing zeros trimmed. */
export function winstonToAr(winston: bigint): string {
  const whole = winston / WINSTON_PER_AR;
  const fraction = (winston % WINSTON_PER_AR).toString().padStart(12, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : whole.toString();
}

export function describeCost(winston: bigint): string {
  return `${winstonToAr(winston)} AR (${winston} winston)`;
}

const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};

/** "5242880", "5MiB", "1.5 GB" → bytes; undefined when `text` is not a size. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`size ${text} is too large`);
  return bytes;
}

/** The price of one transaction per size, summed; equal sizes are asked once. */
export async function priceOf(client: GatewayClient, sizes: readonly number[], signal?: AbortSignal): Promise<{ total: bigint; each: Map<number, bigint> }> {
  const each = new Map<number, bigint>();
  for (const size of new Set(sizes)) each.set(size, await client.price(size, signal));
  let total = 0n;
  for (const size of sizes) total += each.get(size)!;
  return { total, each };
}

/** Throws a one-line INSUFFICIENT_FUNDS error when the wallet holds less than `cost`. */
export async function checkBalance(client: GatewayClient, address: string, cost: bigint, what: string, signal?: AbortSignal): Promise<bigint> {
  const balance = await client.balance(address, signal);
  if (balance < cost) {
    throw new ArweaveError(
      'INSUFFICIENT_FUNDS',
      `wallet ${address} holds ${describeCost(balance)} at ${client.url} but ${what} costs ${describeCost(cost)}; add ${describeCost(cost - balance)} and run it again`,
    );
  }
  return balance;
}
