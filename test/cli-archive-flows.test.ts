// Archive flows through the built CLI against a real arlocal: a lost repository recreated with
// archive download (and its packs not paid for again), and backup create --archive, including a
// gateway that is down.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { deadGateway, startArlocal } from './helpers/arlocal.js';
import { seededBytes, tempDir } from './helpers/tmp.js';
import { cli, funded, machine, PASSWORD } from './helpers/archive-machine.js';


test('archive download recreates a lost repository from the archive; later uploads reuse its packs', async (t) => {
  const gateway = await startArlocal(t);
  const wallet = await funded(t, gateway);
  const m = await machine(t, gateway, wallet);
  const file = path.join(m.home, 'state.bin');
  fs.writeFileSync(file, seededBytes(2 << 20, 5));
  const { id } = JSON.parse((await cli(m, ['backup', 'create', '--file', file, '--pack-size', '1048576', '--json'])).stdout);
  const stop = gateway.autoMine(150);
  t.after(stop);
  const u = JSON.parse((await cli(m, ['archive', 'upload', 'latest', '--json'])).stdout);
  assert.equal(u.status, 'completed');
  assert.equal(u.backup, id);

  fs.rmSync(path.join(m.home, 'repo'), { recursive: true });
  const down = await cli(m, ['archive', 'download', u.tx, '--json']);
  assert.equal(down.code, 0, down.stderr);
  const d = JSON.parse(down.stdout);
  assert.equal(d.repositoryCreated, true);
  assert.equal(d.downloadedPacks, u.packs);
  const verified = await cli(m, ['backup', 'verify', id, '--read-data']);
  assert.equal(verified.code, 0, verified.stderr);

  const again = await cli(m, ['archive', 'download', u.tx, '--json']);
  assert.equal(JSON.parse(again.stdout).downloadedPacks, 0, 'nothing missing the second time');

  fs.appendFileSync(file, seededBytes(100_000, 6));
  const second = JSON.parse((await cli(m, ['backup', 'create', '--file', file, '--json'])).stdout);
  const u2 = JSON.parse((await cli(m, ['archive', 'upload', second.id, '--json'])).stdout);
  assert.equal(u2.status, 'completed');
  assert.equal(u2.newPacks, 1, 'only the changed tail is a new pack');
  assert.equal(u2.reusedPacks, u2.packs - 1, 'the downloaded packs were not paid for again');
});

test('backup create --archive stores locally, then archives; a failing gateway keeps the local backup and says how to retry', async (t) => {
  const gateway = await startArlocal(t);
  const wallet = await funded(t, gateway);
  const m = await machine(t, gateway, wallet);
  const file = path.join(m.home, 'data.bin');
  fs.writeFileSync(file, seededBytes(1_500_000, 21));
  const stop = gateway.autoMine(150);
  t.after(stop);

  const both = await cli(m, ['backup', 'create', '--file', file, '--archive', '--json']);
  assert.equal(both.code, 0, both.stderr);
  const b = JSON.parse(both.stdout);
  assert.equal(b.archive.status, 'completed');
  const out = await runCli(['backup', 'restore', '--arweave', b.archive.tx, '--stdout'], { home: tempDir(t), env: { ...PASSWORD, AGENTVAULT_ARWEAVE_HOST: gateway.url } });
  assert.equal(out.code, 0, out.stderr);
  const expected = fs.readFileSync(file);
  if (!out.stdoutBytes.equals(expected)) {
    let at = 0;
    while (at < expected.length && out.stdoutBytes[at] === expected[at]) at++;
    assert.fail(`restored ${out.stdoutBytes.length} bytes, expected ${expected.length}; first difference at ${at}`);
  }

  // The gateway is down: the backup still lands locally.
  assert.equal((await cli(m, ['archive', 'configure', '--retries', '1'])).code, 0);
  fs.appendFileSync(file, seededBytes(200_000, 22));
  const dead = await deadGateway();
  const down = await cli(m, ['backup', 'create', '--file', file, '--archive'], { env: { AGENTVAULT_ARWEAVE_HOST: dead } });
  assert.equal(down.code, 1, down.stderr);
  const id = down.stdout.trim();
  assert.match(id, /^[0-9a-z]{12}$/, 'the backup id is printed before archiving starts');
  assert.match(down.stderr, new RegExp(`backup ${id} is stored in .*archiving it to Arweave failed: cannot reach ${dead} .*ECONNREFUSED.*archive upload ${id} --retry`));
  const listed = JSON.parse((await cli(m, ['backup', 'list', '--json'])).stdout);
  assert.ok(listed.some((x: { id: string }) => x.id === id));
  const retried = await cli(m, ['archive', 'upload', id, '--retry', '--json']);
  assert.equal(retried.code, 0, retried.stderr);
  assert.equal(JSON.parse(retried.stdout).status, 'completed');
});

