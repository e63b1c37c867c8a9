// The subnet's BLS12-381 threshold key, reduced to one key held by the emulator, and the
// certificates it signs: CBOR `{ tree, signature, delegation? }` over `"\x0Dic-state-root" ‖
// root_hash`; `delegation` when the root (NNS) key signed for the subnet's key, as on mainnet.
import { BLS12_381_G2_OID, Cbor, type HashTree, wrapDER } from '@dfinity/agent';
import { bls12_381 } from '@noble/curves/bls12-381';
import { concatBytes } from '@noble/hashes/utils';
import { encodeLeb128, hashTreeFromLeaves, label, reconstruct, type CertifiedLeaf } from './hash-tree.js';

/**
 * The agent accepts a root key only as DER with exactly this 37-byte prefix followed by the
 * 96-byte G2 point; a raw key fails with `DerKeyLengthMismatch`.
 */
export const BLS_ROOT_KEY_DER_PREFIX = Uint8Array.from(
  Buffer.from('308182301d060d2b0601040182dc7c0503010201060c2b0601040182dc7c05030201036100', 'hex'),
);

const STATE_ROOT_SEPARATOR = concatBytes(Uint8Array.of(13), label('ic-state-root'));

/** What a subnet's certificates carry when the subnet's key is not the root key. */
export interface Delegation {
  readonly subnet_id: Uint8Array;
  /** A certificate signed by the root (NNS) key over the subnet's key and canister ranges. */
  readonly certificate: Uint8Array;
}

export class CertificateSigner {
  /** DER-wrapped BLS public key: `/api/v2/status`'s `root_key` when this signs for the root. */
  readonly rootKeyDer: Uint8Array;
  readonly #secretKey: Uint8Array;
  /** Set on a subnet's signer whose key the root delegated to: sent with every certificate. */
  delegation: Delegation | undefined;

  private constructor(secretKey: Uint8Array) {
    this.#secretKey = secretKey;
    // Short signatures: 48-byte signatures in G1, 96-byte keys in G2, as the IC uses them.
    const publicKey = bls12_381.shortSignatures.getPublicKey(secretKey).toBytes(true);
    this.rootKeyDer = wrapDER(publicKey, BLS12_381_G2_OID);
    if (!startsWith(this.rootKeyDer, BLS_ROOT_KEY_DER_PREFIX) || this.rootKeyDer.length !== 133) {
      throw new Error('BLS root key DER does not have the prefix the agent requires');
    }
  }

  /** A fresh key, like a freshly started local replica. */
  static generate(): CertificateSigner {
    return new CertificateSigner(bls12_381.utils.randomSecretKey());
  }

  /**
   * Certifies `leaves` plus the mandatory `/time` leaf. `timeNs` is the emulator's clock; the
   * agent rejects certificates more than five minutes away from its own (adjusted) clock.
   */
  certify(leaves: readonly CertifiedLeaf[], timeNs: bigint): Uint8Array {
    const tree = hashTreeFromLeaves([...leaves, { path: [label('time')], value: encodeLeb128(timeNs) }]);
    return this.signTree(tree);
  }

  signTree(tree: HashTree): Uint8Array {
    const message = concatBytes(STATE_ROOT_SEPARATOR, reconstruct(tree));
    const { shortSignatures } = bls12_381;
    const point = shortSignatures.sign(shortSignatures.hash(message), this.#secretKey);
    const signature = shortSignatures.Signature.toBytes(point);
    return Cbor.encode(this.delegation ? { tree, signature, delegation: this.delegation } : { tree, signature });
  }
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return prefix.every((byte, i) => bytes[i] === byte);
}
