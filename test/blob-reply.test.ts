// decodeBlobField (src/ic/blob-reply.ts): the fast path reads `record { chunk : blob }` in
// either type-table order as a view into the reply; anything else goes to @dfinity/candid.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { IDL } from '@dfinity/candid';
import { decodeBlobField } from '../src/ic/blob-reply.js';
import { candidFieldId } from '../src/ic/candid-reader.js';

const REPLY = IDL.Record({ chunk: IDL.Vec(IDL.Nat8) });
const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
};

test('field ids are Candid’s: the id @dfinity/candid writes into a one-field record type', () => {
  for (const label of ['chunk', 'canister_id', 'a', 'ab']) {
    const bytes = IDL.encode([IDL.Record({ [label]: IDL.Null })], [{ [label]: null }]);
    // "DIDL", 1 type, record (0x6c), 1 field, then the field id as unsigned LEB128.
    let id = 0;
    let scale = 1;
    for (let i = 7; ; i++, scale *= 128) {
      id += (bytes[i]! & 0x7f) * scale;
      if (bytes[i]! < 0x80) break;
    }
    assert.equal(candidFieldId(label), id, label);
  }
  assert.equal(candidFieldId('ab'), 97 * 223 + 98);
});

test('a reply encoded by @dfinity/candid: the blob, as a view into the reply', () => {
  for (const size of [0, 1, 127, 128, 2_000_000]) {
    const blob = randomBytes(size);
    const reply = IDL.encode([REPLY], [{ chunk: blob }]);
    const out = decodeBlobField(reply, 'chunk');
    assert.ok(Buffer.from(out).equals(blob), `size ${size}`);
    assert.equal(out.buffer, reply.buffer, 'not copied: the fast path');
  }
});

test('the type table in the other order (vec first) is read by the fast path too', () => {
  const blob = randomBytes(300);
  const id = candidFieldId('chunk');
  // table: [0] vec nat8, [1] record { chunk: 0 }; one argument of type 1.
  const reply = Uint8Array.from([0x44, 0x49, 0x44, 0x4c, 2, 0x6d, 0x7b, 0x6c, 1, ...uleb(id), 0, 1, 1, ...uleb(blob.length), ...blob]);
  const out = decodeBlobField(reply, 'chunk');
  assert.ok(Buffer.from(out).equals(blob));
  assert.equal(out.buffer, reply.buffer);
  assert.deepEqual(IDL.decode([REPLY], reply), [{ chunk: Uint8Array.from(blob) }], 'and it is what candid reads');
});

test('other shapes go to @dfinity/candid: an extra field is decoded, a wrong type throws; a blob whose length disagrees with the message throws', () => {
  const blob = randomBytes(50);
  const extra = IDL.encode([IDL.Record({ chunk: IDL.Vec(IDL.Nat8), note: IDL.Text })], [{ chunk: blob, note: 'x' }]);
  assert.ok(Buffer.from(decodeBlobField(extra, 'chunk')).equals(blob));
  assert.throws(() => decodeBlobField(IDL.encode([IDL.Record({ chunk: IDL.Text })], [{ chunk: 'no' }]), 'chunk'));
  assert.throws(() => decodeBlobField(IDL.encode([IDL.Record({ other: IDL.Vec(IDL.Nat8) })], [{ other: blob }]), 'chunk'));
  const good = IDL.encode([REPLY], [{ chunk: blob }]);
  assert.throws(() => decodeBlobField(good.subarray(0, good.length - 1), 'chunk'), /cut short/, '@dfinity/candid itself returns a short blob here');
  assert.throws(() => decodeBlobField(Uint8Array.from([...good, 0]), 'chunk'), /left over/);
  assert.throws(() => decodeBlobField(Uint8Array.from([0x44, 0x49, 0x44]), 'chunk'), 'no magic');
});
