// sealZstd / openSealedZstd: the metadata files' body (manifests, index files), written piece by piece.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { zstd } from '../src/codecs/zstd-binding.js';
import { openSealedZstd, sealZstd } from '../src/repository/sealed.js';
import { seededBytes } from './helpers/tmp.js';

const HEAD = Buffer.from('TEST\x01\x00\x00\x00', 'latin1');
const AAD = Buffer.from('aad');

/** Compressible text and random bytes, cut into pieces of uneven sizes. */
function pieces(): Buffer[] {
  const text = Buffer.from('{"name":"entry","size":1234}'.repeat(40_000));
  return [text.subarray(0, 1), seededBytes(300_000, 5), text.subarray(1, 700_001), Buffer.alloc(0), text.subarray(700_001)];
}

describe('sealZstd', () => {
  for (const encrypted of [false, true]) {
    it(`${encrypted ? 'sealed' : 'plain'}: the pieces come back whole, behind the head, as one zstd frame that declares its size`, () => {
      const key = encrypted ? randomBytes(32) : undefined;
      const parts = pieces();
      const whole = Buffer.concat(parts);
      const file = sealZstd(HEAD, parts, whole.length, key, AAD);
      assert.ok(file.subarray(0, HEAD.length).equals(HEAD));
      const body = file.subarray(HEAD.length);
      assert.ok(openSealedZstd(body, key, AAD, 'test file', 'fails authentication').equals(whole));
      assert.ok(body.length < whole.length, 'compressed');
      if (!encrypted) assert.equal(zstd.getFrameContentSize(body), whole.length);
      else {
        assert.equal(body.indexOf(Buffer.from('"name":"entry"')), -1, 'nothing readable');
        assert.throws(() => openSealedZstd(body, key, Buffer.from('other aad'), 'test file', 'fails authentication'), /test file fails authentication/);
      }
    });
  }

  it('refuses pieces that do not add up to the length given', () => {
    const parts = pieces();
    const whole = Buffer.concat(parts);
    assert.throws(() => sealZstd(HEAD, parts, whole.length + 1, undefined, AAD));
    assert.throws(() => sealZstd(HEAD, parts, whole.length - 1, undefined, AAD));
  });
});

describe('openSealedZstd', () => {
  /** A zstd frame streamed without a pledged size: its header does not declare the content size. */
  function frameWithoutSize(plain: Buffer): Buffer {
    const cctx = new zstd.CCtx();
    const out = Buffer.alloc(zstd.compressBound(plain.length) + 64);
    let at = cctx.compressStream2(out, plain, zstd.EndDirective.continue)[1];
    for (;;) {
      const [left, written] = cctx.compressStream2(out.subarray(at), Buffer.alloc(0), zstd.EndDirective.end);
      at += written;
      if (left === 0) break;
    }
    return out.subarray(0, at);
  }

  it('opens a frame that does not declare its size (older writers), the same bytes', () => {
    const plain = Buffer.concat(pieces());
    const frame = frameWithoutSize(plain);
    assert.equal(zstd.getFrameContentSize(frame), null);
    assert.ok(openSealedZstd(frame, undefined, AAD, 'test file', 'fails authentication').equals(plain));
  });

  it('a frame that is not zstd, or cut short, is CORRUPT with the message given', () => {
    const file = sealZstd(HEAD, pieces(), Buffer.concat(pieces()).length, undefined, AAD).subarray(HEAD.length);
    for (const body of [Buffer.from('not a zstd frame at all'), file.subarray(0, file.length >> 1)]) {
      assert.throws(() => openSealedZstd(body, undefined, AAD, 'test file', 'fails authentication', 'is corrupt (cannot decode)'), /test file is corrupt \(cannot decode\)/);
    }
  });
});

