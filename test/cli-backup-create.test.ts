import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { seededBytes, tempDir } from './helpers/tmp.js';

const PASSWORD = { AGENTVAULT_PASSWORD: 'correct horse battery staple' };

test('backup create --file prints the id; restore gives the same bytes', async (t) => {
  const home = tempDir(t);
  const repo = path.join(home, 'repo');
  const file = path.join(home, 'state.bin');
  fs.writeFileSync(file, seededBytes(300_000, 7));

  const created = await runCli(['backup', 'create', '--file', file, '--destination', repo], { home, env: PASSWORD });
  assert.equal(created.code, 0, created.stderr);
  const id = created.stdout.trim();
  assert.match(id, /^[0-9a-z]{12}$/);
  assert.match(created.stderr, /created an encrypted repository/);

  const out = path.join(home, 'restored.bin');
  const restored = await runCli(['backup', 'restore', id, '--target', out, '--destination', repo], { home, env: PASSWORD });
  assert.equal(restored.code, 0, restored.stderr);
  assert.deepEqual(fs.readFileSync(out), fs.readFileSync(file));
});

test('backup restore --sparse leaves the zero blocks of a mostly-zero image as holes; --sparse without --target is refused', async (t) => {
  const home = tempDir(t);
  const repo = path.join(home, 'repo');
  const file = path.join(home, 'heap.bin');
  // A canister heap's shape: a little data among long zero runs, ending in zeros.
  const data = Buffer.concat([seededBytes(100_000, 1), Buffer.alloc(3 << 20), seededBytes(50_000, 2), Buffer.alloc(2 << 20)]);
  fs.writeFileSync(file, data);
  const created = await runCli(['backup', 'create', '--file', file, '--destination', repo], { home, env: PASSWORD });
  assert.equal(created.code, 0, created.stderr);
  const id = created.stdout.trim();

  const out = path.join(home, 'restored.bin');
  const restored = await runCli(['backup', 'restore', id, '--target', out, '--sparse', '--destination', repo], { home, env: PASSWORD });
  assert.equal(restored.code, 0, restored.stderr);
  assert.ok(fs.readFileSync(out).equals(data));
  assert.ok(fs.statSync(out).blocks * 512 < 1 << 20, `${fs.statSync(out).blocks * 512} bytes allocated for ${data.length}`);

  const refused = await runCli(['backup', 'restore', id, '--stdout', '--sparse', '--destination', repo], { home, env: PASSWORD });
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /--sparse makes sparse files: give --target/);
  assert.equal(refused.stdout, '');
});

test('backup create --json reports id, type, parent and sizes; a second run is incremental and stores nothing new', async (t) => {
  const home = tempDir(t);
  const file = path.join(home, 'data.bin');
  fs.writeFileSync(file, seededBytes(500_000, 3));
  const env = { ...PASSWORD, AGENTVAULT_REPO: path.join(home, 'repo') };

  const first = JSON.parse((await runCli(['backup', 'create', '--file', file, '--json'], { home, env })).stdout);
  assert.equal(first.type, 'full');
  assert.equal(first.parent, null);
  assert.equal(first.logicalSize, 500_000);
  assert.ok(first.storedSize >= 500_000, 'random data is stored about whole');

  const second = JSON.parse((await runCli(['backup', 'create', '--file', file, '--json'], { home, env })).stdout);
  assert.equal(second.type, 'incremental');
  assert.equal(second.parent, first.id);
  assert.equal(second.logicalSize, 500_000);
  assert.equal(second.storedSize, 0);
  assert.equal(second.newChunks, 0);
});

test('backup create --stdin --name stores a piped stream and restore --stdout gives it back', async (t) => {
  const home = tempDir(t);
  const env = { ...PASSWORD, AGENTVAULT_REPO: path.join(home, 'repo') };
  const input = seededBytes(200_000, 11);
  const created = await runCli(['backup', 'create', '--stdin', '--name', 'dump.tar', '--json'], { home, env, input });
  assert.equal(created.code, 0, created.stderr);
  const info = JSON.parse(created.stdout);
  assert.equal(info.source.kind, 'stdin');
  assert.equal(info.source.name, 'dump.tar');
  const restored = await runCli(['backup', 'restore', info.id, '--stdout'], { home, env });
  assert.equal(restored.code, 0, restored.stderr);
  assert.deepEqual(restored.stdoutBytes, input);
});

