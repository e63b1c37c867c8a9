// Transaction ids that start with "-" reach the command as ids, never as a cluster of short flags
// (`-h…` once printed the help and exited 0 in place of restoring).
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { protectDashedIds } from '../src/cli/dashed-ids.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const ID = '-hq' + 'x'.repeat(40);

test('protectDashedIds: joined to an option that takes a value, moved behind -- otherwise', () => {
  const valued = new Set(['--arweave', '--host']);
  assert.deepEqual(protectDashedIds(['restore', '--arweave', ID, '--stdout'], valued), ['restore', `--arweave=${ID}`, '--stdout']);
  assert.deepEqual(protectDashedIds(['status', ID, '--json'], valued), ['status', '--json', '--', ID]);
  assert.deepEqual(protectDashedIds(['status', '--json', ID, '--', 'x'], valued), ['status', '--json', '--', ID, 'x']);
  assert.deepEqual(protectDashedIds(['status', '--', ID], valued), ['status', '--', ID]);
  assert.deepEqual(protectDashedIds(['create', '-q', '--json'], valued), ['create', '-q', '--json'], 'ordinary flags are untouched');
  assert.deepEqual(protectDashedIds(['x', '-' + 'a'.repeat(41)], valued), ['x', '-' + 'a'.repeat(41)], 'only 43-character tokens');
});

test('backup restore --arweave and archive status take an id that starts with "-h"', async (t) => {
  const asked: string[] = [];
  const server = http.createServer((req, res) => {
    asked.push(req.url ?? '');
    res.writeHead(404).end('Not Found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const host = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const home = tempDir(t);

  const restored = await runCli(['backup', 'restore', '--arweave', ID, '--stdout'], { home, env: { AGENTVAULT_ARWEAVE_HOST: host } });
  assert.equal(restored.code, 1, restored.stderr);
  assert.equal(restored.stdout, '', 'no help text in place of the backup');
  assert.ok(restored.stderr.includes(ID), restored.stderr);
  assert.ok(asked.some((u) => u.includes(ID)), `the gateway was asked for the id: ${asked.join(' ')}`);

  const status = await runCli(['archive', 'status', ID, '--host', host, '--json'], { home });
  assert.equal(status.code, 0, status.stderr);
  const [answer] = JSON.parse(status.stdout);
  assert.equal(answer.tx, ID);
  assert.equal(answer.status, 'not-found');
});
