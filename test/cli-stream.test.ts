// Backups as streams between real processes: `agentvault` spawned twice, joined by a pipe.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CLI, cliEnv, runCli } from './helpers/cli.js';
import { seededBytes, tempDir } from './helpers/tmp.js';

const PASSWORD = 'stream password';

interface PipeResult {
  readonly codes: Array<number | null>;
  readonly stdout: Buffer;
  readonly stderr: string[];
}

/** Runs `agentvault a… | agentvault b…` (or more stages), with real OS pipes between them. */
function pipeCli(stages: ReadonlyArray<readonly string[]>, options: { home: string; input?: Buffer; env?: Record<string, string> }): Promise<PipeResult> {
  return new Promise((resolve, reject) => {
    const env = cliEnv(options.home, { AGENTVAULT_PASSWORD: PASSWORD, ...options.env });
    const children = stages.map((args) => spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] }));
    for (let i = 0; i + 1 < children.length; i++) children[i]!.stdout.pipe(children[i + 1]!.stdin);
    children[0]!.stdin.on('error', () => undefined);
    if (options.input) children[0]!.stdin.end(options.input);
    else children[0]!.stdin.end();
    for (const c of children) c.stdin.on('error', () => undefined);
    const out: Buffer[] = [];
    children.at(-1)!.stdout.on('data', (d: Buffer) => out.push(d));
    const stderr = children.map(() => '');
    children.forEach((c, i) => c.stderr.on('data', (d: Buffer) => (stderr[i] += d.toString())));
    Promise.all(children.map((c) => new Promise<number | null>((res, rej) => (c.on('error', rej), c.on('close', (code) => res(code))))))
      .then((codes) => resolve({ codes, stdout: Buffer.concat(out), stderr }))
      .catch(reject);
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('backup create --stdout | backup import --stdin moves a backup between repositories through a pipe', async (t) => {
  const home = tempDir(t);
  const file = path.join(home, 'state.bin');
  fs.writeFileSync(file, seededBytes(700_000, 4));
  const target = path.join(home, 'remote-repo');
  const r = await pipeCli([['backup', 'create', '--file', file, '--stdout'], ['backup', 'import', '--stdin', '--destination', target, '--json']], { home });
  assert.deepEqual(r.codes, [0, 0], r.stderr.join('\n'));
  const imported = JSON.parse(r.stdout.toString());
  assert.equal(imported.source.name, 'state.bin');
  assert.equal(imported.logicalSize, 700_000);
  const restored = await runCli(['backup', 'restore', imported.id, '--stdout', '--destination', target], { home, env: { AGENTVAULT_PASSWORD: PASSWORD } });
  assert.equal(restored.code, 0, restored.stderr);
  assert.equal(sha(restored.stdoutBytes), sha(fs.readFileSync(file)));
});

test('backup export --stdout | backup restore --stdin --stdout | sha256 gives the original bytes', async (t) => {
  const home = tempDir(t);
  const repo = path.join(home, 'repo');
  const data = seededBytes(500_000, 8);
  const created = await runCli(['backup', 'create', '--stdin', '--name', 'blob', '--destination', repo], { home, input: data, env: { AGENTVAULT_PASSWORD: PASSWORD } });
  assert.equal(created.code, 0, created.stderr);
  const r = await pipeCli([['backup', 'export', created.stdout.trim(), '--stdout', '--destination', repo], ['backup', 'restore', '--stdin', '--stdout']], { home });
  assert.deepEqual(r.codes, [0, 0], r.stderr.join('\n'));
  assert.equal(sha(r.stdout), sha(data));
});

test('tar c dir | backup create --stdin --name dir.tar --stdout > dir.avb, restored back to the same tar', async (t) => {
  const home = tempDir(t);
  const dir = path.join(home, 'dir');
  fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'a.txt'), 'hello\n');
  fs.writeFileSync(path.join(dir, 'sub', 'b.bin'), seededBytes(100_000, 2));
  const tar = spawnSync('tar', ['-c', '-C', home, 'dir'], { maxBuffer: 1 << 26 });
  assert.equal(tar.status, 0);
  const r = await pipeCli([['backup', 'create', '--stdin', '--name', 'dir.tar', '--stdout']], { home, input: tar.stdout });
  assert.equal(r.codes[0], 0, r.stderr[0]);
  const avb = path.join(home, 'dir.avb');
  fs.writeFileSync(avb, r.stdout);
  const target = path.join(home, 'dir.restored.tar');
  const restored = await runCli(['backup', 'restore', '--stdin', '--target', target], { home, input: fs.readFileSync(avb), env: { AGENTVAULT_PASSWORD: PASSWORD } });
  assert.equal(restored.code, 0, restored.stderr);
  assert.equal(sha(fs.readFileSync(target)), sha(tar.stdout));
});

