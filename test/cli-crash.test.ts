// A backup killed with SIGKILL mid-way: the repository stays valid, the re-run does not store
// again what landed, and the dead process's lock is reported (not silently removed) until
// `backup unlock` clears it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CLI, cliEnv, runCli } from './helpers/cli.js';
import { seededBytes, tempDir } from './helpers/tmp.js';

test('SIGKILL during a backup: valid repository, resumed re-run, stale lock reported and cleared by unlock', async (t) => {
  const home = tempDir(t);
  const repo = path.join(home, 'repo');
  const env = { AGENTVAULT_PASSWORD: 'pw' };
  assert.equal((await runCli(['backup', 'init', '--destination', repo, '--pack-size', String(1 << 20)], { home, env })).code, 0);
  const data = seededBytes(20 << 20, 31);

  const child = spawn(process.execPath, [CLI, 'backup', 'create', '--stdin', '--name', 'big', '--destination', repo], { env: cliEnv(home, env), stdio: ['pipe', 'ignore', 'ignore'] });
  child.stdin.on('error', () => undefined);
  t.after(() => child.kill('SIGKILL'));
  child.stdin.write(data.subarray(0, 17 << 20));
  // Wait until some packs have landed, then kill without warning.
  const packs = () => fs.readdirSync(path.join(repo, 'packs')).flatMap((d) => fs.readdirSync(path.join(repo, 'packs', d)));
  const deadline = Date.now() + 20_000;
  while (packs().length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(packs().length >= 3, 'packs landed before the kill');
  child.kill('SIGKILL');
  await new Promise((r) => child.on('close', r));

  const list = await runCli(['backup', 'list', '--json', '--destination', repo], { home, env });
  assert.deepEqual(JSON.parse(list.stdout), [], 'a killed backup does not exist');
  assert.equal(fs.readdirSync(path.join(repo, 'locks')).length, 1, 'the dead process left its lock');
  const verify = await runCli(['backup', 'verify', '--all', '--read-data', '--destination', repo], { home, env });
  assert.equal(verify.code, 0, verify.stderr);

  // Writers share locks, so a backup still runs — and reuses the packs that landed.
  const rerun = await runCli(['backup', 'create', '--stdin', '--name', 'big', '--json', '--destination', repo], { home, env, input: data });
  assert.equal(rerun.code, 0, rerun.stderr);
  const info = JSON.parse(rerun.stdout);
  assert.ok(info.storedSize < data.length - (2 << 20), `re-run stored ${info.storedSize} of ${data.length}: landed chunks were reused`);

  // Prune needs the exclusive lock: the stale lock is reported with the way out.
  const prune = await runCli(['backup', 'prune', '--destination', repo], { home, env });
  assert.equal(prune.code, 1);
  assert.match(prune.stderr, /no longer running.*agentvault backup unlock/);
  const unlock = await runCli(['backup', 'unlock', '--destination', repo], { home, env });
  assert.equal(unlock.code, 0, unlock.stderr);
  assert.match(unlock.stdout, /removed a shared lock held by pid \d+/);
  const pruned = await runCli(['backup', 'prune', '--json', '--destination', repo], { home, env });
  assert.equal(pruned.code, 0, pruned.stderr);

  const restored = await runCli(['backup', 'restore', info.id, '--stdout', '--destination', repo], { home, env });
  assert.ok(restored.stdoutBytes.equals(data));
  assert.equal((await runCli(['backup', 'verify', '--all', '--read-data', '--destination', repo], { home, env })).code, 0);
});
