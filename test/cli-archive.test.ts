// The archive and wallet commands, run as the built CLI against a real arlocal: configure,
// estimate, upload (several packs), status through mining, list, restore with --arweave on a
// machine with no repository, find by tags, delete; refusals (no balance, unencrypted
// repository, not a wallet); a gateway that serves a damaged pack.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { AR, flipByte, startArlocal, startFaultProxy } from './helpers/arlocal.js';
import { seededBytes, tempDir } from './helpers/tmp.js';
import { cli, funded, machine, PASSWORD } from './helpers/archive-machine.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('archive a multi-pack backup, watch it get mined, and restore it with --arweave on a machine with no repository', async (t) => {
  const gateway = await startArlocal(t);
  const wallet = await funded(t, gateway);
  const m = await machine(t, gateway, wallet);
  const file = path.join(m.home, 'heap.bin');
  const data = seededBytes(4 << 20, 11);
  fs.writeFileSync(file, data);

  const shown = await cli(m, ['archive', 'config', 'show', '--json']);
  assert.equal(shown.code, 0, shown.stderr);
  const settings = JSON.parse(shown.stdout);
  assert.equal(settings.gateway, gateway.url);
  assert.equal(settings.address, wallet.address);
  assert.doesNotMatch(shown.stdout + shown.stderr, /"d"|"p"|"q"|"dp"/, 'no private key material is printed');

  const created = await cli(m, ['backup', 'create', '--file', file, '--pack-size', '1048576', '--json']);
  assert.equal(created.code, 0, created.stderr);
  const { id } = JSON.parse(created.stdout);

  const balance = await cli(m, ['wallet', 'balance', '--json']);
  assert.equal(balance.code, 0, balance.stderr);
  assert.equal(JSON.parse(balance.stdout).ar, '100');

  const estimate = await cli(m, ['archive', 'estimate', id, '--json']);
  assert.equal(estimate.code, 0, estimate.stderr);
  const e = JSON.parse(estimate.stdout);
  assert.ok(e.newPacks >= 4, `several packs: ${e.newPacks}`);
  assert.ok(e.newBytes > 4 << 20);
  assert.match(e.ar, /^0\.\d+$/);
  const bySize = await cli(m, ['archive', 'estimate', '5MiB']);
  assert.equal(bySize.code, 0, bySize.stderr);
  assert.match(bySize.stdout, /^0\.343909376983 AR \(343909376983 winston\) to store 5\.00 MiB/);

  const uploaded = await cli(m, ['archive', 'upload', id, '--async', '--json']);
  assert.equal(uploaded.code, 0, uploaded.stderr);
  const u = JSON.parse(uploaded.stdout);
  assert.equal(u.status, 'pending', 'with --async nothing is mined yet');
  assert.equal(u.newPacks, e.newPacks);
  // The estimate prices the manifest with stand-in transaction ids; its compressed size can differ by a byte or so.
  const off = Number(BigInt(u.cost) - BigInt(e.winston));
  assert.ok(Math.abs(off) < Number(BigInt(e.winston)) / 10_000, `estimate ${e.winston} winston, paid ${u.cost}`);

  const pending = await cli(m, ['archive', 'status', u.tx]);
  assert.equal(pending.code, 0, pending.stderr);
  assert.match(pending.stdout, new RegExp(`^${u.tx}  pending`));
  const listedPending = JSON.parse((await cli(m, ['archive', 'list', '--status', 'pending', '--json'])).stdout);
  assert.equal(listedPending.length, 1);

  await gateway.mine();
  const confirmed = await cli(m, ['archive', 'status', u.tx]);
  assert.equal(confirmed.code, 0, confirmed.stderr);
  assert.match(confirmed.stdout, /completed \(\d+ confirmations?/);
  const plain = await cli(m, ['archive', 'status', u.tx, '--host', gateway.url, '--destination', path.join(m.home, 'nothing-here')]);
  assert.match(plain.stdout, /confirmed \(\d+ confirmations?, block 1\)  transaction at/);
  const unknown = await cli(m, ['archive', 'status', 'x'.repeat(43)]);
  assert.match(unknown.stdout, /not found/);

  const list = await cli(m, ['archive', 'list', '--show-cost']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`${u.tx}\\s+${id}\\s+completed`));
  assert.match(list.stdout, /COST \(AR\)/);

  // Another machine: no repository, no config, just the gateway, the id and the password.
  const other = tempDir(t);
  const target = path.join(other, 'restored.bin');
  const restored = await runCli(['backup', 'restore', '--arweave', u.tx, '--target', target], { home: other, env: { ...PASSWORD, AGENTVAULT_ARWEAVE_HOST: gateway.url } });
  assert.equal(restored.code, 0, restored.stderr);
  assert.equal(sha256(fs.readFileSync(target)), sha256(data));
  assert.equal(fs.existsSync(path.join(other, '.local', 'share', 'agentvault', 'repository')), false, 'no repository was created');

  const wrong = await runCli(['backup', 'restore', '--arweave', u.tx, '--stdout'], { home: other, env: { AGENTVAULT_PASSWORD: 'wrong', AGENTVAULT_ARWEAVE_HOST: gateway.url } });
  assert.equal(wrong.code, 1, wrong.stderr);
  assert.match(wrong.stderr, /wrong password/);

  // Found again by its tags.
  const found = await cli(m, ['archive', 'find', '--backup', id, '--json']);
  assert.equal(found.code, 0, found.stderr);
  assert.deepEqual(JSON.parse(found.stdout).map((r: { tx: string }) => r.tx), [u.tx]);

  const deleted = await cli(m, ['archive', 'delete', u.tx]);
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.match(deleted.stderr, /permanent/);
  assert.equal(JSON.parse((await cli(m, ['archive', 'list', '--json'])).stdout).length, 0);
});

