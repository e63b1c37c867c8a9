// The offline parts of archiving: chunk trees (against arweave-js), signed transactions, tags,
// the archive manifest body, pack checks, prices, the wallet's secrecy and the archive state.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import { test } from 'node:test';
import Arweave from 'arweave';
import { generateTransactionChunks, validatePath } from 'arweave/node/lib/merkle.js';
import { decodeArchiveBody, encodeArchiveBody, openPackList, RECORD, sealPackList, type ArchivedPack } from '../src/arweave/archive-format.js';
import { ArchiveState } from '../src/arweave/archive-state.js';
import { verifyPackBytes } from '../src/arweave/pack-check.js';
import { xxh64 } from '../src/crypto/checksum.js';
import { parseSize, winstonToAr } from '../src/arweave/pricing.js';
import { checkTags, decodeTags, manifestTags, packTags } from '../src/arweave/tags.js';
import { chunkToPost, chunkTree, createDataTransaction, resumeTransaction, verifyHeader } from '../src/arweave/transaction.js';
import { ArweaveWallet } from '../src/arweave/wallet.js';
import { AgentvaultError } from '../src/errors.js';
import { generateKeys, makePlainKeyFile } from '../src/repository/keys.js';
import { assemblePack, type PackItem } from '../src/repository/pack-format.js';
import { createWallet } from './helpers/arlocal.js';
import { seededBytes, tempDir } from './helpers/tmp.js';

const KiB = 1024;

test('chunk trees at 256 KiB are exactly arweave-js’s, including the rebalanced tail and exact multiples', async () => {
  for (const size of [1, 1000, 256 * KiB - 1, 256 * KiB, 256 * KiB + 1, 256 * KiB + 31 * KiB, 512 * KiB, 1024 * KiB + 100, 3 * 256 * KiB + 40 * KiB]) {
    const data = seededBytes(size, size);
    const ours = await chunkTree(data);
    const theirs = await generateTransactionChunks(data);
    assert.deepEqual(Buffer.from(ours.dataRoot), Buffer.from(theirs.data_root), `data_root for ${size}`);
    assert.deepEqual(ours.chunks.map((c) => [c.minByteRange, c.maxByteRange]), theirs.chunks.map((c) => [c.minByteRange, c.maxByteRange]), `ranges for ${size}`);
    assert.deepEqual(ours.proofs.map((p) => Buffer.from(p.proof)), theirs.proofs.map((p) => Buffer.from(p.proof)), `proofs for ${size}`);
  }
});

test('a smaller chunk size gives a valid tree: every chunk proves against data_root at its offset', async () => {
  const data = seededBytes(300 * KiB, 4);
  const tree = await chunkTree(data, 64 * KiB);
  assert.equal(tree.chunks.length, 5);
  for (const [i, chunk] of tree.chunks.entries()) {
    const ok = await validatePath(tree.dataRoot, chunk.minByteRange, 0, data.length, tree.proofs[i]!.proof);
    assert.ok(ok && ok.leftBound === chunk.minByteRange && ok.rightBound === chunk.maxByteRange, `chunk ${i}`);
  }
  await assert.rejects(chunkTree(data, 1000), /--chunk-size must be between/);
});

test('signed transactions verify, resume only over the same bytes, and carry checked tags', async (t) => {
  const { wallet } = await ArweaveWallet.load((await createWallet(tempDir(t))).path);
  const data = randomBytes(600 * KiB);
  const tags = packTags({ repositoryId: 'ab'.repeat(16), backupId: '06fw4w0000000', canisterId: 'rrkah-fqaaa-aaaaa-aaaaq-cai' }, 'cd'.repeat(16));
  const tx = await createDataTransaction({ wallet, data, tags, anchor: 'a'.repeat(64), reward: 123n });
  assert.equal(tx.chunkCount, 3);
  assert.equal(tx.inBody, false);
  assert.equal(await verifyHeader(tx.header), true);
  assert.deepEqual(decodeTags(tx.header), tags);
  assert.equal(await verifyHeader({ ...tx.header, reward: '124' }), false, 'a changed reward breaks the signature');
  assert.equal(await verifyHeader({ ...tx.header, tags: tx.header.tags.slice(1) }), false);
  const resumed = await resumeTransaction(tx.header, data, tx.chunkSize);
  assert.deepEqual(chunkToPost(resumed, 2, data), chunkToPost(tx, 2, data));
  const other = Buffer.from(data);
  other[5] = other[5]! ^ 1;
  await assert.rejects(resumeTransaction(tx.header, other, tx.chunkSize), /not what was signed/);
  const small = await createDataTransaction({ wallet, data: randomBytes(1000), tags: manifestTags({ repositoryId: 'ab'.repeat(16), backupId: '06fw4w0000000' }), anchor: 'a'.repeat(64), reward: 1n });
  assert.equal(small.inBody, true, 'one chunk travels inside POST /tx');
});

