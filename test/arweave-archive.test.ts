// Archiving through the library against a real arlocal: upload a multi-pack backup, restore it
// into a fresh directory from the manifest transaction alone, incremental archives send only new
// packs, an interrupted upload resumes without resending acknowledged chunks.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { test } from 'node:test';
import { ArchiveState } from '../src/arweave/archive-state.js';
import { archiveBackup, type ArchiveUploadOptions } from '../src/arweave/archiver.js';
import { GatewayClient } from '../src/arweave/client.js';
import { downloadArchive } from '../src/arweave/download.js';
import { ArweaveWallet } from '../src/arweave/wallet.js';
import { LocalBackend } from '../src/backend/local.js';
import { backup } from '../src/backup.js';
import { Repository } from '../src/repository/repository.js';
import { ArweaveArchive } from '../src/sources/arweave.js';
import { AR, createWallet, startArlocal, startFaultProxy } from './helpers/arlocal.js';
import { seededBytes, tempDir } from './helpers/tmp.js';
import { bufferSource as source, restoreToBuffer } from './helpers/pipeline.js';

process.env.AGENTVAULT_SCRYPT_LOG_N ??= '12';
const PASSWORD = 'correct horse battery staple';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function setup(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t);
  const gateway = await startArlocal(t);
  const walletFile = await createWallet(dir);
  await gateway.mint(walletFile.address, 1000n * AR);
  const { wallet } = await ArweaveWallet.load(walletFile.path);
  const repository = await Repository.init(new LocalBackend(path.join(dir, 'repo')), { encryption: 'aes-256-gcm', password: PASSWORD, packSize: 1 << 20 });
  return { dir, gateway, wallet, repository };
}

function uploadOptions(base: Pick<ArchiveUploadOptions, 'repository' | 'wallet' | 'backupId'>, client: GatewayClient, extra: Partial<ArchiveUploadOptions> = {}): ArchiveUploadOptions {
  return { ...base, clients: [client], wait: true, waitTimeoutMs: 20_000, ...extra };
}

test('a 3 MiB backup in several packs is archived, mined, and restored from its manifest transaction alone', async (t) => {
  const { dir, gateway, wallet, repository } = await setup(t);
  const data = seededBytes(3 << 20, 42);
  const { manifest } = await backup({ repository, source: source(data) });
  const packCount = (await repository.loadIndex()).packCount;
  assert.ok(packCount >= 3, `expected several packs, got ${packCount}`);

  const stopMining = gateway.autoMine(150);
  t.after(stopMining);
  const client = new GatewayClient(gateway.url, { timeoutMs: 10_000, retries: 2 });
  const result = await archiveBackup(uploadOptions({ repository, wallet, backupId: manifest.id }, client));
  assert.equal(result.status, 'completed');
  assert.equal(result.newPacks, packCount);
  assert.equal(result.packs, packCount);
  assert.ok(result.cost > 0n);
  assert.equal(client.stats.chunksPosted > 10, true, `chunked upload expected, ${client.stats.chunksPosted} chunk POSTs`);

  // A machine with nothing but the transaction id and the password.
  const archive = await ArweaveArchive.fetch([new GatewayClient(gateway.url)], result.tx);
  assert.equal(archive.backupId, manifest.id);
  assert.equal(archive.owner, wallet.address);
  const fresh = path.join(dir, 'elsewhere', 'repo');
  const downloaded = await downloadArchive({ archive, path: fresh, credentials: { password: PASSWORD } });
  assert.equal(downloaded.created, true);
  assert.equal(downloaded.downloadedPacks, packCount);
  const restored = await restoreToBuffer(downloaded.repository, manifest.id);
  assert.equal(sha256(restored), sha256(data));

  // Archiving again finds it done and sends nothing.
  const again = await archiveBackup(uploadOptions({ repository, wallet, backupId: manifest.id }, new GatewayClient(gateway.url)));
  assert.equal(again.alreadyArchived, true);
  assert.equal(again.tx, result.tx);
  assert.equal(again.sentBytes, 0);
});

test('an incremental backup archives only its new packs', async (t) => {
  const { gateway, wallet, repository } = await setup(t);
  const stopMining = gateway.autoMine(150);
  t.after(stopMining);
  const data = seededBytes(3 << 20, 7);
  const first = await backup({ repository, source: source(data) });
  const r1 = await archiveBackup(uploadOptions({ repository, wallet, backupId: first.manifest.id }, new GatewayClient(gateway.url)));

  const changed = Buffer.from(data);
  seededBytes(64 << 10, 99).copy(changed, 1 << 20); // 64 KiB changed in the middle
  const second = await backup({ repository, source: source(changed) });
  assert.equal(second.manifest.type, 'incremental');
  const client = new GatewayClient(gateway.url);
  const r2 = await archiveBackup(uploadOptions({ repository, wallet, backupId: second.manifest.id }, client));
  assert.equal(r2.status, 'completed');
  assert.equal(r2.newPacks, 1, 'the changed chunks fit one new pack');
  assert.equal(r2.reusedPacks, r1.packs);
  assert.ok(r2.uploadedBytes < 300_000, `uploaded ${r2.uploadedBytes} bytes for 64 KiB changed`);
  assert.ok(client.stats.bytesSent < 600_000, `sent ${client.stats.bytesSent} bytes on the wire`);

  const archive = await ArweaveArchive.fetch([new GatewayClient(gateway.url)], r2.tx);
  const { packs } = archive.open(repository.metaKey);
  assert.equal(packs.length, r1.packs + 1, 'the manifest lists the reused packs and the new one');
});

