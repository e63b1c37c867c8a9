// `npm run demo`: a real canister backup and restore with the agentvault CLI, narrated, against
// the project's IC replica emulator (an unmodified @dfinity/agent talks to it over HTTP, with
// certified replies). Everything happens in a temp directory: nothing touches your own
// repository, config or identities.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const cli = path.join(root, 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  console.error('dist/cli.js is missing: run `npm install` (it builds) or `npm run build` first');
  process.exit(1);
}
// The emulator from the build, the same code `agentvault replica` runs.
const { startStandaloneReplica } = (await import(path.join(root, 'dist', 'testing', 'replica', 'standalone.js'))) as typeof import('../src/testing/replica/standalone.js');

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'agentvault-demo-'));
const env = {
  ...process.env,
  HOME: work,
  XDG_CONFIG_HOME: path.join(work, '.config'),
  XDG_DATA_HOME: path.join(work, '.local', 'share'),
  XDG_STATE_HOME: path.join(work, '.local', 'state'),
  AGENTVAULT_REPO: path.join(work, 'repository'),
  AGENTVAULT_PASSWORD: 'demo password, use your own',
};

/** Runs the CLI as its own process; async, because the emulator answers from this process. */
async function run(args: string[], options: { show?: boolean } = {}): Promise<string> {
  console.log(`\n$ agentvault ${args.join(' ')}`);
  const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const out: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const text = Buffer.concat(out).toString();
  if (options.show !== false && text.trim()) console.log(text.trimEnd());
  if (status !== 0) {
    console.error(`demo failed: exit ${status}`);
    process.exit(1);
  }
  return text;
}

console.log(`agentvault demo in ${work}`);
const { info, replica } = await startStandaloneReplica({ port: 0, heapBytes: 64 << 20, stableBytes: 8 << 20, moduleBytes: 256 << 10, seed: 'demo', identityPem: path.join(work, 'identity.pem') });
const canister = replica.canister(info.canisterId);
console.log(`replica emulator at ${info.url}; canister ${info.canisterId} with a 64 MiB heap and 8 MiB of stable memory`);
const ic = ['--network', info.url, '--identity-pem', info.identityPem];

try {
  await run(['status', info.canisterId, ...ic]);
  const heapBefore = canister.sha256('heap');
  const full = JSON.parse(await run(['backup', 'create', info.canisterId, ...ic, '--json'], { show: false }));
  console.log(`full backup ${full.id}: ${full.logicalSize} bytes of canister state, stored ${full.storedSize} (zero pages deduplicated, the rest compressed and encrypted)`);

  const changed = canister.writeRandomPages('heap', Math.floor((64 << 20) / 4096 / 100));
  console.log(`\nthe canister changed ${changed.length} scattered 4 KiB heap pages (${changed.length * 4096} bytes)`);
  const inc = JSON.parse(await run(['backup', 'create', info.canisterId, ...ic, '--json'], { show: false }));
  console.log(`incremental backup ${inc.id} (parent ${inc.parent}): stored ${inc.storedSize} bytes for ${changed.length * 4096} changed`);

  await run(['backup', 'list']);
  await run(['backup', 'diff', full.id, inc.id]);
  await run(['backup', 'restore', full.id, ...ic, '--dry-run']);
  await run(['backup', 'restore', full.id, ...ic]);
  const heapAfter = canister.sha256('heap');
  console.log(`\nheap sha256 at the full backup  ${heapBefore}\nheap sha256 after the restore   ${heapAfter}  (${heapAfter === heapBefore ? 'identical' : 'DIFFERENT'}; canister ${canister.status})`);
  if (heapAfter !== heapBefore || canister.status !== 'running') {
    console.error('demo failed: the restored canister differs or is not running');
    process.exit(1);
  }
  await run(['backup', 'verify', '--all', '--read-data']);
  console.log(`\ndemo finished: the repository is in ${env.AGENTVAULT_REPO}; run \`agentvault replica\` for an emulator of your own`);
} finally {
  await replica.stop();
}
