// Gateways that misbehave, in front of a real arlocal (a node:http fault injector, not a mock):
// one that answers 503 and then recovers, one that hangs (our timeout fires, and --retry resumes
// without resending acknowledged chunks), and regions: seeding the same transactions to two
// gateways, then reading from the nearest and falling back when it fails.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { spawn } from 'node:child_process';
import { CLI, cliEnv, runCli } from './helpers/cli.js';
import { deadGateway, startArlocal, startFaultProxy, type FaultProxy, type Gateway, type ProxiedRequest } from './helpers/arlocal.js';
import { backupInPacks, cli, funded, machine, PASSWORD, type Machine } from './helpers/archive-machine.js';
import { seededBytes, tempDir } from './helpers/tmp.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const chunkKey = (r: ProxiedRequest) => {
  const c = JSON.parse(r.body.toString()) as { data_root: string; offset: string };
  return `${c.data_root}:${c.offset}`;
};
const isChunk = (r: ProxiedRequest) => r.method === 'POST' && r.path === '/chunk';

async function restoredHash(t: Parameters<typeof tempDir>[0], host: string, tx: string): Promise<string> {
  const out = await runCli(['backup', 'restore', '--arweave', tx, '--stdout'], { home: tempDir(t), env: { ...PASSWORD, AGENTVAULT_ARWEAVE_HOST: host } });
  assert.equal(out.code, 0, out.stderr);
  return sha256(out.stdoutBytes);
}

