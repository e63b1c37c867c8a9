// The gateway client against a real arlocal, with a fault injector in front where a fault is
// needed: its own timeouts (arweave-js has none), retries with backoff for 429 / 5xx / network
// errors and no retries for final refusals, the status states, a re-posted transaction, reads.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { GatewayClient } from '../src/arweave/client.js';
import { ArweaveError } from '../src/arweave/errors.js';
import { checkBalance, priceOf } from '../src/arweave/pricing.js';
import { manifestTags } from '../src/arweave/tags.js';
import { chunkToPost, createDataTransaction, headerToPost, verifyHeader } from '../src/arweave/transaction.js';
import { ArweaveWallet } from '../src/arweave/wallet.js';
import { AR, createWallet, deadGateway, startArlocal, startFaultProxy, type Gateway } from './helpers/arlocal.js';
import { tempDir } from './helpers/tmp.js';

const fast = { minRetryDelayMs: 50, maxRetryDelayMs: 200 };

async function signed(t: Parameters<typeof tempDir>[0], gateway: Gateway, bytes: number) {
  const file = await createWallet(tempDir(t));
  await gateway.mint(file.address, 10n * AR);
  const { wallet } = await ArweaveWallet.load(file.path);
  const client = new GatewayClient(gateway.url);
  const data = randomBytes(bytes);
  const tx = await createDataTransaction({ wallet, data, tags: manifestTags({ repositoryId: 'ab'.repeat(16), backupId: '06fw4w0a1b2c' }), anchor: await client.anchor(), reward: await client.price(bytes) });
  return { wallet, client, data, tx };
}

test('price, balance, anchor and info; a balance that does not cover the cost is one clear error', async (t) => {
  const gateway = await startArlocal(t);
  const client = new GatewayClient(`${gateway.url}/`);
  assert.equal(client.url, gateway.url, 'the URL is normalized');
  assert.equal(await client.price(5 << 20), 343909376983n);
  assert.equal((await priceOf(client, [1000, 1000, 2000])).total, 2n * (await client.price(1000)) + (await client.price(2000)));
  const wallet = await createWallet(tempDir(t));
  assert.equal(await client.balance(wallet.address), 0n);
  await gateway.mint(wallet.address, 5n * AR);
  assert.equal(await checkBalance(client, wallet.address, AR, 'this'), 5n * AR);
  await assert.rejects(checkBalance(client, wallet.address, 6n * AR, 'storing it'), (e: ArweaveError) => e.code === 'INSUFFICIENT_FUNDS' && e.message === `wallet ${wallet.address} holds 5 AR (5000000000000 winston) at ${gateway.url} but storing it costs 6 AR (6000000000000 winston); add 1 AR (1000000000000 winston) and run it again`);
  assert.match(await client.anchor(), /^[a-z0-9_-]{43,}$/i);
  assert.equal(typeof (await client.info()).height, 'number');
});

test('a chunked transaction posts, re-posting it is "known", its status goes pending → confirmed, and it reads back', async (t) => {
  const gateway = await startArlocal(t);
  const { client, data, tx } = await signed(t, gateway, 600_000);
  assert.deepEqual(await client.status(tx.id), { state: 'not-found' });
  assert.equal(await client.postTransaction(headerToPost(tx, data)), 'accepted');
  for (let i = 0; i < tx.chunkCount; i++) await client.postChunk(chunkToPost(tx, i, data));
  assert.equal(client.stats.chunksPosted, 3);
  assert.equal(await client.postTransaction(headerToPost(tx, data)), 'known', 'arlocal answers 404 to a repost; the client checks');
  assert.deepEqual(await client.status(tx.id), { state: 'pending' });
  await gateway.mine();
  const status = await client.status(tx.id);
  assert.equal(status.state, 'confirmed');
  const header = await client.transaction(tx.id);
  assert.ok(header && (await verifyHeader(header)));
  assert.deepEqual(await client.data(tx.id), data);
  await assert.rejects(client.data('x'.repeat(43)), (e: ArweaveError) => e.code === 'NOT_FOUND');
  const found = await client.graphql<{ transactions: { edges: Array<{ node: { id: string } }> } }>(
    'query($tags: [TagFilter!]) { transactions(tags: $tags) { edges { node { id } } } }',
    { tags: [{ name: 'Agentvault-Backup', values: ['06fw4w0a1b2c'] }] },
  );
  assert.deepEqual(found.transactions.edges.map((e) => e.node.id), [tx.id]);
});

