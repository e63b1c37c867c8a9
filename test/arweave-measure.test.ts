// Measurements against arlocal, printed as test diagnostics: upload and download throughput, and
// what an incremental archive costs on Arweave against the bytes that changed. Bounds are loose
// (arlocal's speed depends on the machine and on how full its database is); the numbers are
// the point.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { archiveBackup } from '../src/arweave/archiver.js';
import { GatewayClient } from '../src/arweave/client.js';
import { downloadArchive } from '../src/arweave/download.js';
import { ArweaveWallet } from '../src/arweave/wallet.js';
import { LocalBackend } from '../src/backend/local.js';
import { backup } from '../src/backup.js';
import { Repository } from '../src/repository/repository.js';
import { restore } from '../src/restore.js';
import { ByteStreamSink } from '../src/sinks/stream.js';
import { ArweaveArchive } from '../src/sources/arweave.js';
import { AR, createWallet, startArlocal } from './helpers/arlocal.js';
import { seededBytes, tempDir } from './helpers/tmp.js';
import { bufferSource as source } from './helpers/pipeline.js';

process.env.AGENTVAULT_SCRYPT_LOG_N ??= '12';
const MiB = 1 << 20;

const mibps = (bytes: number, ms: number) => `${(bytes / MiB / (ms / 1000)).toFixed(2)} MiB/s`;

test('throughput against arlocal, and bytes sent per incremental archive versus bytes changed', async (t) => {
  const dir = tempDir(t);
  const gateway = await startArlocal(t);
  const walletFile = await createWallet(dir);
  await gateway.mint(walletFile.address, 1000n * AR);
  const { wallet } = await ArweaveWallet.load(walletFile.path);
  const repository = await Repository.init(new LocalBackend(path.join(dir, 'repo')), { encryption: 'aes-256-gcm', password: 'pw', packSize: MiB });
  const stop = gateway.autoMine(100);
  t.after(stop);

  // 8 MiB of incompressible data: 8 packs of ~1 MiB, 33 chunk POSTs or so.
  const heap = seededBytes(8 * MiB, 1);
  const first = await backup({ repository, source: source(heap) });
  const client = new GatewayClient(gateway.url);
  let started = performance.now();
  const full = await archiveBackup({ repository, backupId: first.manifest.id, wallet, clients: [client], wait: false, concurrency: 4 });
  const uploadMs = performance.now() - started;
  t.diagnostic(`upload: ${full.newPacks} packs, ${full.uploadedBytes} bytes in ${uploadMs.toFixed(0)} ms = ${mibps(full.uploadedBytes, uploadMs)} (${client.stats.chunksPosted} chunk POSTs, ${client.stats.bytesSent} bytes on the wire, 4 transactions in flight)`);

  started = performance.now();
  const archive = await ArweaveArchive.fetch([new GatewayClient(gateway.url)], full.tx);
  const downloaded = await downloadArchive({ archive, path: path.join(dir, 'copy'), credentials: { password: 'pw' } });
  const downloadMs = performance.now() - started;
  t.diagnostic(`download: ${downloaded.downloadedPacks} packs, ${downloaded.downloadedBytes} bytes, fetched and checked in ${downloadMs.toFixed(0)} ms = ${mibps(downloaded.downloadedBytes, downloadMs)}`);
  const parts: Buffer[] = [];
  started = performance.now();
  await restore({ repository: downloaded.repository, manifest: downloaded.manifest, sink: new ByteStreamSink(new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), cb()) })) });
  t.diagnostic(`restore from the downloaded packs: ${mibps(heap.length, performance.now() - started)}`);
  assert.equal(createHash('sha256').update(Buffer.concat(parts)).digest('hex'), createHash('sha256').update(heap).digest('hex'));

  // Incremental: 1% of the 4 KiB pages changed at scattered places, then 256 KiB appended.
  const scenarios: Array<{ name: string; change: (b: Buffer) => { data: Buffer; changed: number } }> = [
    {
      name: '1% of 4 KiB pages changed',
      change: (b) => {
        const next = Buffer.from(b);
        const pages = b.length / 4096;
        let changed = 0;
        for (let i = 0; i < pages / 100; i++) {
          const page = Math.floor(((i * 7919) % pages) + 0);
          seededBytes(4096, 1000 + i).copy(next, page * 4096);
          changed += 4096;
        }
        return { data: next, changed };
      },
    },
    { name: '256 KiB appended', change: (b) => ({ data: Buffer.concat([b, seededBytes(256 << 10, 5)]), changed: 256 << 10 }) },
  ];
  let current = heap;
  for (const s of scenarios) {
    const { data, changed } = s.change(current);
    current = data;
    const result = await backup({ repository, source: source(data) });
    const incClient = new GatewayClient(gateway.url);
    const inc = await archiveBackup({ repository, backupId: result.manifest.id, wallet, clients: [incClient], wait: false });
    const packBytes = inc.uploadedBytes - inc.manifestBytes;
    t.diagnostic(
      `incremental, ${s.name}: ${changed} bytes changed → stored ${result.manifest.stats.storedSize} bytes locally; archive uploaded ${inc.newPacks} new pack(s) = ${packBytes} bytes + manifest ${inc.manifestBytes} bytes ` +
        `(${(inc.uploadedBytes / changed).toFixed(2)}x the change; ${incClient.stats.bytesSent} bytes on the wire incl. base64 and headers), reused ${inc.reusedPacks} pack(s)`,
    );
    // Arweave gets exactly the packs this backup added to the repository, plus its manifest.
    assert.equal(inc.newPacks, 1);
    assert.equal(packBytes, result.manifest.stats.storedSize);
    assert.ok(packBytes < 6 * changed, `pack bytes ${packBytes} for ${changed} changed`);
  }
});
