// scripts/build-native.mjs: `npm install` must not fail on a machine that cannot build the native
// module (it warns in one message and agentvault falls back to Node), while `npm test` and
// `npm run build:native` (--required) must fail there. Run on a copy, with a node-gyp that fails.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { tempDir } from './helpers/tmp.js';

const root = path.resolve(import.meta.dirname, '..');

function copyProject(dir: string): void {
  fs.mkdirSync(path.join(dir, 'scripts'));
  fs.copyFileSync(path.join(root, 'scripts', 'build-native.mjs'), path.join(dir, 'scripts', 'build-native.mjs'));
  fs.copyFileSync(path.join(root, 'binding.gyp'), path.join(dir, 'binding.gyp'));
  fs.cpSync(path.join(root, 'native'), path.join(dir, 'native'), { recursive: true });
}

test('a failed native build warns and lets the install go on; with --required it fails', (t) => {
  const dir = tempDir(t);
  copyProject(dir);
  const failingGyp = path.join(dir, 'failing-gyp.mjs');
  fs.writeFileSync(failingGyp, "console.error('gyp ERR! no C compiler here'); process.exit(1);\n");
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [path.join(dir, 'scripts', 'build-native.mjs'), ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, npm_config_node_gyp: failingGyp } });

  const install = run();
  assert.equal(install.status, 0, install.stderr);
  assert.match(install.stderr, /the native module was not built, so node:crypto does its work/);
  assert.match(install.stderr, /no C compiler here/, 'the build tool says why');
  assert.equal(fs.existsSync(path.join(dir, 'build', 'Release', 'agentvault_native.node')), false);

  const required = run('--required');
  assert.equal(required.status, 1);
  assert.match(required.stderr, /no C compiler here/);
});

test('an up-to-date module is not rebuilt', (t) => {
  const dir = tempDir(t);
  copyProject(dir);
  const built = path.join(dir, 'build', 'Release', 'agentvault_native.node');
  fs.mkdirSync(path.dirname(built), { recursive: true });
  fs.writeFileSync(built, 'built');
  const later = new Date(Date.now() + 60_000);
  fs.utimesSync(built, later, later);
  const failingGyp = path.join(dir, 'failing-gyp.mjs');
  fs.writeFileSync(failingGyp, 'process.exit(1);\n');
  const result = spawnSync(process.execPath, [path.join(dir, 'scripts', 'build-native.mjs'), '--required'], { cwd: dir, encoding: 'utf8', env: { ...process.env, npm_config_node_gyp: failingGyp } });
  assert.equal(result.status, 0, 'nothing to build, so the failing node-gyp was never run');
  assert.equal(fs.readFileSync(built, 'utf8'), 'built');
});
