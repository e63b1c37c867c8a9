// `npm run demo`: a real backup and restore with the agentvault CLI, narrated.
// Everything happens in a temp directory; nothing touches your own repository or config.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const cli = path.join(root, 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  console.error('dist/cli.js is missing: run `npm install` (it builds) or `npm run build` first');
  process.exit(1);
}
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'agentvault-demo-'));
const env = {
  ...process.env,
  HOME: work,
  XDG_CONFIG_HOME: path.join(work, '.config'),
  XDG_DATA_HOME: path.join(work, '.local', 'share'),
  AGENTVAULT_REPO: path.join(work, 'repository'),
  AGENTVAULT_PASSWORD: 'demo password, use your own',
};

function run(args: string[], options: { input?: Buffer; quietStdout?: boolean } = {}): string {
  console.log(`\n$ agentvault ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { env, input: options.input, stdio: ['pipe', 'pipe', 'inherit'], maxBuffer: 1 << 30 });
  const out = r.stdout.toString();
  if (!options.quietStdout && out.trim()) console.log(out.trimEnd());
  if (r.status !== 0) {
    console.error(`demo failed: exit ${r.status}`);
    process.exit(1);
  }
  return out;
}

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

// A canister-like memory image: 64 KiB pages, ~40% zero, ~30% JSON records, ~30% random.
function canisterImage(pages: number): Buffer {
  const out = Buffer.alloc(pages * 65536);
  for (let p = 0; p < pages; p++) {
    const kind = p % 10;
    const page = out.subarray(p * 65536, (p + 1) * 65536);
    if (kind < 4) continue;
    if (kind < 7) {
      let text = '';
      while (text.length < 65536) text += JSON.stringify({ id: p * 1000 + text.length, owner: `principal-${p % 97}`, balance: (p * 7919) % 100000, memo: 'transfer' }) + '\n';
      page.write(text.slice(0, 65536), 'latin1');
    } else randomBytes(65536).copy(page);
  }
  return out;
}

console.log(`agentvault demo in ${work}`);
const state = path.join(work, 'heap.bin');
fs.writeFileSync(state, canisterImage(512)); // 32 MiB
console.log(`made a 32 MiB canister-like heap image: ${state}`);

const full = JSON.parse(run(['backup', 'create', '--file', state, '--json'], { quietStdout: true }));
console.log(`full backup ${full.id}: ${full.logicalSize} bytes, stored ${full.storedSize} (zero pages deduplicated, JSON compressed, all encrypted)`);

// Change 1% of the 4 KiB pages at scattered places, as a running canister would.
const image = fs.readFileSync(state);
const pages = image.length / 4096;
for (let i = 0; i < pages / 100; i++) randomBytes(4096).copy(image, Math.floor(Math.random() * pages) * 4096);
fs.writeFileSync(state, image);
console.log(`\nchanged ${Math.floor(pages / 100)} scattered 4 KiB pages (${Math.floor(pages / 100) * 4096} bytes)`);

const inc = JSON.parse(run(['backup', 'create', '--file', state, '--json'], { quietStdout: true }));
console.log(`incremental backup ${inc.id} (parent ${inc.parent}): stored ${inc.storedSize} bytes for ${Math.floor(pages / 100) * 4096} changed`);

run(['backup', 'list']);
run(['backup', 'diff', full.id, inc.id]);
const restored = path.join(work, 'restored-heap.bin');
run(['backup', 'restore', 'latest', '--target', restored]);
console.log(`\nsha256 original  ${sha256(state)}\nsha256 restored  ${sha256(restored)}`);
if (sha256(state) !== sha256(restored)) {
  console.error('demo failed: restored bytes differ');
  process.exit(1);
}
run(['backup', 'verify', '--all', '--read-data']);
console.log(`\ndemo finished: the repository is in ${env.AGENTVAULT_REPO}`);