test('503s and 429 (with Retry-After) are retried with backoff; a final refusal is not', async (t) => {
  const gateway = await startArlocal(t);
  let failures = 2;
  const proxy = await startFaultProxy(t, gateway.url, (req) => (req.path.startsWith('/price') && failures-- > 0 ? { kind: 'respond', status: 503, body: 'busy' } : { kind: 'pass' }));
  const retried: string[] = [];
  const client = new GatewayClient(proxy.url, { ...fast, onRetry: (e) => retried.push(`${e.attempt}:${e.error.status}`) });
  assert.equal(await client.price(1000), 65595508n);
  assert.deepEqual(retried, ['1:503', '2:503']);
  assert.equal(client.stats.retries, 2);

  let limited = 1;
  proxy.setRule((req) => (req.path.startsWith('/price') && limited-- > 0 ? { kind: 'respond', status: 429, body: 'slow down', headers: { 'retry-after': '1' } } : { kind: 'pass' }));
  const started = Date.now();
  assert.equal(await new GatewayClient(proxy.url, { ...fast, maxRetryDelayMs: 5000 }).price(1000), 65595508n);
  assert.ok(Date.now() - started >= 900, 'waited for Retry-After');

  proxy.setRule((req) => (req.path === '/chunk' ? { kind: 'respond', status: 400, body: '{"error":"invalid_proof"}' } : { kind: 'pass' }));
  const before = proxy.count('POST', /^\/chunk$/);
  const { data, tx } = await signed(t, gateway, 300_000);
  await assert.rejects(new GatewayClient(proxy.url, fast).postChunk(chunkToPost(tx, 0, data)), (e: ArweaveError) => e.code === 'REJECTED' && /invalid_proof/.test(e.message));
  assert.equal(proxy.count('POST', /^\/chunk$/) - before, 1, 'not retried');

  proxy.setRule(() => ({ kind: 'respond', status: 500, body: 'down' }));
  await assert.rejects(new GatewayClient(proxy.url, { ...fast, retries: 2 }).price(1), (e: ArweaveError) => e.code === 'HTTP' && /answered GET \/price\/1 with 500 down \(gave up after 3 attempts\)/.test(e.message));
});

test('a gateway that hangs: our timeout fires on every attempt; an unreachable one is a network error', async (t) => {
  const gateway = await startArlocal(t);
  const proxy = await startFaultProxy(t, gateway.url, () => ({ kind: 'hang' }));
  const client = new GatewayClient(proxy.url, { ...fast, timeoutMs: 300, retries: 1 });
  const started = Date.now();
  await assert.rejects(client.price(1000), (e: ArweaveError) => e.code === 'TIMEOUT' && /did not answer GET \/price\/1000 within 0\.3 s \(gave up after 2 attempts\)/.test(e.message));
  assert.ok(Date.now() - started < 2000);
  assert.equal(proxy.requests.length, 2);

  const controller = new AbortController();
  const pending = new GatewayClient(proxy.url, { timeoutMs: 60_000 }).price(1, controller.signal);
  setTimeout(() => controller.abort(new Error('interrupted')), 100);
  await assert.rejects(pending, /interrupted/);

  const dead = await deadGateway();
  await assert.rejects(new GatewayClient(dead, { ...fast, retries: 1 }).info(), (e: ArweaveError) => e.code === 'NETWORK' && e.message.startsWith(`cannot reach ${dead} (GET /info): ECONNREFUSED`));
});
