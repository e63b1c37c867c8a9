// The examples in examples/ (and docs/library.md) are run here, so the docs never rot.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(import.meta.dirname, '..');

function runExample(name: string): { stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join('examples', name)], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, AGENTVAULT_SCRYPT_LOG_N: '12' },
    maxBuffer: 1 << 26,
  });
  assert.equal(r.status, 0, r.stderr);
  return { stdout: r.stdout, stderr: r.stderr };
}

test('examples/backup-and-restore.ts backs up and restores identical bytes', () => {
  const { stdout } = runExample('backup-and-restore.ts');
  assert.match(stdout, /^backup [0-9a-z]{12}: 1048576 bytes, \d+ stored$/m);
  assert.match(stdout, /^restored: identical$/m);
});

test('examples/custom-pipeline-http.ts uploads a backup stream over HTTP through gzip and restores it', () => {
  const { stdout } = runExample('custom-pipeline-http.ts');
  assert.match(stdout, /^uploaded backup [0-9a-z]{12} of ledger\.jsonl: \d+ bytes$/m);
  assert.match(stdout, /^restored: identical$/m);
});

test('examples/repository-to-stdout.ts writes the backup to stdout and reports progress', () => {
  const { stdout, stderr } = runExample('repository-to-stdout.ts');
  assert.equal(stdout, 'hello from a canister\n'.repeat(10000));
  assert.match(stderr, /restored 220000 of 220000 bytes to stdout/);
});
