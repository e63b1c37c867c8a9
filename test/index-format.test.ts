// Index files (src/repository/index-format.ts, docs/FORMAT.md §5).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { AgentvaultError, type ErrorCode } from '../src/errors.js';
import { INDEX_VERSION, decodeIndexFile, encodeIndexFile, type IndexFile, type IndexedPack } from '../src/repository/index-format.js';
import { randomHexId } from '../src/repository/ids.js';
import { ByteReader, ByteWriter } from '../src/repository/binary.js';
import { readPackContentsTable, writePackContents } from '../src/repository/pack-format.js';
import type { CodecName } from '../src/types.js';

const CODECS: CodecName[] = ['none', 'zstd', 'brotli', 'gzip'];

function pack(n: number, keyCount: number): IndexedPack {
  const keys = Array.from({ length: keyCount }, () => randomBytes(80));
  const entries = Array.from({ length: 3 + n }, (_, i) => ({
    id: randomBytes(32),
    offset: 8 + i * 1000,
    storedLength: 1000,
    plainLength: 4000 + i,
    codec: CODECS[(n + i) % CODECS.length]!,
    keyIndex: keyCount > 0 ? i % keyCount : 0,
    checksum: BigInt.asUintN(64, BigInt(`0x${randomBytes(8).toString('hex')}`)),
  }));
  return { packId: randomHexId(16), size: 8 + entries.length * 1000 + 500 + n, keys, entries };
}