test('backup create --project skips node_modules and restores the tree', async (t) => {
  const home = tempDir(t);
  const project = path.join(home, 'my-agent');
  fs.mkdirSync(path.join(project, 'src'), { recursive: true });
  fs.mkdirSync(path.join(project, 'node_modules', 'dep'), { recursive: true });
  fs.writeFileSync(path.join(project, 'agent.yaml'), 'name: my-agent\n');
  fs.writeFileSync(path.join(project, 'package.json'), '{"name":"my-agent"}\n');
  fs.writeFileSync(path.join(project, 'src', 'main.ts'), 'export const x = 1;\n');
  fs.writeFileSync(path.join(project, 'src', 'big.bin'), seededBytes(100_000, 5));
  fs.writeFileSync(path.join(project, '.gitignore'), '*.log\n');
  fs.writeFileSync(path.join(project, 'debug.log'), 'noise\n');
  fs.writeFileSync(path.join(project, 'node_modules', 'dep', 'index.js'), 'module.exports = 1;\n');
  const env = { ...PASSWORD, AGENTVAULT_REPO: path.join(home, 'repo') };

  const created = await runCli(['backup', 'create', '--project', project, '--json'], { home, env });
  assert.equal(created.code, 0, created.stderr);
  const info = JSON.parse(created.stdout);
  assert.equal(info.source.kind, 'project');
  assert.equal(info.source.name, 'my-agent');

  const target = path.join(home, 'restored');
  const restored = await runCli(['backup', 'restore', info.id, '--target', target], { home, env });
  assert.equal(restored.code, 0, restored.stderr);
  assert.deepEqual(fs.readdirSync(target).sort(), ['.gitignore', 'agent.yaml', 'package.json', 'src']);
  assert.deepEqual(fs.readFileSync(path.join(target, 'src', 'big.bin')), fs.readFileSync(path.join(project, 'src', 'big.bin')));
  assert.equal(fs.readFileSync(path.join(target, 'src', 'main.ts'), 'utf8'), 'export const x = 1;\n');
});

test('backup config --project makes it the default source of backup create', async (t) => {
  const home = tempDir(t);
  const project = path.join(home, 'proj');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), '{}\n');
  const env = { ...PASSWORD, AGENTVAULT_REPO: path.join(home, 'repo') };
  const configured = await runCli(['backup', 'config', '--project', project], { home, env });
  assert.equal(configured.code, 0, configured.stderr);
  const created = await runCli(['backup', 'create', '--json'], { home, env });
  assert.equal(created.code, 0, created.stderr);
  assert.equal(JSON.parse(created.stdout).source.path, project);
});

test('compression choice: --algorithm brotli and --no-compress both round-trip', async (t) => {
  const home = tempDir(t);
  const file = path.join(home, 'text.json');
  fs.writeFileSync(file, JSON.stringify(Array.from({ length: 5000 }, (_, i) => ({ id: i, name: `user${i}`, ok: i % 3 === 0 }))));
  const env = { ...PASSWORD, AGENTVAULT_REPO: path.join(home, 'repo') };
  const brotli = JSON.parse((await runCli(['backup', 'create', '--file', file, '--algorithm', 'brotli', '--type', 'full', '--json'], { home, env })).stdout);
  const raw = JSON.parse((await runCli(['backup', 'create', '--file', file, '--no-compress', '--type', 'full', '--json'], { home, env })).stdout);
  assert.ok(brotli.storedSize < raw.storedSize / 3, `brotli ${brotli.storedSize} vs raw ${raw.storedSize}`);
  for (const id of [brotli.id, raw.id]) {
    const out = await runCli(['backup', 'restore', id, '--stdout'], { home, env });
    assert.deepEqual(out.stdoutBytes, fs.readFileSync(file));
  }
});
