// The one subnet the emulator runs: its key, its id, one node whose Ed25519 key signs query
// responses, and the canister id range it hosts. By default the subnet's key is the root key, as
// on a local replica (and its id the self-authenticating id of that key, which the agent assumes
// without a delegation). With `nnsDelegation`, as on a mainnet application subnet, a separate
// root (NNS) key signs a delegation to the subnet's key and range, and every certificate
// carries it, so the agent checks two BLS signatures and the canister range per certificate.
import { Cbor, ED25519_OID, hashOfMap, IC_RESPONSE_DOMAIN_SEPARATOR, wrapDER } from '@dfinity/agent';
import { Principal } from '@dfinity/principal';
import { ed25519 } from '@noble/curves/ed25519';
import { concatBytes } from '@noble/hashes/utils';
import { CertificateSigner } from './certificate.js';
import { label, type CertifiedLeaf } from './hash-tree.js';

/** Fields of a query response that the node signature covers. */
export type SignedQueryResponse =
  | { status: 'replied'; reply: { arg: Uint8Array } }
  | { status: 'rejected'; reject_code: number; reject_message: string; error_code: string };

export interface NodeSignature {
  readonly timestamp: bigint;
  readonly signature: Uint8Array;
  readonly identity: Uint8Array;
}

/** Canister ids are an 8-byte big-endian index followed by 0x01 0x01. */
export function canisterIdFromIndex(index: bigint): Principal {
  const bytes = new Uint8Array(10);
  new DataView(bytes.buffer).setBigUint64(0, index);
  bytes[8] = 0x01;
  bytes[9] = 0x01;
  return Principal.fromUint8Array(bytes);
}

const CANISTER_RANGE_SIZE = 1n << 20n;

export class EmulatedSubnet {
  readonly signer: CertificateSigner;
  /** The NNS key that delegates to `signer`; undefined when `signer` holds the root key. */
  readonly root: CertificateSigner | undefined;
  readonly subnetId: Principal;
  readonly nodeId: Principal;
  /** 44-byte DER: the agent rejects node keys of any other length. */
  readonly nodePublicKeyDer: Uint8Array;
  readonly rangeStart: Principal;
  readonly rangeEnd: Principal;
  readonly #nodeSecretKey: Uint8Array;

  constructor(options: { nnsDelegation?: boolean; timeNs?: bigint } = {}) {
    this.signer = CertificateSigner.generate();
    this.subnetId = Principal.selfAuthenticating(this.signer.rootKeyDer);
    this.#nodeSecretKey = ed25519.utils.randomSecretKey();
    this.nodePublicKeyDer = wrapDER(ed25519.getPublicKey(this.#nodeSecretKey), ED25519_OID);
    this.nodeId = Principal.selfAuthenticating(this.nodePublicKeyDer);
    this.rangeStart = canisterIdFromIndex(0n);
    this.rangeEnd = canisterIdFromIndex(CANISTER_RANGE_SIZE - 1n);
    if (options.nnsDelegation) {
      this.root = CertificateSigner.generate();
      // The agent accepts a delegation up to 30 days old: one made at start-up serves the run.
      const timeNs = options.timeNs ?? BigInt(Date.now()) * 1_000_000n;
      const certificate = this.root.certify(this.#keyAndRangeLeaves(), timeNs);
      this.signer.delegation = { subnet_id: this.subnetId.toUint8Array(), certificate };
    }
  }

  /** The key the agent trusts (`/api/v2/status`'s `root_key`): the NNS key when delegated. */
  get rootKeyDer(): Uint8Array {
    return (this.root ?? this.signer).rootKeyDer;
  }

  /** The subnet's canister range and public key: what a delegation certifies, and what the subnet's own certificates show. */
  #keyAndRangeLeaves(): CertifiedLeaf[] {
    const subnet = [label('subnet'), this.subnetId.toUint8Array()];
    return [
      { path: [...subnet, label('canister_ranges')], value: Cbor.encode([[this.rangeStart.toUint8Array(), this.rangeEnd.toUint8Array()]]) },
      { path: [...subnet, label('public_key')], value: this.signer.rootKeyDer },
    ];
  }

  hostsCanister(id: Principal): boolean {
    return this.rangeStart.ltEq(id) && this.rangeEnd.gtEq(id);
  }

  /** The index of the n-th canister id of this subnet's range. */
  canisterIdAt(index: bigint): Principal {
    if (index < 0n || index >= CANISTER_RANGE_SIZE) throw new RangeError('the subnet has no more canister ids');
    return canisterIdFromIndex(index);
  }

  /**
   * Everything under `/subnet`: the range, the public key, and the node key that
   * `verifyQuerySignatures` needs.
   */
  subnetLeaves(): CertifiedLeaf[] {
    return [
      ...this.#keyAndRangeLeaves(),
      { path: [label('subnet'), this.subnetId.toUint8Array(), label('node'), this.nodeId.toUint8Array(), label('public_key')], value: this.nodePublicKeyDer },
    ];
  }

  /** `ed25519("\x0Bic-response" ‖ hashOfMap(response + timestamp + request_id))`. */
  signQueryResponse(response: SignedQueryResponse, requestId: Uint8Array, timestampNs: bigint): NodeSignature {
    const hash = hashOfMap({ ...response, timestamp: timestampNs, request_id: requestId });
    const signature = ed25519.sign(concatBytes(IC_RESPONSE_DOMAIN_SEPARATOR, hash), this.#nodeSecretKey);
    return { timestamp: timestampNs, signature, identity: this.nodeId.toUint8Array() };
  }
}