test('refusals: a wallet that cannot pay, an unencrypted repository without --public, a file that is not a wallet', async (t) => {
  const gateway = await startArlocal(t);
  const poor = await funded(t, gateway, 1000n);
  const proxy = await startFaultProxy(t, gateway.url);
  const m = await machine(t, proxy, poor);
  const file = path.join(m.home, 'x.bin');
  fs.writeFileSync(file, seededBytes(600_000, 1));
  const { id } = JSON.parse((await cli(m, ['backup', 'create', '--file', file, '--json'])).stdout);

  const refused = await cli(m, ['archive', 'upload', id]);
  assert.equal(refused.code, 1, refused.stderr);
  const lines = refused.stderr.trim().split('\n');
  assert.equal(lines.length, 1, refused.stderr);
  assert.match(lines[0]!, new RegExp(`^agentvault: wallet ${poor.address} holds 0\\.000000001 AR \\(1000 winston\\) at .* but archiving backup ${id} .* costs 0\\.\\d+ AR \\(\\d+ winston\\); add`));
  assert.equal(proxy.count('POST', /^\/(tx|chunk)$/), 0, 'nothing was posted');
  await gateway.mint(poor.address, 10n * AR);
  const paid = await cli(m, ['archive', 'upload', id, '--async']);
  assert.equal(paid.code, 0, `once funded it goes through, with nothing left to --retry: ${paid.stderr}`);

  const unencrypted = await machine(t, gateway, await funded(t, gateway));
  const created = await cli(unencrypted, ['backup', 'create', '--file', file, '--no-encrypt', '--json']);
  const pubId = JSON.parse(created.stdout).id;
  const refusedPlain = await cli(unencrypted, ['archive', 'upload', pubId]);
  assert.equal(refusedPlain.code, 2, refusedPlain.stderr);
  assert.match(refusedPlain.stderr, /not encrypted.*--public/);
  const stop = gateway.autoMine(150);
  t.after(stop);
  const published = await cli(unencrypted, ['archive', 'upload', pubId, '--public', '--json']);
  assert.equal(published.code, 0, published.stderr);
  const restored = await runCli(['backup', 'restore', '--arweave', JSON.parse(published.stdout).tx, '--stdout'], { home: tempDir(t), env: { AGENTVAULT_ARWEAVE_HOST: gateway.url } });
  assert.equal(restored.code, 0, restored.stderr);
  assert.equal(sha256(restored.stdoutBytes), sha256(fs.readFileSync(file)), 'a public archive needs no password');

  const notAWallet = path.join(m.home, 'notes.json');
  fs.writeFileSync(notAWallet, JSON.stringify({ kty: 'RSA', n: 'secret-looking-value' }));
  const bad = await cli(m, ['archive', 'configure', '--wallet', notAWallet]);
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stderr, /is not an Arweave key/);
  assert.doesNotMatch(bad.stderr, /secret-looking-value/);
});

test('a gateway that serves a damaged pack: restore --arweave detects it and writes nothing', async (t) => {
  const gateway = await startArlocal(t);
  const wallet = await funded(t, gateway);
  const m = await machine(t, gateway, wallet);
  const file = path.join(m.home, 'heap.bin');
  fs.writeFileSync(file, seededBytes(2 << 20, 31));
  await cli(m, ['backup', 'create', '--file', file, '--pack-size', '1048576']);
  const stop = gateway.autoMine(150);
  t.after(stop);
  const u = JSON.parse((await cli(m, ['archive', 'upload', 'latest', '--json'])).stdout);

  // Flip one bit in every pack download (not in the manifest transaction).
  const proxy = await startFaultProxy(t, gateway.url, (req) =>
    req.method === 'GET' && /^\/[A-Za-z0-9_-]{43}$/.test(req.path) && req.path !== `/${u.tx}` ? { kind: 'transform', transform: (body) => flipByte(body) } : { kind: 'pass' },
  );
  const other = tempDir(t);
  const target = path.join(other, 'out.bin');
  const restored = await runCli(['backup', 'restore', '--arweave', u.tx, '--target', target], { home: other, env: { ...PASSWORD, AGENTVAULT_ARWEAVE_HOST: proxy.url } });
  assert.equal(restored.code, 1, restored.stderr);
  assert.match(restored.stderr, /pack [0-9a-f]{32} from http:\/\/127\.0\.0\.1:\d+ \(transaction [\w-]{43}\) is corrupt: chunk \d+ \(offset \d+\) fails its checksum/);
  assert.equal(fs.existsSync(target), false);
  assert.deepEqual(fs.readdirSync(other).filter((n) => !n.startsWith('.')), [], 'no partial files');

  // A damaged manifest transaction is caught by its data_root.
  proxy.setRule((req) => (req.path === `/${u.tx}` ? { kind: 'transform', transform: (body) => flipByte(body) } : { kind: 'pass' }));
  const bad = await runCli(['backup', 'restore', '--arweave', u.tx, '--stdout'], { home: other, env: { ...PASSWORD, AGENTVAULT_ARWEAVE_HOST: proxy.url } });
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stderr, /does not match its signed data_root/);
  assert.equal(bad.stdoutBytes.length, 0);
});
