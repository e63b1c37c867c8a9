// Pack files (src/repository/pack-format.ts, docs/FORMAT.md §4): header, blobs, trailer; parsed
// back the way a reader does it (header, then the fixed-size tail, then the trailer body).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { AgentvaultError, type ErrorCode } from '../src/errors.js';
import { xxh64 } from '../src/crypto/checksum.js';
import {
  PACK_HEADER_LENGTH,
  PACK_TAIL_LENGTH,
  assemblePack,
  checkPackHeader,
  parsePackTail,
  parsePackTrailerBody,
  type PackContents,
  type PackItem,
} from '../src/repository/pack-format.js';
import type { CodecName, PackRecord } from '../src/types.js';
import { seededBytes } from './helpers/tmp.js';

const CODECS: CodecName[] = ['none', 'zstd', 'brotli', 'gzip'];

function item(n: number, wrappedKey?: Buffer): PackItem {
  const stored = seededBytes(100 + n * 37, n + 1);
  return {
    id: Buffer.alloc(32, n + 1),
    stored,
    plainLength: 1000 + n,
    codec: CODECS[n % CODECS.length]!,
    checksum: xxh64(stored),
    wrappedKey,
  };
}

function fileBytes(pack: PackRecord): Buffer {
  const bytes = Buffer.concat(pack.parts);
  assert.equal(bytes.length, pack.size, 'size is the sum of the parts');
  return bytes;
}

/** Reads a pack the way Repository.readPackTrailer does. */
function readPack(bytes: Buffer, packId: string, metaKey: Buffer | undefined): PackContents {
  checkPackHeader(bytes.subarray(0, PACK_HEADER_LENGTH), packId);
  const { bodyLength, checksum } = parsePackTail(bytes.subarray(bytes.length - PACK_TAIL_LENGTH), packId, bytes.length);
  const body = bytes.subarray(bytes.length - PACK_TAIL_LENGTH - bodyLength, bytes.length - PACK_TAIL_LENGTH);
  return parsePackTrailerBody(body, checksum, packId, metaKey);
}

