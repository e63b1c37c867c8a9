#!/usr/bin/env node
// Builds native/*.c into build/Release/agentvault_native.node with node-gyp (binding.gyp): run by
// `npm install` and before the tests (`npm run build:native` by hand). It rebuilds only when a
// source or binding.gyp is newer than the module. A machine without a C compiler still installs:
// this prints one warning, and agentvault does the same work with node:crypto instead (the same
// bytes, more CPU; src/native.ts). `--required` makes a failed build an error.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const built = path.join(root, 'build', 'Release', 'agentvault_native.node');
const sources = [...readdirSync(path.join(root, 'native')).filter((f) => /\.[ch]$/.test(f)).map((f) => path.join(root, 'native', f)), path.join(root, 'binding.gyp')];
const required = process.argv.includes('--required');
/** Where this Node was installed; its headers (OpenSSL's included) are often there too. */
const prefix = path.resolve(path.dirname(process.execPath), '..');

function upToDate() {
  if (!existsSync(built)) return false;
  const at = statSync(built).mtimeMs;
  return sources.every((s) => statSync(s).mtimeMs <= at);
}

/** npm names its own node-gyp to install scripts; otherwise npm's, or one installed beside us (maybe old). */
function nodeGyp() {
  const candidates = [process.env.npm_config_node_gyp, path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')];
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed beside us
  }
  return candidates.find((c) => c && existsSync(c));
}

/**
 * Build against this Node's own headers when they are installed beside it: they match it exactly,
 * and node-gyp then needs no download (a machine may be offline).
 */
function headerArgs() {
  if (process.env.npm_config_nodedir) return [];
  return existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

if (!upToDate()) {
  const gyp = nodeGyp();
  const result = gyp ? spawnSync(process.execPath, [gyp, 'rebuild', ...headerArgs()], { cwd: root, encoding: 'utf8' }) : undefined;
  if (!result || result.status !== 0) {
    const why = !gyp ? 'node-gyp was not found' : (`${result.stderr ?? ''}${result.stdout ?? ''}`.trim().split('\n').slice(-15).join('\n') || `node-gyp exited with ${result.status}`);
    process.stderr.write(`agentvault: the native module was not built, so node:crypto does its work (the same bytes, more CPU):\n${why}\n`);
    process.exit(required ? 1 : 0);
  }
}
