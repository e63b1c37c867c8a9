// Compression codecs (src/codecs/index.ts): round trips, the byte each codec is stored as, level
// validation, and CodecSet's reuse of codec instances.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CODEC_NAMES, CodecSet, codecByte, codecFromByte, createCodec, defaultLevel, isCodecName } from '../src/codecs/index.js';
import type { CodecName } from '../src/types.js';
import { seededBytes } from './helpers/tmp.js';

const TEXT = Buffer.from('agentvault streams, deduplicates and encrypts backups. '.repeat(300), 'utf8');

const INPUTS: ReadonlyArray<readonly [string, Buffer]> = [
  ['empty', Buffer.alloc(0)],
  ['1 byte', Buffer.from([0x5a])],
  ['text', TEXT],
  ['random', seededBytes(70_000, 11)],
];

describe('codecs', () => {
  it('lists exactly the four formats of docs/FORMAT.md', () => {
    assert.deepEqual([...CODEC_NAMES].sort(), ['brotli', 'gzip', 'none', 'zstd']);
    for (const name of CODEC_NAMES) assert.ok(isCodecName(name));
    assert.equal(isCodecName('lz4'), false);
    assert.equal(isCodecName('toString'), false, 'inherited object keys are not codecs');
  });

  for (const name of CODEC_NAMES) {
    describe(name, () => {
      for (const [label, input] of INPUTS) {
        it(`round-trips ${label} input`, () => {
          const codec = createCodec(name);
          const copy = Buffer.from(input);
          const stored = codec.compress(input);
          assert.ok(Buffer.isBuffer(stored));
          const plain = codec.decompress(stored, input.length);
          assert.ok(Buffer.isBuffer(plain));
          assert.equal(plain.length, input.length);
          assert.ok(plain.equals(input), `${name} changed ${label} input`);
          assert.ok(input.equals(copy), 'the input buffer is not modified');
        });
      }

      it('round-trips at the lowest and highest level', () => {
        const levels = name === 'none' ? [0] : name === 'zstd' ? [1, 19] : name === 'brotli' ? [0, 11] : [1, 9];
        for (const level of levels) {
          const codec = createCodec(name, level);
          assert.equal(codec.level, level);
          assert.ok(codec.decompress(codec.compress(TEXT), TEXT.length).equals(TEXT));
        }
      });

      it('keeps working when one instance is used for many inputs', () => {
        const codec = createCodec(name);
        const stored = INPUTS.map(([, input]) => codec.compress(input));
        // Decompress in another order than compressed: no state leaks between calls.
        for (let i = INPUTS.length - 1; i >= 0; i--) {
          const input = INPUTS[i]![1];
          assert.ok(codec.decompress(stored[i]!, input.length).equals(input));
        }
      });
    });
  }

  it('compresses text with every real codec and leaves `none` untouched', () => {
    for (const name of ['zstd', 'brotli', 'gzip'] as const) {
      assert.ok(createCodec(name).compress(TEXT).length < TEXT.length / 10, `${name} compresses repetitive text`);
    }
    assert.ok(createCodec('none').compress(TEXT).equals(TEXT));
  });

  it('output of one codec is not accepted by another', () => {
    const stored = createCodec('zstd').compress(TEXT);
    assert.throws(() => createCodec('gzip').decompress(stored, TEXT.length));
    assert.throws(() => createCodec('brotli').decompress(createCodec('gzip').compress(TEXT), TEXT.length));
  });
});

describe('compressInto / decompressInto (the workers\' no-allocation path)', () => {
  for (const name of CODEC_NAMES) {
    it(`${name}: reads back what compress writes, into and out of the caller's buffers`, () => {
      const codec = createCodec(name);
      const scratch = Buffer.alloc(codec.compressBound(70_000));
      for (const [label, input] of INPUTS) {
        const n = codec.compressInto(input, scratch);
        const stored = Buffer.from(scratch.subarray(0, n));
        assert.ok(codec.decompress(stored, input.length).equals(input), `${label}: compress() reads it`);
        const out = Buffer.alloc(input.length);
        assert.equal(codec.decompressInto(stored, out), input.length, label);
        assert.ok(out.equals(input), label);
      }
    });

    it(`${name}: output of the wrong length is never reported as the right one`, () => {
      const codec = createCodec(name);
      const input = INPUTS[2]![1];
      const scratch = Buffer.alloc(codec.compressBound(input.length));
      const stored = scratch.subarray(0, codec.compressInto(input, scratch));
      const short = Buffer.alloc(input.length - 1);
      let written: number | undefined;
      try {
        written = codec.decompressInto(stored, short);
      } catch {
        written = undefined; // refusing is fine too
      }
      assert.notEqual(written, short.length);
      const long = Buffer.alloc(input.length + 1);
      assert.notEqual(codec.decompressInto(stored, long), long.length);
    });
  }
});