/** Heals the gateway, mines, and runs `archive upload <id> --retry`: its result and the chunks it sent. */
async function retryHealed(t: Parameters<typeof tempDir>[0], m: Machine, gateway: Gateway, proxy: FaultProxy, id: string) {
  proxy.setRule(() => ({ kind: 'pass' }));
  const before = proxy.requests.length;
  const stop = gateway.autoMine(150);
  t.after(stop);
  const resumed = await cli(m, ['archive', 'upload', id, '--retry', '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  return { r: JSON.parse(resumed.stdout), secondRun: proxy.requests.slice(before).filter(isChunk).map(chunkKey) };
}

test('a gateway that answers 503 and then recovers: the upload retries with backoff and completes', async (t) => {
  let failTx = 1;
  let failChunks = 4;
  const gateway = await startArlocal(t);
  const proxy = await startFaultProxy(t, gateway.url, (req) => {
    if (req.method === 'POST' && req.path === '/tx' && failTx-- > 0) return { kind: 'respond', status: 503, body: '{"error":"timeout"}' };
    if (isChunk(req) && failChunks-- > 0) return { kind: 'respond', status: 503, body: '{"error":"timeout"}' };
    return { kind: 'pass' };
  });
  const m = await machine(t, proxy, await funded(t, gateway));
  const { file, id } = await backupInPacks(m, seededBytes(2 << 20, 5));
  const stop = gateway.autoMine(150);
  t.after(stop);

  const up = await cli(m, ['archive', 'upload', id]); // not --json: it silences the retry notices
  assert.equal(up.code, 0, up.stderr);
  const [u] = JSON.parse((await cli(m, ['archive', 'list', '--json'])).stdout);
  assert.equal(u.tx, up.stdout.trim());
  assert.equal(u.status, 'completed');
  assert.equal(proxy.requests.filter((r) => r.method === 'POST' && r.path === '/tx').length, u.packIds.length + 1 + 1, 'one 503 on POST /tx, retried');
  assert.match(up.stderr, /answered POST \/tx .* with 503 .*retrying \(5 retries left\)/);
  assert.match(up.stderr, /did not take a chunk .* 503|answered POST \/chunk .* 503/);
  assert.equal(await restoredHash(t, gateway.url, u.tx), sha256(fs.readFileSync(file)));
});

test('a gateway that hangs: the timeout fires, and --retry resumes without resending acknowledged chunks', async (t) => {
  const gateway = await startArlocal(t);
  let passChunks = 3;
  const proxy = await startFaultProxy(t, gateway.url, (req) => (isChunk(req) && passChunks-- <= 0 ? { kind: 'hang' } : { kind: 'pass' }));
  const m = await machine(t, proxy, await funded(t, gateway));
  const { file, id } = await backupInPacks(m, seededBytes(2 << 20, 6));

  const started = Date.now();
  const hung = await cli(m, ['archive', 'upload', id, '--timeout', '1', '--retries', '1', '--concurrency', '1']);
  const elapsed = Date.now() - started;
  assert.equal(hung.code, 1, hung.stderr);
  assert.match(hung.stderr, /did not answer POST \/chunk .* within 1 s \(gave up after 2 attempts\); 3 of \d+ chunks of transaction [\w-]{43} are acknowledged; run `agentvault archive upload \w+ --retry` to continue/);
  assert.ok(elapsed < 15_000, `our timeout, not the gateway, ended it: ${elapsed} ms`);
  const firstRun = proxy.requests.filter(isChunk);
  const acknowledged = firstRun.slice(0, 3).map(chunkKey);

  const { r, secondRun } = await retryHealed(t, m, gateway, proxy, id);
  assert.equal(r.status, 'completed');
  assert.equal(r.resumedPacks, 1);
  assert.deepEqual(secondRun.filter((k) => acknowledged.includes(k)), [], 'acknowledged chunks were not sent again');
  assert.equal(new Set(secondRun).size, secondRun.length, 'and nothing twice');
  assert.equal(await restoredHash(t, gateway.url, r.tx), sha256(fs.readFileSync(file)));
});

test('an upload stopped by SIGTERM saves what was acknowledged; --retry sends only the rest', async (t) => {
  const gateway = await startArlocal(t);
  const proxy = await startFaultProxy(t, gateway.url, (req) => (isChunk(req) ? { kind: 'delay', ms: 60 } : { kind: 'pass' }));
  const m = await machine(t, proxy, await funded(t, gateway));
  const { file, id } = await backupInPacks(m, seededBytes(3 << 20, 9));

  const child = spawn(process.execPath, [CLI, 'archive', 'upload', id, '--concurrency', '2'], { env: cliEnv(m.home, m.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let running = true;
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => ((running = false), resolve(code))));
  while (running && proxy.requests.filter(isChunk).length < 6) await new Promise((r) => setTimeout(r, 20));
  assert.ok(running, `the upload ended before it could be interrupted: ${stderr}`);
  child.kill('SIGTERM');
  assert.equal(await exited, 1);
  assert.match(stderr, new RegExp(`interrupted; what the gateway acknowledged is saved: run \`agentvault archive upload ${id} --retry\``));

  // What the upload recorded as acknowledged: whole packs in state.json, leading chunks in uploads/.
  const archiveDir = path.join(m.home, 'repo', 'archive');
  const firstRun = proxy.requests.filter(isChunk);
  // A transaction's chunks go in order, so its distinct chunks in arrival order are chunks 0, 1, …
  // (a retried request only repeats the current one).
  const byRoot = new Map<string, string[]>();
  for (const key of new Set(firstRun.map(chunkKey))) {
    const root = key.split(':')[0]!;
    byRoot.set(root, [...(byRoot.get(root) ?? []), key]);
  }
  const recorded = new Set<string>();
  for (const name of fs.existsSync(path.join(archiveDir, 'uploads')) ? fs.readdirSync(path.join(archiveDir, 'uploads')) : []) {
    if (!name.endsWith('.json')) continue;
    const entry = JSON.parse(fs.readFileSync(path.join(archiveDir, 'uploads', name), 'utf8'));
    const acked = entry.gateways[proxy.url]?.acked ?? 0;
    for (const k of (byRoot.get(entry.header.data_root) ?? []).slice(0, acked)) recorded.add(k);
  }
  const state = fs.existsSync(path.join(archiveDir, 'state.json')) ? JSON.parse(fs.readFileSync(path.join(archiveDir, 'state.json'), 'utf8')) : { gateways: {} };
  const finished = Object.keys(state.gateways[proxy.url]?.packs ?? {}).length;
  assert.ok(recorded.size > 0 || finished > 0, 'some progress was saved before the signal');

  const { r, secondRun } = await retryHealed(t, m, gateway, proxy, id);
  assert.deepEqual(secondRun.filter((k) => recorded.has(k)), [], `no chunk recorded as acknowledged was sent again (first run: ${firstRun.length} chunk POSTs, ${recorded.size} recorded)`);
  assert.equal(new Set(secondRun).size, secondRun.length);
  assert.equal(await restoredHash(t, gateway.url, r.tx), sha256(fs.readFileSync(file)));
});

test('--regions seeds the same transactions to every gateway; --region nearest reads from the fastest and falls back', async (t) => {
  const gateway = await startArlocal(t);
  const far = await startFaultProxy(t, gateway.url, () => ({ kind: 'delay', ms: 300 }));
  const near = await startFaultProxy(t, gateway.url);
  const regions = ['--region', `far=${far.url}`, '--region', `near=${near.url}`];
  const m = await machine(t, far, await funded(t, gateway), [...regions, '--retries', '0']);
  const run = (args: string[]) => cli(m, args);
  const { file, id } = await backupInPacks(m, seededBytes(1_500_000, 8));
  const stop = gateway.autoMine(150);
  t.after(stop);
  // The first backup goes to the far region only.
  const firstUp = await run(['archive', 'upload', id, '--regions', 'far', '--json']);
  assert.equal(firstUp.code, 0, firstUp.stderr);
  const firstArchive = JSON.parse(firstUp.stdout);
  assert.equal(near.count('POST', /^\/tx$/), 0);

  // A second backup goes to both regions at once: the same signed transactions to each.
  fs.appendFileSync(file, seededBytes(300_000, 9));
  const second = JSON.parse((await run(['backup', 'create', '--file', file, '--json'])).stdout).id as string;
  const up = await run(['archive', 'upload', second, '--regions', 'far,near', '--json']);
  assert.equal(up.code, 0, up.stderr);
  const u = JSON.parse(up.stdout);
  assert.deepEqual(u.gateways, [far.url, near.url]);
  assert.equal(u.status, 'completed');
  const posted = (p: typeof far) => p.requests.filter((r) => r.method === 'POST' && r.path === '/tx').map((r) => JSON.parse(r.body.toString()).id as string).sort();
  assert.equal(posted(near).length, u.packs + 1);
  assert.ok(u.seededPacks > 0 && u.newPacks > 0, 'the packs the far gateway had were seeded, the new one uploaded');
  assert.ok(posted(near).every((tx) => posted(far).includes(tx)), 'every transaction the near gateway got, the far one has: seeded, not signed anew');
  assert.equal(posted(far).length, firstArchive.packs + 1 + u.newPacks + 1);
  const list = JSON.parse((await run(['archive', 'list', '--json'])).stdout);
  assert.deepEqual(list.map((a: { gateway: string; status: string; backup: string }) => `${a.backup} ${a.gateway} ${a.status}`).sort(), [`${id} ${far.url} completed`, `${second} ${far.url} completed`, `${second} ${near.url} completed`].sort());

  // The near gateway lost the pack data: reading falls back to the far one.
  near.setRule((req) => (req.method === 'GET' && /^\/[\w-]{43}$/.test(req.path) && req.path !== `/${u.tx}` ? { kind: 'respond', status: 404, body: 'Not Found' } : { kind: 'pass' }));
  const dead = await deadGateway();
  const other = await machine(t, far, undefined, [...regions, '--region', `dead=${dead}`, '--retries', '0']);
  const farBefore = far.requests.length;
  const down = await cli(other, ['archive', 'download', u.tx, '--region', 'nearest']);
  assert.equal(down.code, 0, down.stderr);
  const ranking = down.stderr.split('\n').filter((l) => l.startsWith('gateway '));
  assert.match(ranking[0]!, new RegExp(`^gateway ${near.url}: \\d+ ms`), down.stderr);
  assert.equal(ranking.at(-1), `gateway ${dead}: unreachable`);
  assert.match(down.stderr, new RegExp(`archive ${u.tx} from ${near.url}`));
  assert.ok(far.requests.slice(farBefore).some((r) => r.method === 'GET' && /^\/[\w-]{43}$/.test(r.path)), 'packs came from the far gateway');
  assert.match(down.stderr, new RegExp(`${u.packs} pack\\(s\\) downloaded`));
  const restored = await cli(other, ['backup', 'restore', second, '--stdout']);
  assert.equal(sha256(restored.stdoutBytes), sha256(fs.readFileSync(file)));
});
