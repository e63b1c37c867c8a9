#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's test runner and tsx. Node 20's --test does not expand
// globs itself, so the files are listed here.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const only = process.argv.slice(2);

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) {
      if (name !== 'fixtures' && name !== 'helpers') out.push(...find(full));
    } else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

let files = find(path.join(root, 'test'));
if (only.length > 0) files = files.filter((f) => only.some((o) => f.includes(o)));
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit', cwd: root, env: { ...process.env, AGENTVAULT_SCRYPT_LOG_N: process.env.AGENTVAULT_SCRYPT_LOG_N ?? '12' } },
);
process.exit(result.status ?? 1);