test('an interrupted upload resumes at the first unacknowledged chunk: no chunk is sent twice', async (t) => {
  const { gateway, wallet, repository } = await setup(t);
  const { manifest } = await backup({ repository, source: source(seededBytes(3 << 20, 3)) });
  // Let 7 chunks through (the first pack and part of the second), then refuse every chunk; with
  // no retries the upload stops there.
  const PASSED = 7;
  let allowed = PASSED;
  const proxy = await startFaultProxy(t, gateway.url, (req) => {
    if (req.method === 'POST' && req.path === '/chunk') return allowed-- > 0 ? { kind: 'pass' } : { kind: 'respond', status: 503, body: 'maintenance' };
    return { kind: 'pass' };
  });
  const flaky = new GatewayClient(proxy.url, { retries: 0 });
  await assert.rejects(archiveBackup(uploadOptions({ repository, wallet, backupId: manifest.id }, flaky, { concurrency: 1 })), /503 maintenance/);
  const state = await ArchiveState.open(repository.location, repository.config.id);
  const unfinished = await state.uploads();
  assert.equal(unfinished.length, 1, 'one transaction is half uploaded');
  const done = Object.values(state.gateway(proxy.url).packs);
  assert.equal(done.length, 1, 'one pack is fully uploaded');
  const firstPackChunks = Math.ceil(done[0]!.size / (256 << 10));
  assert.equal(unfinished[0]!.gateways[proxy.url]!.acked, PASSED - firstPackChunks, 'its progress counts every acknowledged chunk');
  const firstRun = proxy.requests.filter((r) => r.method === 'POST' && r.path === '/chunk');

  // Without --retry it refuses to start over (that would pay again).
  proxy.setRule(() => ({ kind: 'pass' }));
  await assert.rejects(archiveBackup(uploadOptions({ repository, wallet, backupId: manifest.id }, new GatewayClient(proxy.url))), /--retry/);

  const before = proxy.requests.length;
  const stopMining = gateway.autoMine(150);
  t.after(stopMining);
  const result = await archiveBackup(uploadOptions({ repository, wallet, backupId: manifest.id }, new GatewayClient(proxy.url), { retry: true, concurrency: 1 }));
  assert.equal(result.status, 'completed');
  assert.equal(result.resumedPacks, 1);

  // Every chunk of every pack transaction went exactly once over both runs.
  const secondRun = proxy.requests.slice(before).filter((r) => r.method === 'POST' && r.path === '/chunk');
  const key = (r: { body: Buffer }) => {
    const c = JSON.parse(r.body.toString()) as { data_root: string; offset: string };
    return `${c.data_root}:${c.offset}`;
  };
  const acknowledged = firstRun.slice(0, PASSED).map(key);
  const resent = secondRun.map(key).filter((k) => acknowledged.includes(k));
  assert.deepEqual(resent, [], 'no acknowledged chunk was sent again');
  const all = new Set([...acknowledged, ...secondRun.map(key)]);
  assert.equal(all.size, acknowledged.length + secondRun.length, 'no chunk was sent twice in the second run either');
  assert.equal(proxy.count('POST', /^\/tx$/), 1 + (await repository.loadIndex()).packCount, 'one POST /tx per pack plus the manifest — the interrupted one was not re-posted');

  const restored = await downloadArchive({ archive: await ArweaveArchive.fetch([new GatewayClient(gateway.url)], result.tx), path: path.join(tempDir(t), 'r'), credentials: { password: PASSWORD } });
  assert.equal(restored.downloadedPacks, (await repository.loadIndex()).packCount);
});

test('a smaller --chunk-size means more, smaller chunk POSTs; the archive still restores', async (t) => {
  const { dir, gateway, wallet, repository } = await setup(t);
  const data = seededBytes(1 << 20, 12);
  const { manifest } = await backup({ repository, source: source(data) });
  const stopMining = gateway.autoMine(150);
  t.after(stopMining);
  const client = new GatewayClient(gateway.url);
  const result = await archiveBackup(uploadOptions({ repository, wallet, backupId: manifest.id }, client, { chunkSize: 65536 }));
  const packBytes = result.uploadedBytes - result.manifestBytes;
  assert.ok(client.stats.chunksPosted >= Math.floor(packBytes / 65536), `${client.stats.chunksPosted} chunk POSTs for ${packBytes} bytes`);
  const state = await ArchiveState.open(repository.location, repository.config.id);
  assert.deepEqual(new Set(Object.values(state.gateway(gateway.url).packs).map((p) => p.chunkSize)), new Set([65536]), 'recorded, for seeding later');
  const archive = await ArweaveArchive.fetch([new GatewayClient(gateway.url)], result.tx);
  const copy = await downloadArchive({ archive, path: path.join(dir, 'copy'), credentials: { password: PASSWORD } });
  assert.equal(sha256(await restoreToBuffer(copy.repository, manifest.id)), sha256(data));
});