test('an incremental stream carries only what the parent lacks; import refuses it without the parent and accepts it with', async (t) => {
  const home = tempDir(t);
  const source = path.join(home, 'source-repo');
  const target = path.join(home, 'target-repo');
  const env = { AGENTVAULT_PASSWORD: PASSWORD };
  const file = path.join(home, 'heap.bin');
  const v1 = seededBytes(1_000_000, 1);
  fs.writeFileSync(file, v1);
  const a = (await runCli(['backup', 'create', '--file', file, '--destination', source], { home, env })).stdout.trim();
  const v2 = Buffer.from(v1);
  seededBytes(4096, 99).copy(v2, 500_000);
  fs.writeFileSync(file, v2);
  const b = (await runCli(['backup', 'create', '--file', file, '--destination', source], { home, env })).stdout.trim();

  const full = await runCli(['backup', 'export', a, '--stdout', '--destination', source], { home, env });
  const inc = await runCli(['backup', 'export', b, '--since', a, '--stdout', '--destination', source], { home, env });
  assert.equal(inc.code, 0, inc.stderr);
  assert.ok(inc.stdoutBytes.length < full.stdoutBytes.length / 10, `incremental stream ${inc.stdoutBytes.length} B vs full ${full.stdoutBytes.length} B`);

  const refused = await runCli(['backup', 'import', '--stdin', '--destination', target], { home, env, input: inc.stdoutBytes });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, new RegExp(`needs its parent backup ${a}.*import that backup first`));
  const listed = await runCli(['backup', 'list', '--json', '--destination', target], { home, env });
  assert.deepEqual(JSON.parse(listed.stdout || '[]'), []);

  const restoreInc = await runCli(['backup', 'restore', '--stdin', '--stdout'], { home, env, input: inc.stdoutBytes });
  assert.equal(restoreInc.code, 2);
  assert.match(restoreInc.stderr, /incremental stream/);

  assert.equal((await runCli(['backup', 'import', '--stdin', '--destination', target], { home, env, input: full.stdoutBytes })).code, 0);
  const accepted = await runCli(['backup', 'import', '--stdin', '--destination', target, '--json'], { home, env, input: inc.stdoutBytes });
  assert.equal(accepted.code, 0, accepted.stderr);
  const info = JSON.parse(accepted.stdout);
  assert.equal(info.id, b);
  assert.equal(info.parent, a);
  const restored = await runCli(['backup', 'restore', b, '--stdout', '--destination', target], { home, env });
  assert.equal(sha(restored.stdoutBytes), sha(v2));
});

test('a stream cut at a random byte or with a flipped byte is refused with the offset; nothing is imported or left behind', async (t) => {
  const home = tempDir(t);
  const env = { AGENTVAULT_PASSWORD: PASSWORD };
  const data = seededBytes(400_000, 5);
  const stream = (await runCli(['backup', 'create', '--stdin', '--name', 'x', '--stdout'], { home, env, input: data })).stdoutBytes;
  const target = path.join(home, 'repo');
  assert.equal((await runCli(['backup', 'init', '--destination', target], { home, env })).code, 0);

  for (let i = 0; i < 4; i++) {
    const cut = 1 + Math.floor(Math.random() * (stream.length - 2));
    const r = await runCli(['backup', 'import', '--stdin', '--destination', target], { home, env, input: stream.subarray(0, cut) });
    assert.equal(r.code, 1, `cut at ${cut}`);
    assert.match(r.stderr, /^agentvault: .*(truncated|ended|corrupt).*\n$/, `cut at ${cut}: ${r.stderr}`);
    const out = path.join(home, `out-${i}`);
    const rr = await runCli(['backup', 'restore', '--stdin', '--target', out], { home, env, input: stream.subarray(0, cut) });
    assert.equal(rr.code, 1);
    assert.ok(!fs.existsSync(out), 'a cut stream left a restored file');
  }
  const flipped = Buffer.from(stream);
  const at = Math.floor(stream.length / 2);
  flipped[at] ^= 0x40;
  const r = await runCli(['backup', 'import', '--stdin', '--destination', target], { home, env, input: flipped });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /corrupt at byte \d+/);
  const offset = Number(/at byte (\d+)/.exec(r.stderr)![1]);
  assert.ok(offset <= at && at - offset < 70_000, `reported offset ${offset} for a flip at ${at}`);

  const list = await runCli(['backup', 'list', '--json', '--destination', target], { home, env });
  assert.deepEqual(JSON.parse(list.stdout), []);
  const verify = await runCli(['backup', 'verify', '--all', '--read-data', '--destination', target], { home, env });
  assert.equal(verify.code, 0, verify.stderr);
  assert.deepEqual(fs.readdirSync(home).filter((n) => n.includes('.partial')), []);
});

test('a stream made with one password is refused with another, without echoing either', async (t) => {
  const home = tempDir(t);
  const stream = (await runCli(['backup', 'create', '--stdin', '--stdout'], { home, env: { AGENTVAULT_PASSWORD: PASSWORD }, input: 'secret data' })).stdoutBytes;
  const r = await runCli(['backup', 'restore', '--stdin', '--stdout'], { home, env: { AGENTVAULT_PASSWORD: 'wrong one' }, input: stream });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^agentvault: wrong password/);
  assert.ok(!r.stderr.includes('wrong one') && !r.stderr.includes(PASSWORD));
});
