// decodeUploadDataArgs (src/testing/replica/upload-args.ts), the emulator's fast decoder of
// upload_canister_snapshot_data's argument: the same values as @dfinity/candid's IDL.decode with
// the interface's own type for every kind, and undefined (so the emulator falls back to
// IDL.decode) for any other type and for a cut-short or over-long message.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { IDL } from '@dfinity/candid';
import { idlFactory } from '@dfinity/ic-management/dist/candid/ic-management.idl.js';
import type { upload_canister_snapshot_data_args } from '@dfinity/ic-management/dist/candid/ic-management.js';
import { Principal } from '@dfinity/principal';
import { decodeUploadDataArgs } from '../src/testing/replica/upload-args.js';

const service = idlFactory({ IDL }) as IDL.ServiceClass;
const uploadArgTypes = new Map(service._fields).get('upload_canister_snapshot_data')!.argTypes;
const canister = Principal.fromText('ryjl3-tyaaa-aaaaa-aaaba-cai');

const encode = (args: upload_canister_snapshot_data_args) => IDL.encode(uploadArgTypes, [args]);
const normalise = (a: upload_canister_snapshot_data_args) => ({ ...a, canister_id: a.canister_id.toText(), snapshot_id: Buffer.from(a.snapshot_id), chunk: Buffer.from(a.chunk) });

describe('decodeUploadDataArgs', () => {
  test('the same values as IDL.decode for every kind', () => {
    const kinds: Array<upload_canister_snapshot_data_args['kind']> = [
      { wasm_module: { offset: 0n } },
      { wasm_memory: { offset: 2_000_000n * 511n } },
      { stable_memory: { offset: 2n ** 64n - 1n } },
      { wasm_chunk: null },
    ];
    for (const kind of kinds) {
      for (const chunk of [new Uint8Array(0), randomBytes(1), randomBytes(2_000_000)]) {
        const args = { canister_id: canister, snapshot_id: randomBytes(18), kind, chunk };
        const bytes = encode(args);
        const ours = decodeUploadDataArgs(bytes);
        assert.ok(ours, `decoded ${Object.keys(kind)[0]} with a ${chunk.length}-byte chunk`);
        const theirs = IDL.decode(uploadArgTypes, bytes)[0] as unknown as upload_canister_snapshot_data_args;
        assert.deepEqual(normalise(ours), normalise(theirs));
        assert.equal((ours.chunk as Uint8Array).buffer, bytes.buffer, 'the chunk is a view into the message');
      }
    }
  });

  test('cut short, bytes left over, or another type: undefined, and IDL.decode decides', () => {
    const bytes = encode({ canister_id: canister, snapshot_id: randomBytes(18), kind: { wasm_memory: { offset: 5n } }, chunk: randomBytes(1000) });
    for (const broken of [Uint8Array.from([...bytes, 0]), bytes.subarray(0, 10), new Uint8Array(0), Uint8Array.from([1, 2, 3, 4, 5])]) {
      assert.equal(decodeUploadDataArgs(broken), undefined);
      assert.throws(() => IDL.decode(uploadArgTypes, broken));
    }
    // One byte short: @dfinity/candid 3.4 returns the chunk a byte short rather than refusing it.
    assert.equal(decodeUploadDataArgs(bytes.subarray(0, bytes.length - 1)), undefined);
    const others: Array<[IDL.Type[], unknown[]]> = [
      [[IDL.Record({ chunk: IDL.Vec(IDL.Nat8) })], [{ chunk: randomBytes(10) }]],
      [[IDL.Record({ canister_id: IDL.Principal, snapshot_id: IDL.Vec(IDL.Nat8), kind: IDL.Variant({ wasm_memory: IDL.Record({ offset: IDL.Nat64 }) }), chunk: IDL.Vec(IDL.Nat8), extra: IDL.Nat })], [{ canister_id: canister, snapshot_id: [1], kind: { wasm_memory: { offset: 1n } }, chunk: [2], extra: 3n }]],
      [[IDL.Record({ canister_id: IDL.Principal, snapshot_id: IDL.Vec(IDL.Nat8), kind: IDL.Variant({ wasm_memory: IDL.Record({ offset: IDL.Nat }) }), chunk: IDL.Vec(IDL.Nat8) })], [{ canister_id: canister, snapshot_id: [1], kind: { wasm_memory: { offset: 1n } }, chunk: [2] }]],
      [[IDL.Record({ canister_id: IDL.Principal, snapshot_id: IDL.Vec(IDL.Nat8), kind: IDL.Variant({ heap: IDL.Record({ offset: IDL.Nat64 }) }), chunk: IDL.Vec(IDL.Nat8) })], [{ canister_id: canister, snapshot_id: [1], kind: { heap: { offset: 1n } }, chunk: [2] }]],
    ];
    for (const [types, values] of others) assert.equal(decodeUploadDataArgs(IDL.encode(types, values)), undefined);
  });
});
