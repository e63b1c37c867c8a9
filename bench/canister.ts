// Canister backup throughput from the replica emulator (a separate process, as a real replica
// would be): a canister with an N MiB heap (default 1024) of canister-like content.
//   1. network alone: the snapshot's heap read in 2 MB slices, 4 in flight, bytes discarded
//   2. agentvault backup create <canister>: the whole thing (stop, snapshot, start, download,
//      chunk, hash, compress, encrypt, store)
//   3. agentvault backup restore latest: back into the same canister (read, decrypt, decompress,
//      upload in 2 MB slices, load the snapshot, start)
// The difference says how much the pipeline adds on top of waiting for the network. CPU is
// reported for both processes, which share the machine's cores: agentvault (this process for the
// download, the CLI under GNU time for the others) and the emulator (from /proc).
// The emulator signs as a mainnet application subnet does (--nns-delegation): every certificate
// carries the root key's delegation to the subnet's key, which the agent checks too.
//   node --import tsx bench/canister.ts [--heap-mib 1024]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { identityFromPem } from '../src/ic/identity.js';
import { CanisterManagement, SLICE_BYTES } from '../src/ic/management.js';
import { resolveNetwork } from '../src/ic/network.js';
import { markdownTable, ownCpuSeconds, parseArgs, positiveInt, processCpuSeconds, Runner } from './measure.js';

const args = parseArgs(process.argv.slice(2), ['heap-mib']);
const heapMiB = positiveInt(args.get('heap-mib')?.[0], 1024, '--heap-mib');
const root = path.resolve(import.meta.dirname, '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'agentvault-canister-bench-'));

const replica = spawn(process.execPath, [path.join(root, 'dist', 'testing', 'replica', 'main.js'), '--heap-mib', String(heapMiB), '--stable-mib', '8', '--identity-pem', path.join(work, 'id.pem'), '--nns-delegation'], { stdio: ['ignore', 'pipe', 'inherit'] });
const line = await new Promise<string>((resolve) => createInterface({ input: replica.stdout }).once('line', resolve));
const info = JSON.parse(line) as { url: string; canisterId: string; identityPem: string };
try {
  const management = await CanisterManagement.connect({ network: resolveNetwork(info.url), identity: identityFromPem(fs.readFileSync(info.identityPem, 'utf8'), info.identityPem) });
  const snapshot = await management.takeSnapshot(info.canisterId);
  const metadata = await management.readMetadata(info.canisterId, snapshot.id);
  const size = Number(metadata.wasmMemorySize);
  const emulatorCpu = () => processCpuSeconds(replica.pid!);
  let [t, emulator0] = [performance.now(), emulatorCpu()];
  const cpu0 = ownCpuSeconds();
  const inFlight: Array<Promise<Buffer>> = [];
  for (let offset = 0; offset < size; offset += SLICE_BYTES) {
    inFlight.push(management.readSlice(info.canisterId, snapshot.id, 'wasmMemory', offset, Math.min(SLICE_BYTES, size - offset)));
    if (inFlight.length >= 4) await inFlight.shift();
  }
  await Promise.all(inFlight);
  const networkSeconds = (performance.now() - t) / 1000;
  const download = { ours: ownCpuSeconds() - cpu0, emulator: emulatorCpu() - emulator0 };
  await management.deleteSnapshot(info.canisterId, snapshot.id);

  const runner = new Runner(work);
  const env = { ...process.env, AGENTVAULT_PASSWORD: 'bench', AGENTVAULT_CONFIG: path.join(work, 'config.json'), HOME: work };
  const repo = path.join(work, 'repo');
  await runner.run(process.execPath, [path.join(root, 'dist', 'cli.js'), 'backup', 'init', '--destination', repo, '-q'], { env });
  [t, emulator0] = [performance.now(), emulatorCpu()];
  const backup = await runner.run(process.execPath, [path.join(root, 'dist', 'cli.js'), 'backup', 'create', info.canisterId, '--network', info.url, '--identity-pem', info.identityPem, '--destination', repo, '--json', '-q'], { env });
  const backupSeconds = (performance.now() - t) / 1000;
  const backupEmulatorCpu = emulatorCpu() - emulator0;
  const logical = (JSON.parse(backup.stdout) as { logicalSize: number }).logicalSize;
  [t, emulator0] = [performance.now(), emulatorCpu()];
  const restore = await runner.run(process.execPath, [path.join(root, 'dist', 'cli.js'), 'backup', 'restore', 'latest', '--destination', repo, '--network', info.url, '--identity-pem', info.identityPem, '-q'], { env });
  const restoreSeconds = (performance.now() - t) / 1000;
  const restoreEmulatorCpu = emulatorCpu() - emulator0;
  const cpu = (seconds: number | null) => (seconds === null ? '—' : seconds.toFixed(1));

  const MB = 1 << 20;
  console.log(`${heapMiB} MiB heap (+8 MiB stable memory) in the replica emulator (certificates with an NNS delegation), ${os.availableParallelism()} cores, node ${process.version}\n`);
  console.log(`BLS signatures checked for the heap download: ${management.bls.stats.computed}, found verified before: ${management.bls.stats.remembered}\n`);
  console.log(
    markdownTable(
      ['step', 'seconds', 'MB/s', 'agentvault CPU-s', 'emulator CPU-s'],
      [
        ['heap download alone (2 MB slices, 4 in flight)', networkSeconds.toFixed(2), (size / MB / networkSeconds).toFixed(0), cpu(download.ours), cpu(download.emulator)],
        ['backup create <canister> (everything)', backupSeconds.toFixed(2), (logical / MB / backupSeconds).toFixed(0), cpu(backup.cpuSeconds), cpu(backupEmulatorCpu)],
        ['backup restore into the canister (everything)', restoreSeconds.toFixed(2), (logical / MB / restoreSeconds).toFixed(0), cpu(restore.cpuSeconds), cpu(restoreEmulatorCpu)],
      ],
    ),
  );
  console.log(`\nwaiting on the network: ~${((networkSeconds / backupSeconds) * 100).toFixed(0)}% of the backup's wall time; the pipeline runs alongside the download.`);
} finally {
  replica.kill('SIGTERM');
  fs.rmSync(work, { recursive: true, force: true });
}
