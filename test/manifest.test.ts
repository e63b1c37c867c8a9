// Manifests (src/repository/manifest.ts, docs/FORMAT.md §6).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Compressor } from 'zstd-napi';
import { zstd } from '../src/codecs/zstd-binding.js';
import { AgentvaultError, type ErrorCode } from '../src/errors.js';
import {
  CHUNK_REF_LENGTH,
  ChunkTableBuilder,
  MANIFEST_VERSION,
  chunkCount,
  chunkRefs,
  decodeManifest,
  encodeManifest,
  type Manifest,
  type ManifestEntry,
} from '../src/repository/manifest.js';

function chunkTable(refs: ReadonlyArray<readonly [number, number]>): Buffer {
  const b = new ChunkTableBuilder();
  for (const [fill, size] of refs) b.add(Buffer.alloc(32, fill), size);
  return b.finish();
}

function manifest(id = 'mfz3k2a9q7hx', overrides: Partial<Manifest> = {}): Manifest {
  const entries: ManifestEntry[] = [
    { name: 'state.bin', kind: 'file', size: 12_000, mode: 0o644, mtime: 1764277200000, chunks: chunkTable([[1, 8000], [2, 4000]]) },
    { name: 'dir/empty', kind: 'directory', size: 0, mode: 0o755, chunks: Buffer.alloc(0) },
    { name: 'link', kind: 'symlink', size: 0, linkTarget: '../state.bin', chunks: Buffer.alloc(0) },
    { name: 'wasm_memory', kind: 'wasm_memory', size: 65_536, chunks: chunkTable([[3, 65_536]]) },
    { name: 'ünïcødé 名前.txt', kind: 'file', size: 5, chunks: chunkTable([[4, 5]]) },
  ];
  return {
    version: 1,
    id,
    created: '2026-11-27T21:00:00.000Z',
    type: 'incremental',
    parent: 'mfz3k2a0aaaa',
    source: { kind: 'project', name: 'my-project', host: 'build-host', path: '/srv/my-project' },
    metadata: { ticket: 'OPS-17', 'user key': 'user value' },
    compression: { codec: 'zstd', level: 3 },
    entries,
    stats: { logicalSize: 77_541, storedSize: 12_345, chunks: 4, newChunks: 2 },
    ...overrides,
  };
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

/** An unencrypted manifest file around any JSON value (what a newer or broken writer might produce). */
function rawManifestFile(json: unknown, version = 1): Buffer {
  const c = new Compressor();
  c.setParameters({ compressionLevel: 3 });
  const header = Buffer.alloc(8);
  header.write('AVMF', 0, 'latin1');
  header.writeUInt16LE(version, 4);
  header.writeUInt16LE(0, 6);
  return Buffer.concat([header, c.compress(Buffer.from(JSON.stringify(json)))]);
}

for (const encrypted of [false, true]) {
  describe(`manifests, ${encrypted ? 'encrypted' : 'unencrypted'}`, () => {
    const metaKey = encrypted ? randomBytes(32) : undefined;

    it('round-trip every field', () => {
      const m = manifest();
      const bytes = encodeManifest(m, metaKey);
      assert.equal(bytes.subarray(0, 4).toString('latin1'), 'AVMF');
      assert.equal(bytes.readUInt16LE(4), MANIFEST_VERSION);
      assert.equal(bytes.readUInt16LE(6), encrypted ? 1 : 0);
      const decoded = decodeManifest(m.id, bytes, metaKey);
      assert.deepEqual(decoded, m);
      assert.ok(Buffer.isBuffer(decoded.entries[0]!.chunks));
    });

    it('round-trip a manifest with no entries', () => {
      const m = manifest('0000000aaaaa', { entries: [], parent: null, type: 'full', metadata: {} });
      assert.deepEqual(decodeManifest(m.id, encodeManifest(m, metaKey), metaKey), m);
    });

    it('a newer header version → NEWER_FORMAT naming both versions', () => {
      const m = manifest();
      const bytes = encodeManifest(m, metaKey);
      bytes.writeUInt16LE(2, 4);
      assertCode(() => decodeManifest(m.id, bytes, metaKey), 'NEWER_FORMAT', /manifest format 2; this version reads up to 1/);
    });

    it('a newer version inside the JSON → NEWER_FORMAT naming both versions', () => {
      const m = manifest('mfz3k2a9q7hx', { version: 3 });
      assertCode(() => decodeManifest(m.id, encodeManifest(m, metaKey), metaKey), 'NEWER_FORMAT', /manifest format 3; this version reads up to 1/);
    });

    it('a manifest whose id is not its file name → CORRUPT', () => {
      const m = manifest('mfz3k2a9q7hx');
      const bytes = encodeManifest(m, metaKey);
      const err = assertCode(() => decodeManifest('mfz3k2a9q7hy', bytes, metaKey), 'CORRUPT');
      assert.match(err.message, /mfz3k2a9q7hy/);
      if (!encrypted) assert.match(err.message, /id does not match its file name/);
    });

    it('a truncated or extended body → CORRUPT', () => {
      const m = manifest();
      const bytes = encodeManifest(m, metaKey);
      assertCode(() => decodeManifest(m.id, bytes.subarray(0, bytes.length - 1), metaKey), 'CORRUPT', /mfz3k2a9q7hx/);
      assertCode(() => decodeManifest(m.id, Buffer.concat([bytes, Buffer.from('!')]), metaKey), 'CORRUPT');
      assertCode(() => decodeManifest(m.id, bytes.subarray(0, 3), metaKey), 'CORRUPT');
    });
  });
}

describe('encrypted manifests', () => {
  const metaKey = randomBytes(32);
  const m = manifest();
  const bytes = encodeManifest(m, metaKey);

  it('any flipped bit of the body → CORRUPT (fails authentication)', () => {
    for (let i = 8; i < bytes.length; i += 5) {
      const damaged = Buffer.from(bytes);
      damaged[i]! ^= 0x04;
      assertCode(() => decodeManifest(m.id, damaged, metaKey), 'CORRUPT', /fails authentication/);
    }
  });

  it('another metaKey → CORRUPT', () => {
    assertCode(() => decodeManifest(m.id, bytes, randomBytes(32)), 'CORRUPT', /fails authentication/);
  });

  it('read without a metaKey → CORRUPT', () => {
    assertCode(() => decodeManifest(m.id, bytes, undefined), 'CORRUPT', /encrypted/);
  });

  it('hides names and metadata', () => {
    for (const secret of ['state.bin', 'my-project', 'OPS-17', '/srv/my-project']) assert.equal(bytes.indexOf(secret), -1, secret);
  });
});

describe('manifest validation', () => {
  it('refuses JSON that is not a manifest', () => {
    const id = 'mfz3k2a9q7hx';
    const base = JSON.parse(JSON.stringify({ ...manifest(id), entries: manifest(id).entries.map((e) => ({ ...e, chunks: e.chunks.toString('base64') })) }));
    assert.equal(decodeManifest(id, rawManifestFile(base), undefined).id, id, 'the unmodified JSON decodes');
    const cases: Array<[string, unknown, RegExp]> = [
      ['null', null, /not an object/],
      ['no entries', { ...base, entries: undefined }, /no entries/],
      ['unknown entry kind', { ...base, entries: [{ ...base.entries[0], kind: 'socket' }] }, /malformed entry/],
      ['entry without chunks', { ...base, entries: [{ ...base.entries[0], chunks: undefined }] }, /malformed entry/],
      ['chunk list of a wrong length', { ...base, entries: [{ ...base.entries[0], chunks: Buffer.alloc(35).toString('base64') }] }, /malformed chunk list/],
    ];
    for (const [label, json, pattern] of cases) {
      const err = assertCode(() => decodeManifest(id, rawManifestFile(json), undefined), 'CORRUPT', pattern);
      assert.match(err.message, new RegExp(id), label);
    }
  });

  it('refuses a file that is not zstd-compressed JSON', () => {
    const header = Buffer.from('AVMF\x01\x00\x00\x00', 'latin1');
    assertCode(() => decodeManifest('mfz3k2a9q7hx', Buffer.concat([header, Buffer.from('{"version":1}')]), undefined), 'CORRUPT', /cannot decode/);
  });
});

describe('chunkRefs', () => {
  it('yields every chunk id and plain length of an entry, in order', () => {
    const refs: Array<[number, number]> = [[9, 2048], [8, 65_536], [9, 2048], [7, 1]];
    const entry: ManifestEntry = { name: 'x', kind: 'file', size: 2048 + 65_536 + 2048 + 1, chunks: chunkTable(refs) };
    assert.equal(entry.chunks.length, refs.length * CHUNK_REF_LENGTH);
    assert.equal(chunkCount(entry), refs.length);
    const got = [...chunkRefs(entry)];
    assert.equal(got.length, refs.length);
    for (const [i, ref] of got.entries()) {
      assert.ok(ref.id.equals(Buffer.alloc(32, refs[i]![0])), `id of chunk ${i}`);
      assert.equal(ref.id.length, 32);
      assert.equal(ref.size, refs[i]![1], `size of chunk ${i}`);
    }
    assert.equal(got.reduce((n, r) => n + r.size, 0), entry.size);
  });

  it('yields nothing for an entry without chunks', () => {
    const entry: ManifestEntry = { name: 'd', kind: 'directory', size: 0, chunks: Buffer.alloc(0) };
    assert.deepEqual([...chunkRefs(entry)], []);
    assert.equal(chunkCount(entry), 0);
  });

  it('reads the chunk table as stored: 32-byte id then u32 little-endian length', () => {
    const raw = Buffer.alloc(2 * CHUNK_REF_LENGTH);
    raw.fill(0xaa, 0, 32);
    raw.writeUInt32LE(0x01020304, 32);
    raw.fill(0xbb, 36, 68);
    raw.writeUInt32LE(5, 68);
    const refs = [...chunkRefs({ name: 'x', kind: 'stdin', size: 0, chunks: raw })];
    assert.deepEqual(
      refs.map((r) => [r.id[0], r.id[31], r.size]),
      [
        [0xaa, 0xaa, 0x01020304],
        [0xbb, 0xbb, 5],
      ],
    );
    assert.ok(chunkTable([[0xaa, 0x01020304], [0xbb, 5]]).equals(raw), 'ChunkTableBuilder writes the same layout');
  });

  it('survives the manifest round trip', () => {
    const m = manifest();
    const metaKey = randomBytes(32);
    const decoded = decodeManifest(m.id, encodeManifest(m, metaKey), metaKey);
    for (const [i, entry] of m.entries.entries()) {
      const want = [...chunkRefs(entry)].map((r) => [r.id.toString('hex'), r.size]);
      const got = [...chunkRefs(decoded.entries[i]!)].map((r) => [r.id.toString('hex'), r.size]);
      assert.deepEqual(got, want, entry.name);
    }
  });
});

describe('large manifests', () => {
  it('a chunk table longer than one base64 slice, not a multiple of 3 bytes, round-trips and its JSON is standard', async () => {
    const { Decompressor } = await import('zstd-napi');
    const big = randomBytes(CHUNK_REF_LENGTH * 100_001); // 3.6 MB: two slices and a remainder
    const m = manifest('mfz3k2abig01', {
      entries: [
        { name: 'a "quoted" \\ name', kind: 'file', size: 1, chunks: big },
        { name: 'second', kind: 'file', size: 5, chunks: chunkTable([[4, 5]]) },
      ],
    });
    for (const key of [undefined, randomBytes(32)]) {
      const decoded = decodeManifest(m.id, encodeManifest(m, key), key);
      assert.ok(decoded.entries[0]!.chunks.equals(big));
      assert.equal(decoded.entries[0]!.name, 'a "quoted" \\ name');
      assert.ok(decoded.entries[1]!.chunks.equals(m.entries[1]!.chunks));
    }
    const plain = encodeManifest(m, undefined);
    const text = new Decompressor().decompress(plain.subarray(8));
    // Compressed as it is made, the frame still declares its size, as a one-shot compression does.
    assert.equal(zstd.getFrameContentSize(plain.subarray(8)), text.length);
    const json = JSON.parse(text.toString('utf8'));
    const expected = JSON.parse(JSON.stringify({ ...m, entries: m.entries.map((e) => ({ ...e, chunks: e.chunks.toString('base64') })) }));
    assert.deepEqual(json, expected, 'the same JSON a plain JSON.stringify of the manifest gives');
  });
});