test('tags are checked against the 2048-byte layer-1 limit before signing', () => {
  assert.throws(() => packTags({ repositoryId: 'ab'.repeat(16), backupId: 'x', canisterId: 'c'.repeat(2000) }, 'p'), /take \d+ bytes; Arweave allows 2048/);
  assert.throws(() => checkTags([{ name: 'A', value: '' }]), /empty/);
  const bytes = packTags({ repositoryId: 'ab'.repeat(16), backupId: '06fw4w0000000' }, 'cd'.repeat(16)).reduce((n, tag) => n + tag.name.length + tag.value.length, 0);
  assert.ok(bytes < 400);
});

function samplePack(metaKey: Buffer | undefined) {
  const wrappedKey = metaKey ? randomBytes(80) : undefined;
  const items: PackItem[] = Array.from({ length: 5 }, (_, i) => {
    const stored = randomBytes(1000 + i * 100);
    return { id: randomBytes(32), stored, plainLength: stored.length, codec: 'none', checksum: xxh64(stored), wrappedKey };
  });
  return assemblePack(items, metaKey);
}

test('the archive manifest body round-trips; its pack list is sealed to the backup id', () => {
  const metaKey = randomBytes(32);
  const pack = samplePack(metaKey);
  const packs: ArchivedPack[] = [{ txId: randomBytes(32).toString('base64url'), pack: { packId: pack.packId, size: pack.size, keys: pack.keys, entries: pack.entries } }];
  const keys = generateKeys();
  const body = {
    backupId: '06fw4w0a1b2c',
    encrypted: true,
    config: Buffer.from('{"format":"agentvault-repository"}'),
    keyFiles: [makePlainKeyFile(keys.write)],
    manifest: randomBytes(300),
    packs: sealPackList(packs, '06fw4w0a1b2c', metaKey),
  };
  const bytes = encodeArchiveBody(body);
  assert.equal(bytes.subarray(0, 4).toString(), 'AVAR');
  const decoded = decodeArchiveBody(bytes, 'test');
  assert.equal(decoded.backupId, body.backupId);
  assert.equal(decoded.encrypted, true);
  assert.deepEqual(decoded.config, body.config);
  assert.deepEqual(decoded.manifest, body.manifest);
  assert.deepEqual(decoded.keyFiles, body.keyFiles);
  const opened = openPackList(decoded.packs, body.backupId, metaKey);
  assert.equal(opened[0]!.txId, packs[0]!.txId);
  assert.deepEqual(opened[0]!.pack.entries, pack.entries);
  assert.deepEqual(opened[0]!.pack.keys, pack.keys);

  assert.throws(() => openPackList(decoded.packs, '06fw4w0zzzzz', metaKey), /fails authentication/, 'bound to its backup id');
  assert.throws(() => openPackList(decoded.packs, body.backupId, randomBytes(32)), /fails authentication/);
  const newer = Buffer.from(bytes);
  newer.writeUInt16LE(2, 4);
  assert.throws(() => decodeArchiveBody(newer, 'test'), (e: AgentvaultError) => e.code === 'NEWER_FORMAT' && /archive manifest format 2; this version reads up to 1/.test(e.message));
  assert.throws(() => decodeArchiveBody(bytes.subarray(0, bytes.length - 3), 'test'), (e: AgentvaultError) => e.code === 'CORRUPT');
  const unknown = Buffer.from(bytes);
  unknown[12] = 77; // the first record's type
  assert.throws(() => decodeArchiveBody(unknown, 'test'), /unknown type 77/);
  assert.equal(RECORD.backup, 10);

  // Unencrypted (--public): nothing sealed, still checked.
  const plainPacks = sealPackList(packs, body.backupId, undefined);
  assert.equal(openPackList(plainPacks, body.backupId, undefined)[0]!.pack.packId, pack.packId);
});

test('a pack is checked byte for byte against its record', () => {
  const metaKey = randomBytes(32);
  const pack = samplePack(metaKey);
  const record = { packId: pack.packId, size: pack.size, keys: pack.keys, entries: pack.entries };
  const bytes = Buffer.concat(pack.parts);
  verifyPackBytes(bytes, record, metaKey, 'here');
  for (const at of [3, pack.entries[2]!.offset + 7, bytes.length - 20]) {
    const bad = Buffer.from(bytes);
    bad[at] = bad[at]! ^ 0x10;
    assert.throws(() => verifyPackBytes(bad, record, metaKey, 'here'), (e: AgentvaultError) => e.code === 'CORRUPT' && e.message.startsWith(`pack ${pack.packId} here is corrupt`), `byte ${at}`);
  }
  assert.throws(() => verifyPackBytes(bytes.subarray(1), record, metaKey, 'here'), /is \d+ bytes, expected/);
  assert.throws(() => verifyPackBytes(bytes, { ...record, entries: record.entries.slice(1) }, metaKey, 'here'), /trailer lists 5 chunks, the index 4/);
});

