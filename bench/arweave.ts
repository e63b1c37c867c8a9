// Archive throughput to Arweave: a backup of an N MiB canister-like image (default 64) archived
// to arlocal, which runs in its own process, with 1, 2, 4 and 8 transactions in flight; on
// loopback and through a proxy that holds every request L ms (a gateway across a network); then
// the archive downloaded back into an empty repository. Each upload gets a fresh arlocal, so
// nothing is found already archived. CPU is reported for both sides: ours (this process) and the
// gateway's (arlocal and the proxy).
//   node --import tsx bench/arweave.ts [--image-mib 64] [--pack-mib 4] [--concurrency 1,2,4,8] [--latency-ms 0,50]
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { archiveBackup } from '../src/arweave/archiver.js';
import { GatewayClient } from '../src/arweave/client.js';
import { downloadArchive } from '../src/arweave/download.js';
import { ArweaveWallet } from '../src/arweave/wallet.js';
import { LocalBackend } from '../src/backend/local.js';
import { backup } from '../src/backup.js';
import { Repository } from '../src/repository/repository.js';
import { ArweaveArchive } from '../src/sources/arweave.js';
import { FileSource } from '../src/sources/file.js';
import { AR, createWallet } from '../test/helpers/arlocal.js';
import { writeCanisterImage } from './data.js';
import { fixed, machine, markdownTable, MB, nonNegativeInt, ownCpuSeconds, parseArgs, positiveInt, processCpuSeconds } from './measure.js';

const args = parseArgs(process.argv.slice(2), ['image-mib', 'pack-mib', 'concurrency', 'latency-ms']);
const imageMiB = positiveInt(args.get('image-mib')?.at(-1), 64, '--image-mib');
const packMiB = positiveInt(args.get('pack-mib')?.at(-1), 4, '--pack-mib');
const concurrencies = (args.get('concurrency') ?? ['1', '2', '4', '8']).map((v) => positiveInt(v, 1, '--concurrency'));
const latencies = (args.get('latency-ms') ?? ['0', '50']).map((v) => nonNegativeInt(v, 0, '--latency-ms'));
const root = path.resolve(import.meta.dirname, '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'agentvault-arweave-bench-'));
const password = 'bench';

interface Server {
  readonly url: string;
  /** The proxy's URL, or the gateway's when there is no latency. */
  readonly proxyUrl: string;
  /** User + system CPU seconds the server process has used so far. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

async function startServer(latencyMs: number): Promise<Server> {
  const child: ChildProcessByStdio<null, Readable, null> = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench', 'arlocal-server.ts'), '--latency-ms', String(latencyMs)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`arlocal exited with ${code} before it was ready`)));
  });
  const { url, proxyUrl } = JSON.parse(line) as { url: string; proxyUrl: string };
  return {
    url,
    proxyUrl,
    cpuSeconds: () => processCpuSeconds(child.pid!),
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

interface Row {
  latencyMs: number;
  concurrency: number;
  packs: number;
  bytes: number;
  seconds: number;
  ourCpu: number;
  gatewayCpu: number;
}

try {
  // The backup to archive, made once and copied for every upload.
  const image = path.join(work, 'image.bin');
  await writeCanisterImage(image, imageMiB, 20240601);
  const base = path.join(work, 'base');
  const repository = await Repository.init(new LocalBackend(base), { encryption: 'aes-256-gcm', password, packSize: packMiB * MB });
  const made = await backup({ repository, source: await FileSource.open(image) });
  const backupId = made.manifest.id;
  const walletFile = await createWallet(work);
  const { wallet } = await ArweaveWallet.load(walletFile.path);
  fs.rmSync(image);

  const rows: Row[] = [];
  const downloads: Array<{ latencyMs: number; bytes: number; seconds: number; ourCpu: number; gatewayCpu: number }> = [];
  for (const latencyMs of latencies) {
    for (const concurrency of concurrencies) {
      const server = await startServer(latencyMs);
      try {
        await fetch(`${server.url}/mint/${walletFile.address}/${1000n * AR}`).then((r) => r.arrayBuffer());
        const copy = path.join(work, `repo-${latencyMs}-${concurrency}`);
        fs.cpSync(base, copy, { recursive: true });
        const repo = await Repository.open(new LocalBackend(copy), { password });
        const client = new GatewayClient(server.proxyUrl);
        const [cpu0, gw0, t0] = [ownCpuSeconds(), server.cpuSeconds(), performance.now()];
        const result = await archiveBackup({ repository: repo, backupId, wallet, clients: [client], wait: false, concurrency });
        const seconds = (performance.now() - t0) / 1000;
        rows.push({ latencyMs, concurrency, packs: result.newPacks, bytes: result.uploadedBytes, seconds, ourCpu: ownCpuSeconds() - cpu0, gatewayCpu: server.cpuSeconds() - gw0 });
        process.stderr.write(`latency ${latencyMs} ms, ${concurrency} in flight: ${fixed(seconds, 2)} s\n`);

        if (concurrency === concurrencies.at(-1)) {
          // Mined first, as a restore from Arweave would find it; then downloaded back.
          await fetch(`${server.url}/mine`).then((r) => r.arrayBuffer());
          const [c1, g1, t1] = [ownCpuSeconds(), server.cpuSeconds(), performance.now()];
          const archive = await ArweaveArchive.fetch([new GatewayClient(server.proxyUrl)], result.tx);
          const got = await downloadArchive({ archive, path: path.join(work, `download-${latencyMs}`), credentials: { password } });
          downloads.push({ latencyMs, bytes: got.downloadedBytes, seconds: (performance.now() - t1) / 1000, ourCpu: ownCpuSeconds() - c1, gatewayCpu: server.cpuSeconds() - g1 });
        }
      } finally {
        await server.stop();
      }
    }
  }

  const m = machine();
  console.log(
    `${imageMiB} MiB canister-like image → ${fixed(rows[0]!.bytes / MB, 1)} MiB archived (${rows[0]!.packs} packs of ≤${packMiB} MiB + the manifest), ` +
      `arlocal 1.1.66 in its own process; ${m.cores} cores, ${m.cpu}, node ${m.node}\n`,
  );
  const base1 = new Map(latencies.map((l) => [l, rows.find((r) => r.latencyMs === l)!.seconds]));
  console.log(
    markdownTable(
      ['gateway', 'transactions in flight', 'seconds', 'MiB/s', '÷ 1 in flight', 'our CPU s', 'gateway CPU s'],
      rows.map((r) => [
        r.latencyMs === 0 ? 'loopback' : `+${r.latencyMs} ms per request`,
        String(r.concurrency),
        fixed(r.seconds, 2),
        fixed(r.bytes / MB / r.seconds, 2),
        `${fixed(base1.get(r.latencyMs)! / r.seconds, 2)}x`,
        fixed(r.ourCpu, 2),
        fixed(r.gatewayCpu, 2),
      ]),
    ),
  );
  console.log('');
  console.log(
    markdownTable(
      ['download (fetch, verify, write packs)', 'seconds', 'MiB/s', 'our CPU s', 'gateway CPU s'],
      downloads.map((d) => [d.latencyMs === 0 ? 'loopback' : `+${d.latencyMs} ms per request`, fixed(d.seconds, 2), fixed(d.bytes / MB / d.seconds, 2), fixed(d.ourCpu, 2), fixed(d.gatewayCpu, 2)]),
    ),
  );
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