describe('codec bytes', () => {
  const EXPECTED: Record<CodecName, number> = { none: 0, zstd: 1, brotli: 2, gzip: 3 };

  it('maps names to the bytes stored per chunk and back', () => {
    for (const [name, byte] of Object.entries(EXPECTED) as Array<[CodecName, number]>) {
      assert.equal(codecByte(name), byte, name);
      assert.equal(codecFromByte(byte), name, String(byte));
    }
  });

  it('refuses unknown bytes, naming the byte', () => {
    for (const byte of [4, 9, 255]) {
      assert.throws(() => codecFromByte(byte), (err: Error) => err.message.includes(`codec ${byte}`));
    }
  });
});

describe('compression levels', () => {
  it('uses the documented defaults', () => {
    const expected: Record<CodecName, number> = { none: 0, zstd: 3, brotli: 4, gzip: 6 };
    for (const name of CODEC_NAMES) {
      assert.equal(defaultLevel(name), expected[name]);
      assert.equal(createCodec(name).level, expected[name]);
      assert.equal(createCodec(name).name, name);
    }
  });

  const OUT_OF_RANGE: ReadonlyArray<readonly [CodecName, number, string]> = [
    ['none', 1, '0..0'],
    ['zstd', 0, '1..19'],
    ['zstd', 20, '1..19'],
    ['zstd', -1, '1..19'],
    ['brotli', -1, '0..11'],
    ['brotli', 12, '0..11'],
    ['gzip', 0, '1..9'],
    ['gzip', 10, '1..9'],
    ['zstd', 2.5, '1..19'],
    ['gzip', Number.NaN, '1..9'],
  ];
  for (const [name, level, range] of OUT_OF_RANGE) {
    it(`refuses ${name} level ${level} with a RangeError naming the range`, () => {
      assert.throws(
        () => createCodec(name, level),
        (err: unknown) => {
          assert.ok(err instanceof RangeError, `expected RangeError, got ${String(err)}`);
          assert.match(err.message, new RegExp(`level ${String(level).replace('.', '\\.')} is out of range for ${name} \\(${range.replace(/\./g, '\\.')}\\)`));
          return true;
        },
      );
    });
  }

  it('accepts the range ends', () => {
    assert.equal(createCodec('zstd', 1).level, 1);
    assert.equal(createCodec('zstd', 19).level, 19);
    assert.equal(createCodec('brotli', 0).level, 0);
    assert.equal(createCodec('brotli', 11).level, 11);
    assert.equal(createCodec('gzip', 1).level, 1);
    assert.equal(createCodec('gzip', 9).level, 9);
    assert.equal(createCodec('none', 0).level, 0);
  });
});

describe('CodecSet', () => {
  it('creates each codec once and then reuses the instance', () => {
    const set = new CodecSet();
    for (const name of CODEC_NAMES) {
      const first = set.get(name);
      assert.equal(first.name, name);
      assert.equal(first.level, defaultLevel(name));
      assert.equal(set.get(name), first, `${name} is reused`);
    }
    assert.notEqual(set.get('zstd'), set.get('gzip'));
  });

  it('keeps instances per set', () => {
    const a = new CodecSet();
    const b = new CodecSet();
    assert.notEqual(a.get('zstd'), b.get('zstd'));
  });

  it('decodes what createCodec encoded', () => {
    const set = new CodecSet();
    for (const name of CODEC_NAMES) {
      const stored = createCodec(name, name === 'none' ? 0 : 1).compress(TEXT);
      assert.ok(set.get(name).decompress(stored, TEXT.length).equals(TEXT));
    }
  });
});
