// The emulator's building blocks checked against the agent's own code and Node's: hash trees
// (agent `reconstruct` / `lookup_path`), Wasm modules (`WebAssembly.validate`), PEM (node:crypto),
// and the deterministic memory content.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import { lookup_path, reconstruct as agentReconstruct, LookupPathStatus } from '@dfinity/agent';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { Principal } from '@dfinity/principal';
import {
  buildWasmModule,
  ed25519SecretKeyFromPem,
  ed25519SecretKeyToPem,
  fillMemory,
  inspectWasmModule,
  Replica,
  type WasmGlobal,
} from '../src/testing/index.js';
import { decodeLeb128, encodeLeb128, hashTreeFromLeaves, label, reconstruct } from '../src/testing/replica/hash-tree.js';

test('hash trees: the agent reconstructs the same root and finds every leaf', async () => {
  const requestIds = [new Uint8Array(32).fill(0xff), new Uint8Array(32).fill(0x01), new Uint8Array(32).fill(0x80)];
  const leaves = [
    { path: [label('time')], value: encodeLeb128(123n) },
    ...requestIds.flatMap((id, i) => [
      { path: [label('request_status'), id, label('status')], value: label('replied') },
      { path: [label('request_status'), id, label('reply')], value: new Uint8Array([i]) },
    ]),
    { path: [label('subnet'), new Uint8Array([7]), label('public_key')], value: new Uint8Array([1]) },
    { path: [label('subnet'), new Uint8Array([7]), label('canister_ranges')], value: new Uint8Array([2]) },
    { path: [label('subnet'), new Uint8Array([7]), label('node'), new Uint8Array([9]), label('public_key')], value: new Uint8Array([3]) },
  ];
  const tree = hashTreeFromLeaves(leaves);
  assert.deepEqual(Buffer.from(reconstruct(tree)), Buffer.from(await agentReconstruct(tree)));
  for (const leaf of leaves) {
    const found = lookup_path(leaf.path, tree);
    assert.equal(found.status, LookupPathStatus.Found);
    assert.deepEqual(found.status === LookupPathStatus.Found && Buffer.from(found.value), Buffer.from(leaf.value));
  }
  assert.equal(lookup_path([label('request_status'), new Uint8Array(32).fill(0x42), label('status')], tree).status, LookupPathStatus.Absent);
});

test('hash trees: sibling labels that agent-js would misread are refused', () => {
  assert.throws(
    () =>
      hashTreeFromLeaves([
        { path: [label('canister')], value: new Uint8Array(1) },
        { path: [label('canister_ranges')], value: new Uint8Array(1) },
      ]),
    /prefix/,
  );
});

test('LEB128 round trips', () => {
  for (const value of [0n, 1n, 127n, 128n, 300n, 2n ** 63n, 2n ** 64n - 1n]) assert.equal(decodeLeb128(encodeLeb128(value)), value);
  assert.deepEqual([...encodeLeb128(624485n)], [0xe5, 0x8e, 0x26]);
});

/** Node's WebAssembly global (not in the project's `lib`, which has no DOM/WebAssembly types). */
const wasm = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly;

test('generated Wasm modules are valid and expose their globals and memory', () => {
  const globals: WasmGlobal[] = [{ i32: -1 }, { i64: -(2n ** 63n) }, { f32: 1.5 }, { f64: -0.25 }, { v128: 2n ** 128n - 1n }];
  for (const sizeBytes of [0, 1000, 65_536, 1_000_003]) {
    const module = buildWasmModule({ globals, memoryPages: 3, sizeBytes, seed: sizeBytes });
    if (sizeBytes > 200) assert.equal(module.length, sizeBytes);
    assert.ok(wasm.validate(module), `module of ${sizeBytes} bytes is valid Wasm`);
    const info = inspectWasmModule(module);
    assert.deepEqual(info.exportedGlobals, globals);
    assert.equal(info.memoryMinPages, 3);
    assert.deepEqual(inspectWasmModule(gzipSync(module)).exportedGlobals, globals);
  }
  assert.throws(() => inspectWasmModule(new Uint8Array(10)), /Failed to decode wasm module/);
});

test('Ed25519 PEM: dfx layout round trip, OpenSSL PKCS#8 v1 accepted', () => {
  const identity = Ed25519KeyIdentity.generate();
  const secretKey = identity.getKeyPair().secretKey.slice(0, 32);
  assert.deepEqual(Buffer.from(ed25519SecretKeyFromPem(ed25519SecretKeyToPem(secretKey))), Buffer.from(secretKey));

  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const fromOpenSsl = Ed25519KeyIdentity.fromSecretKey(ed25519SecretKeyFromPem(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()));
  const rawPublicKey = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  assert.deepEqual(Buffer.from(fromOpenSsl.getPublicKey().toRaw()), rawPublicKey);
});

test('memory content is deterministic; random page writes touch exactly the returned pages', () => {
  const a = Buffer.alloc(32 * 65536);
  const b = Buffer.alloc(32 * 65536);
  fillMemory(a, 'canister-like', 'seed');
  fillMemory(b, 'canister-like', 'seed');
  assert.ok(a.equals(b));

  const replica = new Replica();
  const canister = replica.canister(replica.createCanister({ heap: { bytes: 16 * 65536, content: 'zero' } }).id);
  const offsets = canister.writeRandomPages('heap', 10, 4096, 'pages');
  assert.equal(new Set(offsets).size, 10);
  assert.deepEqual(offsets, [...offsets].sort((x, y) => x - y));
  for (let offset = 0; offset < canister.heap.length; offset += 4096) {
    const page = canister.heap.subarray(offset, offset + 4096);
    assert.equal(page.some((byte) => byte !== 0), offsets.includes(offset), `page at ${offset}`);
  }
  assert.equal(canister.id.toText(), Principal.fromUint8Array(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1, 1])).toText());
});
