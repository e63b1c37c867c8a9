// The password prompt: on the terminal (a real pty via util-linux `script`), with no echo.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { CLI, cliEnv, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

/** Runs the CLI on a pseudo-terminal, typing `answers` one per prompt; returns what the terminal showed. */
function onTerminal(args: readonly string[], answers: readonly string[], home: string): Promise<{ code: number | null; screen: string }> {
  return new Promise((resolve, reject) => {
    const command = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: cliEnv(home), stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let answered = 0;
    child.stdout.on('data', (d: Buffer) => {
      screen += d.toString();
      const prompts = (screen.match(/password: /gi) ?? []).length;
      while (answered < prompts && answered < answers.length) child.stdin.write(`${answers[answered++]}\r`);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, screen }));
  });
}

test('a new repository asks for the password twice on the terminal, without echoing it', async (t) => {
  const home = tempDir(t);
  const repo = path.join(home, 'repo');
  const { code, screen } = await onTerminal(['backup', 'init', '--destination', repo], ['typed secret', 'typed secret'], home);
  assert.equal(code, 0, screen);
  assert.match(screen, /New repository password: /);
  assert.match(screen, /Repeat the password: /);
  assert.ok(!screen.includes('typed secret'), 'the password was echoed');
  const opened = await runCli(['backup', 'list', '--destination', repo], { home, env: { AGENTVAULT_PASSWORD: 'typed secret' } });
  assert.equal(opened.code, 0, opened.stderr);
});

test('an existing repository asks once; a mismatched repeat on creation is refused', async (t) => {
  const home = tempDir(t);
  const repo = path.join(home, 'repo');
  assert.equal((await runCli(['backup', 'init', '--destination', repo], { home, env: { AGENTVAULT_PASSWORD: 'pw one' } })).code, 0);
  const listed = await onTerminal(['backup', 'list', '--destination', repo], ['pw one'], home);
  assert.equal(listed.code, 0, listed.screen);
  assert.equal((listed.screen.match(/password: /g) ?? []).length, 1);

  const mismatch = await onTerminal(['backup', 'init', '--destination', path.join(home, 'other')], ['first', 'second'], home);
  assert.equal(mismatch.code, 2);
  assert.match(mismatch.screen, /passwords do not match/);
});