test('prices are exact decimals of winston; sizes parse with units', () => {
  assert.equal(winstonToAr(343909376983n), '0.343909376983');
  assert.equal(winstonToAr(1_000_000_000_000n), '1');
  assert.equal(winstonToAr(1_500_000_000_000_000n), '1500');
  assert.equal(winstonToAr(0n), '0');
  assert.equal(winstonToAr(1n), '0.000000000001');
  assert.equal(parseSize('5MiB'), 5 * 1024 * 1024);
  assert.equal(parseSize('1.5 GB'), 1_500_000_000);
  assert.equal(parseSize('1048576'), 1048576);
  assert.equal(parseSize('06fw4w'), undefined);
  assert.equal(parseSize('latest'), undefined);
});

test('the wallet never shows its private key: not in JSON, inspect, or error messages', async (t) => {
  const dir = tempDir(t);
  const file = (await createWallet(dir)).path;
  const jwk = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
  const { wallet, warnings } = await ArweaveWallet.load(file);
  assert.deepEqual(warnings, []);
  for (const shown of [JSON.stringify(wallet), inspect(wallet, { showHidden: true, depth: 5 }), String(Object.keys(wallet))]) {
    assert.doesNotMatch(shown, new RegExp(jwk.d!.slice(0, 40)));
    assert.doesNotMatch(shown, new RegExp(jwk.p!.slice(0, 40)));
  }
  fs.chmodSync(file, 0o644);
  assert.match((await ArweaveWallet.load(file)).warnings[0]!, /can be read by other users/);
  const broken = path.join(dir, 'broken.json');
  fs.writeFileSync(broken, JSON.stringify({ ...jwk, kty: 'EC' }));
  await assert.rejects(ArweaveWallet.load(broken), (e: Error) => /is not an Arweave key/.test(e.message) && !e.message.includes(jwk.d!.slice(0, 20)));
  fs.writeFileSync(broken, `{"d": "${jwk.d}", oops`);
  await assert.rejects(ArweaveWallet.load(broken), (e: Error) => !e.message.includes(jwk.d!.slice(0, 20)));
  await assert.rejects(ArweaveWallet.load(path.join(dir, 'missing.json')), /cannot read the wallet file .*ENOENT/);
  assert.equal(wallet.address, await Arweave.init({}).wallets.jwkToAddress(jwk as never));
});

test('archive state: written atomically, one archive command at a time, upload progress saved in order', async (t) => {
  const repo = tempDir(t);
  const state = await ArchiveState.open(repo, 'ab'.repeat(16));
  state.gateway('http://g').packs.p1 = { tx: 't'.repeat(43), size: 10, backup: 'b', reward: '5', chunkSize: 262144, status: 'pending', posted: 'now' };
  await state.save();
  const again = await ArchiveState.open(repo, 'ab'.repeat(16));
  assert.equal(again.packAt('http://g', 'p1')?.tx, 't'.repeat(43));
  await assert.rejects(ArchiveState.open(repo, 'cd'.repeat(16)), /does not belong to this repository/);
  assert.deepEqual(fs.readdirSync(path.join(repo, 'archive')).filter((n) => n.endsWith('.tmp')), []);

  const lock = await ArchiveState.lock(repo);
  await assert.rejects(ArchiveState.lock(repo), (e: AgentvaultError) => e.code === 'LOCKED' && /another archive command is running \(pid \d+/.test(e.message));
  await lock.release();
  fs.writeFileSync(path.join(repo, 'archive', 'lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: (await import('node:os')).hostname(), created: 'then' }));
  const taken = await ArchiveState.lock(repo); // its process is gone
  await taken.release();

  const entry = { version: 1 as const, tx: 'u'.repeat(43), kind: 'pack' as const, packId: 'p2', backup: 'b', chunkSize: 262144, header: {} as never, created: 'now', gateways: { 'http://g': { posted: true, acked: 0 } } };
  const writes: Array<Promise<void>> = [];
  for (let i = 1; i <= 50; i++) {
    entry.gateways['http://g'].acked = i;
    writes.push(state.saveUpload(entry));
  }
  await Promise.all(writes);
  const [saved] = await state.uploads();
  assert.equal(saved!.gateways['http://g']!.acked, 50, 'the last progress written is the one on disk');
  await state.removeUpload(entry.tx);
  assert.deepEqual(await state.uploads(), []);
});