function assertCode(fn: () => unknown, code: ErrorCode, pattern?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AgentvaultError, `expected AgentvaultError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

for (const encrypted of [false, true]) {
  describe(`pack round trip, ${encrypted ? 'with' : 'without'} metaKey`, () => {
    const metaKey = encrypted ? randomBytes(32) : undefined;
    const wrapped = encrypted ? randomBytes(80) : undefined;
    const items = [0, 1, 2, 3, 4].map((n) => item(n, wrapped));

    it('header, blobs at their offsets, trailer entries and keys', () => {
      const pack = assemblePack(items, metaKey);
      assert.equal(pack.type, 'pack');
      assert.match(pack.packId, /^[0-9a-f]{32}$/);
      const bytes = fileBytes(pack);

      // Header: "AVPK" ‖ u16 version 1 ‖ u16 flags (bit 0 = encrypted).
      assert.equal(bytes.subarray(0, 4).toString('latin1'), 'AVPK');
      assert.equal(bytes.readUInt16LE(4), 1);
      assert.equal(bytes.readUInt16LE(6), encrypted ? 1 : 0);
      // Tail ends with "AVPT".
      assert.equal(bytes.subarray(bytes.length - 4).toString('latin1'), 'AVPT');

      let offset = PACK_HEADER_LENGTH;
      for (const [i, e] of pack.entries.entries()) {
        const it = items[i]!;
        assert.equal(e.offset, offset, `entry ${i} offset`);
        assert.ok(bytes.subarray(e.offset, e.offset + e.storedLength).equals(it.stored), `blob ${i} is stored at its offset`);
        offset += it.stored.length;
      }

      const contents = readPack(bytes, pack.packId, metaKey);
      assert.deepEqual(contents.entries, pack.entries);
      assert.deepEqual(
        contents.entries.map((e) => ({ id: e.id, storedLength: e.storedLength, plainLength: e.plainLength, codec: e.codec, checksum: e.checksum })),
        items.map((i) => ({ id: i.id, storedLength: i.stored.length, plainLength: i.plainLength, codec: i.codec, checksum: i.checksum })),
      );
      if (encrypted) {
        assert.deepEqual(contents.keys, [wrapped]);
        assert.deepEqual(pack.keys, [wrapped]);
        assert.ok(contents.entries.every((e) => e.keyIndex === 0));
      } else {
        assert.deepEqual(contents.keys, []);
        assert.ok(contents.entries.every((e) => e.keyIndex === 0));
      }
    });

    it(`the trailer body is ${encrypted ? 'sealed' : 'plain'}`, () => {
      const pack = assemblePack(items, metaKey);
      const bytes = fileBytes(pack);
      const { bodyLength } = parsePackTail(bytes.subarray(bytes.length - PACK_TAIL_LENGTH), pack.packId, bytes.length);
      const body = bytes.subarray(bytes.length - PACK_TAIL_LENGTH - bodyLength, bytes.length - PACK_TAIL_LENGTH);
      // plain = u16 keyCount ‖ keys ‖ u32 entryCount ‖ 54 bytes per entry; sealed adds 28.
      const plainLength = 2 + (encrypted ? 80 : 0) + 4 + 54 * items.length;
      assert.equal(bodyLength, plainLength + (encrypted ? 28 : 0));
      const idsVisible = items.some((i) => body.includes(i.id));
      assert.equal(idsVisible, !encrypted, encrypted ? 'chunk ids are hidden' : 'chunk ids are in the clear');
    });

    it('an empty pack round-trips', () => {
      const pack = assemblePack([], metaKey);
      const bytes = fileBytes(pack);
      assert.equal(bytes.length, PACK_HEADER_LENGTH + (2 + 4 + (encrypted ? 28 : 0)) + PACK_TAIL_LENGTH);
      assert.deepEqual(readPack(bytes, pack.packId, metaKey), { keys: [], entries: [] });
    });
  });
}

describe('several data keys in one pack', () => {
  it('stores each distinct key once and gives every chunk the index of its own key', () => {
    const metaKey = randomBytes(32);
    const [a, b, c] = [randomBytes(80), randomBytes(80), randomBytes(80)];
    const keysOfItems = [a, b, a, c, b, c, a];
    const items = keysOfItems.map((k, n) => item(n, Buffer.from(k!)));
    const pack = assemblePack(items, metaKey);
    assert.deepEqual(pack.keys, [a, b, c]);
    assert.deepEqual(
      pack.entries.map((e) => e.keyIndex),
      [0, 1, 0, 2, 1, 2, 0],
    );
    const contents = readPack(fileBytes(pack), pack.packId, metaKey);
    assert.deepEqual(contents.keys, [a, b, c]);
    for (const [i, e] of contents.entries.entries()) {
      assert.ok(contents.keys[e.keyIndex]!.equals(keysOfItems[i]!), `chunk ${i} maps to its own data key`);
    }
  });

  it('refuses more than 256 data keys', () => {
    const items = Array.from({ length: 257 }, (_, n) => ({ ...item(0), id: Buffer.alloc(32, n % 256), wrappedKey: randomBytes(80) }));
    assert.throws(() => assemblePack(items, randomBytes(32)), /at most 256 data keys/);
    assert.doesNotThrow(() => assemblePack(items.slice(0, 256), randomBytes(32)));
  });

  it('a key index beyond the key table → CORRUPT', () => {
    const pack = assemblePack([item(0, randomBytes(80)), item(1, randomBytes(80))], undefined);
    const bytes = fileBytes(pack);
    // Unencrypted trailer: the second entry's keyIndex byte sits 9 bytes before the end of its entry.
    const { bodyLength } = parsePackTail(bytes.subarray(bytes.length - PACK_TAIL_LENGTH), pack.packId, bytes.length);
    const bodyStart = bytes.length - PACK_TAIL_LENGTH - bodyLength;
    const body = Buffer.from(bytes.subarray(bodyStart, bodyStart + bodyLength));
    body[body.length - 9] = 2;
    assertCode(() => parsePackTrailerBody(body, xxh64(body), pack.packId, undefined), 'CORRUPT', /key index out of range/);
  });
});

describe('damaged packs', () => {
  const metaKey = randomBytes(32);
  const pack = assemblePack([0, 1, 2].map((n) => item(n, randomBytes(80))), metaKey);
  const bytes = fileBytes(pack);

  it('a pack cut short → CORRUPT', () => {
    for (const cut of [1, 4, PACK_TAIL_LENGTH, 100]) {
      const short = bytes.subarray(0, bytes.length - cut);
      assertCode(() => readPack(short, pack.packId, metaKey), 'CORRUPT', new RegExp(pack.packId));
    }
  });

  it('a pack whose trailer claims more bytes than the file has → CORRUPT', () => {
    const tail = bytes.subarray(bytes.length - PACK_TAIL_LENGTH);
    const { bodyLength } = parsePackTail(tail, pack.packId, bytes.length);
    // Lose the blobs but keep the trailer: the body no longer fits between header and tail.
    assertCode(() => parsePackTail(tail, pack.packId, PACK_HEADER_LENGTH + PACK_TAIL_LENGTH + bodyLength - 1), 'CORRUPT', /truncated/);
    assert.doesNotThrow(() => parsePackTail(tail, pack.packId, PACK_HEADER_LENGTH + PACK_TAIL_LENGTH + bodyLength));
    assertCode(() => parsePackTail(tail.subarray(0, 10), pack.packId, bytes.length), 'CORRUPT');
  });

  it('a wrong trailer checksum → CORRUPT', () => {
    const damaged = Buffer.from(bytes);
    damaged[damaged.length - 8]! ^= 1; // inside the u64 checksum
    assertCode(() => readPack(damaged, pack.packId, metaKey), 'CORRUPT', /checksum mismatch/);
    const bodyDamaged = Buffer.from(bytes);
    bodyDamaged[bodyDamaged.length - PACK_TAIL_LENGTH - 5]! ^= 0x40; // inside the body
    assertCode(() => readPack(bodyDamaged, pack.packId, metaKey), 'CORRUPT', /checksum mismatch/);
  });

  it('a trailer sealed with another metaKey → CORRUPT (fails authentication)', () => {
    assertCode(() => readPack(bytes, pack.packId, randomBytes(32)), 'CORRUPT', /fails authentication/);
  });

  it('a trailer moved to another pack id → CORRUPT (the id is authenticated)', () => {
    const otherId = 'ab'.repeat(16);
    assertCode(() => readPack(bytes, otherId, metaKey), 'CORRUPT', /fails authentication/);
  });

  it('an unencrypted trailer with a body that does not parse → CORRUPT', () => {
    const plain = fileBytes(assemblePack([item(0)], undefined));
    const { bodyLength } = parsePackTail(plain.subarray(plain.length - PACK_TAIL_LENGTH), 'p', plain.length);
    const start = plain.length - PACK_TAIL_LENGTH - bodyLength;
    const body = Buffer.from(plain.subarray(start, start + bodyLength));
    body.writeUInt32LE(1000, 2); // entryCount far beyond the body
    assertCode(() => parsePackTrailerBody(body, xxh64(body), 'p', undefined), 'CORRUPT', /entry count/);
    const longer = Buffer.concat([plain.subarray(start, start + bodyLength), Buffer.from([0])]);
    assertCode(() => parsePackTrailerBody(longer, xxh64(longer), 'p', undefined), 'CORRUPT', /trailing bytes/);
  });

  it('an unknown codec byte in a trailer that passes its checksum → CORRUPT naming the pack', () => {
    const plain = fileBytes(assemblePack([item(0), item(1)], undefined));
    const { bodyLength } = parsePackTail(plain.subarray(plain.length - PACK_TAIL_LENGTH), 'p', plain.length);
    const start = plain.length - PACK_TAIL_LENGTH - bodyLength;
    const body = Buffer.from(plain.subarray(start, start + bodyLength));
    body[body.length - 10] = 9; // the second entry's codec byte (u8 codec ‖ u8 keyIndex ‖ u64 checksum)
    assertCode(() => parsePackTrailerBody(body, xxh64(body), 'p', undefined), 'CORRUPT', /pack p is corrupt: unknown compression codec 9/);
  });

  it('a bad magic → CORRUPT', () => {
    const damaged = Buffer.from(bytes);
    damaged.write('AVPX', 0, 'latin1');
    assertCode(() => checkPackHeader(damaged.subarray(0, PACK_HEADER_LENGTH), pack.packId), 'CORRUPT', /bad magic/);
    const tail = Buffer.from(bytes.subarray(bytes.length - PACK_TAIL_LENGTH));
    tail.write('AVPX', PACK_TAIL_LENGTH - 4, 'latin1');
    assertCode(() => parsePackTail(tail, pack.packId, bytes.length), 'CORRUPT');
  });

  it('a newer pack version → NEWER_FORMAT naming both versions', () => {
    const newer = Buffer.from(bytes.subarray(0, PACK_HEADER_LENGTH));
    newer.writeUInt16LE(2, 4);
    assertCode(() => checkPackHeader(newer, pack.packId), 'NEWER_FORMAT', /pack format 2; this version reads up to 1/);
    newer.writeUInt16LE(1, 4);
    assert.doesNotThrow(() => checkPackHeader(newer, pack.packId));
  });
});
