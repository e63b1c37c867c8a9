// arlocal in its own process for bench/arweave.ts, so that the gateway's CPU is not charged to
// the uploader's. Prints one JSON line, {"url", "proxyUrl"}, then serves until SIGTERM.
// `--latency-ms N` puts a forwarding proxy in front that holds every request N ms before passing
// it on: a gateway across a network instead of on loopback.
//   node --import tsx bench/arlocal-server.ts [--latency-ms 0]
import { startArlocal, startFaultProxy } from '../test/helpers/arlocal.js';
import { nonNegativeInt, parseArgs } from './measure.js';

const args = parseArgs(process.argv.slice(2), ['latency-ms']);
const latencyMs = nonNegativeInt(args.get('latency-ms')?.[0], 0, '--latency-ms');
const cleanups: Array<() => unknown> = [];
const owner = { after: (fn: () => unknown) => void cleanups.unshift(fn) };

const gateway = await startArlocal(owner);
const proxy = latencyMs > 0 ? await startFaultProxy(owner, gateway.url, () => ({ kind: 'delay', ms: latencyMs })) : undefined;
// No automatic mining: a transaction's anchor must be one of the last 50 blocks, and the bench
// mines (GET /mine) only when it wants the archive confirmed.
process.stdout.write(`${JSON.stringify({ url: gateway.url, proxyUrl: proxy?.url ?? gateway.url })}\n`);

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  void (async () => {
    for (const fn of cleanups) await fn();
    process.exit(0);
  })();
});