function assertCode(fn: () => unknown, code: ErrorCode, pattern?: RegExp): AgentvaultError {
  let caught: unknown;
  assert.throws(fn, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof AgentvaultError, `expected AgentvaultError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (pattern) assert.match(caught.message, pattern);
  return caught;
}

for (const encrypted of [false, true]) {
  describe(`index files, ${encrypted ? 'encrypted' : 'unencrypted'}`, () => {
    const metaKey = encrypted ? randomBytes(32) : undefined;
    const keyCount = encrypted ? 2 : 0;

    it('round-trip packs, keys and entries', () => {
      const id = randomHexId(16);
      const file: IndexFile = { supersedes: [], packs: [pack(0, keyCount), pack(1, keyCount), pack(2, keyCount)] };
      const bytes = encodeIndexFile(id, file, metaKey);
      assert.equal(bytes.subarray(0, 4).toString('latin1'), 'AVIX');
      assert.equal(bytes.readUInt16LE(4), INDEX_VERSION);
      assert.equal(bytes.readUInt16LE(6), encrypted ? 1 : 0);
      assert.deepEqual(decodeIndexFile(id, bytes, metaKey), file);
    });

    it('packs given with their entries as stored tables encode to the same file as with entry objects', () => {
      const id = randomHexId(16);
      const packs = [pack(0, keyCount), pack(4, keyCount)];
      const tables = packs.map((p) => {
        const w = new ByteWriter();
        writePackContents(w, p);
        const { keys, table } = readPackContentsTable(new ByteReader(w.finish(), 'entries'));
        return { packId: p.packId, size: p.size, keys, table };
      });
      assert.deepEqual(decodeIndexFile(id, encodeIndexFile(id, { supersedes: [], packs: tables }, metaKey), metaKey), { supersedes: [], packs });
      if (!encrypted) assert.ok(encodeIndexFile(id, { supersedes: [], packs: tables }, metaKey).equals(encodeIndexFile(id, { supersedes: [], packs }, metaKey)));
    });

    it('round-trip superseded index ids', () => {
      const id = randomHexId(16);
      const supersedes = [randomHexId(16), randomHexId(16), randomHexId(16)];
      const file: IndexFile = { supersedes, packs: [pack(0, keyCount)] };
      const decoded = decodeIndexFile(id, encodeIndexFile(id, file, metaKey), metaKey);
      assert.deepEqual(decoded.supersedes, supersedes);
      assert.deepEqual(decoded, file);
      // An index that only supersedes (every pack was pruned) is valid too.
      const empty: IndexFile = { supersedes, packs: [] };
      assert.deepEqual(decodeIndexFile(id, encodeIndexFile(id, empty, metaKey), metaKey), empty);
    });

    it('a newer version → NEWER_FORMAT naming both versions', () => {
      const id = randomHexId(16);
      const bytes = encodeIndexFile(id, { supersedes: [], packs: [pack(0, keyCount)] }, metaKey);
      bytes.writeUInt16LE(INDEX_VERSION + 1, 4);
      assertCode(() => decodeIndexFile(id, bytes, metaKey), 'NEWER_FORMAT', new RegExp(`index ${id} .*index format 2; this version reads up to 1`));
    });

    it('a version 0 or a bad magic → CORRUPT', () => {
      const id = randomHexId(16);
      const bytes = encodeIndexFile(id, { supersedes: [], packs: [] }, metaKey);
      const zero = Buffer.from(bytes);
      zero.writeUInt16LE(0, 4);
      assertCode(() => decodeIndexFile(id, zero, metaKey), 'CORRUPT');
      const magic = Buffer.from(bytes);
      magic.write('AVMF', 0, 'latin1');
      assertCode(() => decodeIndexFile(id, magic, metaKey), 'CORRUPT', /bad magic/);
      assertCode(() => decodeIndexFile(id, bytes.subarray(0, 5), metaKey), 'CORRUPT');
    });

    it('a truncated or extended body → CORRUPT', () => {
      const id = randomHexId(16);
      const bytes = encodeIndexFile(id, { supersedes: [randomHexId(16)], packs: [pack(0, keyCount), pack(1, keyCount)] }, metaKey);
      for (const cut of [1, 10]) assertCode(() => decodeIndexFile(id, bytes.subarray(0, bytes.length - cut), metaKey), 'CORRUPT', new RegExp(`index ${id}`));
      assertCode(() => decodeIndexFile(id, Buffer.concat([bytes, Buffer.from([1, 2, 3])]), metaKey), 'CORRUPT');
      assertCode(() => decodeIndexFile(id, bytes.subarray(0, 8), metaKey), 'CORRUPT');
    });
  });
}

describe('encrypted index files', () => {
  const metaKey = randomBytes(32);
  const id = randomHexId(16);
  const file: IndexFile = { supersedes: [randomHexId(16)], packs: [pack(0, 1), pack(1, 1)] };
  const bytes = encodeIndexFile(id, file, metaKey);

  it('any flipped bit of the body → CORRUPT (fails authentication)', () => {
    for (let i = 8; i < bytes.length; i += 7) {
      const damaged = Buffer.from(bytes);
      damaged[i]! ^= 0x10;
      assertCode(() => decodeIndexFile(id, damaged, metaKey), 'CORRUPT', /fails authentication/);
    }
  });

  it('another metaKey → CORRUPT', () => {
    assertCode(() => decodeIndexFile(id, bytes, randomBytes(32)), 'CORRUPT', /fails authentication/);
  });

  it('renamed to another index id → CORRUPT (the id is authenticated)', () => {
    assertCode(() => decodeIndexFile(randomHexId(16), bytes, metaKey), 'CORRUPT', /fails authentication/);
  });

  it('read without a metaKey → CORRUPT', () => {
    assertCode(() => decodeIndexFile(id, bytes, undefined), 'CORRUPT', /encrypted but the repository is not/);
  });

  it('hides pack ids and chunk ids', () => {
    for (const p of file.packs) {
      assert.equal(bytes.indexOf(Buffer.from(p.packId, 'hex')), -1);
      for (const e of p.entries) assert.equal(bytes.indexOf(e.id), -1);
    }
  });
});

describe('unencrypted index files', () => {
  it('never decode a flipped bit in their body to different contents (zstd content checksum)', () => {
    const id = randomHexId(16);
    const file = { supersedes: [randomHexId(16)], packs: [pack(5, 0), pack(3, 0)] };
    const bytes = encodeIndexFile(id, file, undefined);
    let detected = 0;
    for (let at = 8; at < bytes.length; at++) {
      const damaged = Buffer.from(bytes);
      damaged[at]! ^= 1 << (at % 8);
      try {
        // Only bits zstd's frame header ignores or tolerates (an unused flag, a larger window) may pass, unchanged.
        assert.deepEqual(decodeIndexFile(id, damaged, undefined), decodeIndexFile(id, bytes, undefined), `flip at ${at}`);
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        assert.equal((err as AgentvaultError).code, 'CORRUPT');
        detected++;
      }
    }
    assert.ok(detected >= (bytes.length - 8) * 0.99, `${detected} of ${bytes.length - 8} flips detected`);
  });
});
