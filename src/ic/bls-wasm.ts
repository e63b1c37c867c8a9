// BLS signature verification for IC certificates with the pairing in WebAssembly (mcl-wasm).
//
// A certificate's signature is a BLS12-381 "short" signature: the signature is a point of G1
// (48 bytes compressed), the subnet's public key a point of G2 (96 bytes), and the message is
// hashed to G1 with RFC 9380's BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_ suite. The agent
// checks it with @noble/curves in JavaScript, ~25 ms per certificate here, the largest CPU item
// of a canister download once the reply's hash left JavaScript (certified-reply.ts). This does
// the same check in ~4.5 ms:
//   - the message is hashed to the curve as RFC 9380 and the agent do: @noble/curves draws the
//     field elements with the suite's domain tag (mcl-wasm cannot be given one), mcl maps them;
//   - the signature and the key are decoded by mcl, which refuses points off the curve or outside
//     the prime-order subgroup (order checks are switched on explicitly);
//   - e(H(m), -pk) · e(sig, g2) = 1 is one two-pair Miller loop and one final exponentiation, with
//     the lines of -pk and g2 precomputed once per key (a subnet signs every certificate with one).
// The verdicts are the agent's: test/bls-wasm.test.ts holds both to the same cases. Where
// WebAssembly cannot run (node --jitless), the agent's own check is used.
import { blsVerify } from '@dfinity/agent';
import { hash_to_field } from '@noble/curves/abstract/hash-to-curve';
import { bls12_381 } from '@noble/curves/bls12-381';
import { sha256 } from '@noble/hashes/sha2';
import * as mcl from 'mcl-wasm';

const SIGNATURE_DST = 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_';
const SIGNATURE_BYTES = 48;
const PUBLIC_KEY_BYTES = 96;
/** Keys whose precomputed lines are kept: the NNS root key and a subnet's key or two. */
const KEYS_KEPT = 4;

interface Pairing {
  g2: mcl.PrecomputedG2;
  keys: Map<string, mcl.PrecomputedG2>;
}

let ready: Promise<Pairing | undefined> | undefined;

/** mcl's state, or undefined where WebAssembly cannot run (node --jitless): the agent's check then. */
function pairing(): Promise<Pairing | undefined> {
  ready ??= (async () => {
    await mcl.init(mcl.BLS12_381);
    // The IC encodes points as Zcash and Ethereum do (compressed, flag bits in the first byte).
    mcl.setETHserialization(true);
    mcl.verifyOrderG1(true);
    mcl.verifyOrderG2(true);
    mcl.setMapToMode(mcl.IRTF);
    const g2 = new mcl.G2();
    g2.deserialize(bls12_381.G2.Point.BASE.toBytes(true));
    return { g2: new mcl.PrecomputedG2(g2), keys: new Map() };
  })().catch(() => undefined);
  return ready;
}

// RFC 9380's hash_to_field for the suite: expand_message_xmd with SHA-256, k = 128, one element.
const HASH_TO_FIELD = { DST: SIGNATURE_DST, p: bls12_381.fields.Fp.ORDER, m: 1, k: 128, expand: 'xmd', hash: sha256 } as const;

function fieldElement(value: bigint): mcl.Fp {
  const element = new mcl.Fp();
  element.setStr(value.toString(16), 16);
  return element;
}

/**
 * RFC 9380 hash_to_curve into G1: the two field elements are drawn by @noble/curves, mapped and
 * cleared by mcl (its IRTF map-to mode is the RFC's simplified SWU, 11-isogeny and h_eff; mapping
 * each element and clearing it before the sum equals clearing the sum). ~0.8 ms against noble's
 * ~3 ms, most of which is noble checking the subgroup of a point it has just cleared.
 */
function hashToG1(msg: Uint8Array): mcl.G1 {
  const [[u0], [u1]] = hash_to_field(msg, 2, HASH_TO_FIELD) as [[bigint], [bigint]];
  return mcl.add(fieldElement(u0).mapToG1(), fieldElement(u1).mapToG1());
}

/**
 * Whether `bytes` decode into `point` as a point other than the identity. mcl throws on encodings
 * that are malformed, off the curve, or (order checks on) outside the prime-order subgroup.
 */
function decodes(point: mcl.G1 | mcl.G2, bytes: Uint8Array): boolean {
  try {
    point.deserialize(bytes);
  } catch {
    return false;
  }
  return !point.isZero();
}

/** The precomputed lines of -pk, or undefined when `pk` is not a valid public key. */
function negatedKeyLines(state: Pairing, pk: Uint8Array): mcl.PrecomputedG2 | undefined {
  const id = Buffer.from(pk).toString('hex');
  const known = state.keys.get(id);
  if (known) return known;
  const key = new mcl.G2();
  if (!decodes(key, pk)) return undefined;
  if (state.keys.size >= KEYS_KEPT) {
    const [oldest, lines] = state.keys.entries().next().value!;
    state.keys.delete(oldest);
    lines.destroy();
  }
  const lines = new mcl.PrecomputedG2(mcl.neg(key));
  state.keys.set(id, lines);
  return lines;
}

/**
 * Whether `sig` is `pk`'s BLS signature of `msg`, with the same verdicts as the agent's
 * `blsVerify` (@dfinity/agent, @noble/curves), for Certificate.create's `blsVerify` option.
 */
export async function wasmBlsVerify(pk: Uint8Array, sig: Uint8Array, msg: Uint8Array): Promise<boolean> {
  if (pk.length !== PUBLIC_KEY_BYTES || sig.length !== SIGNATURE_BYTES) return false;
  const state = await pairing();
  if (!state) return blsVerify(pk, sig, msg);
  const keyLines = negatedKeyLines(state, pk);
  if (!keyLines) return false;
  const signature = new mcl.G1();
  if (!decodes(signature, sig)) return false;
  const hashed = hashToG1(msg);
  if (hashed.isZero()) return false;
  return mcl.finalExp(mcl.precomputedMillerLoop2(hashed, keyLines, signature, state.g2)).isOne();
}
