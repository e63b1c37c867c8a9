// `npm pack` produces a package that installs and runs in a fresh directory: the bin works,
// the library imports, its types are included, and the install builds the native module.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { tempDir } from './helpers/tmp.js';

const root = path.resolve(import.meta.dirname, '..');

test('npm pack installs into a fresh directory, and its bin and library work there', { timeout: 600_000 }, (t) => {
  const dir = tempDir(t);
  // dist/ is built by `npm test` before the tests run; don't rebuild it here.
  const packed = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8' });
  const [{ filename, files }] = JSON.parse(packed) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const paths = files.map((f) => f.path);
  assert.ok(paths.includes('dist/cli.js') && paths.includes('dist/index.js') && paths.includes('dist/index.d.ts'), 'the package carries the build and its types');
  assert.ok(!paths.some((p) => p.startsWith('src/') || p.startsWith('test/')), 'sources and tests stay out of the package');

  const app = path.join(dir, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }));
  const install = spawnSync('npm', ['install', path.join(dir, filename), '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app, encoding: 'utf8' });
  assert.equal(install.status, 0, install.stderr);

  const env = { ...process.env, AGENTVAULT_PASSWORD: 'pw', AGENTVAULT_SCRYPT_LOG_N: '12', HOME: app };
  const bin = path.join(app, 'node_modules', '.bin', 'agentvault');
  const stream = spawnSync(bin, ['backup', 'create', '--stdin', '--name', 'hello.txt', '--stdout'], { input: 'hello from a fresh install\n', env });
  assert.equal(stream.status, 0, stream.stderr.toString());
  const restored = spawnSync(bin, ['backup', 'restore', '--stdin', '--stdout'], { input: stream.stdout, env });
  assert.equal(restored.status, 0, restored.stderr.toString());
  assert.equal(restored.stdout.toString(), 'hello from a fresh install\n');

  fs.writeFileSync(
    path.join(app, 'check.mjs'),
    "import { backup, restore, Repository, LocalBackend, ChunkStage } from 'agentvault';\n" +
      "console.log([backup, restore, Repository, LocalBackend, ChunkStage].every((f) => typeof f === 'function') ? 'library ok' : 'missing');\n",
  );
  assert.equal(execFileSync(process.execPath, ['check.mjs'], { cwd: app, encoding: 'utf8' }).trim(), 'library ok');
  assert.ok(fs.existsSync(path.join(app, 'node_modules', 'agentvault', 'dist', 'index.d.ts')), 'types are installed');
  // The install built the native module, BLAKE3's C sources included (a bundled dependency).
  assert.ok(fs.existsSync(path.join(app, 'node_modules', 'agentvault', 'build', 'Release', 'agentvault_native.node')), `the native module was built: ${install.stderr}`);
});
