// encodeWithBlob (src/ic/blob-arg.ts): byte for byte what @dfinity/candid's IDL.encode writes,
// for upload_canister_snapshot_data's argument with every kind and blob lengths around the
// LEB128 steps, for a blob in any position of a record, and for values it does not splice.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { encodeWithBlob } from '../src/ic/blob-arg.js';

const UPLOAD = IDL.Record({
  canister_id: IDL.Principal,
  snapshot_id: IDL.Vec(IDL.Nat8),
  kind: IDL.Variant({ wasm_module: IDL.Record({ offset: IDL.Nat64 }), wasm_memory: IDL.Record({ offset: IDL.Nat64 }), stable_memory: IDL.Record({ offset: IDL.Nat64 }), wasm_chunk: IDL.Null }),
  chunk: IDL.Vec(IDL.Nat8),
});
const canister = Principal.fromText('ryjl3-tyaaa-aaaaa-aaaba-cai');

describe('encodeWithBlob', () => {
  test('the same bytes as IDL.encode for uploads of every kind and size', () => {
    const kinds = [{ wasm_module: { offset: 0n } }, { wasm_memory: { offset: 2_000_000n * 300n } }, { stable_memory: { offset: 2n ** 64n - 1n } }, { wasm_chunk: null }];
    for (const kind of kinds) {
      for (const size of [0, 1, 127, 128, 16_383, 16_384, 2_000_000]) {
        const value = { canister_id: canister, snapshot_id: randomBytes(18), kind, chunk: randomBytes(size) };
        assert.deepEqual(Buffer.from(encodeWithBlob(UPLOAD, value, 'chunk')), Buffer.from(IDL.encode([UPLOAD], [value])), `${Object.keys(kind)[0]}, ${size} bytes`);
      }
    }
  });

  test('the blob may sit anywhere among the fields, and begin with the marker byte', () => {
    const type = IDL.Record({ a: IDL.Text, zzz: IDL.Vec(IDL.Nat8), b: IDL.Opt(IDL.Nat), m: IDL.Vec(IDL.Nat8) });
    for (const field of ['zzz', 'm']) {
      for (const blob of [randomBytes(300), Uint8Array.of(0xa5, 0xa5, 1), new Uint8Array(0)]) {
        const value = { a: 'text', zzz: randomBytes(5), b: [7n], m: randomBytes(9), [field]: blob };
        assert.deepEqual(Buffer.from(encodeWithBlob(type, value, field)), Buffer.from(IDL.encode([type], [value])));
      }
    }
  });

  test('a field that is not a Uint8Array is left to IDL.encode', () => {
    const value = { canister_id: canister, snapshot_id: [1, 2], kind: { wasm_chunk: null }, chunk: [1, 2, 3] };
    assert.deepEqual(Buffer.from(encodeWithBlob(UPLOAD, value, 'chunk')), Buffer.from(IDL.encode([UPLOAD], [value])));
  });
});
