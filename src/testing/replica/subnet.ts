// The one subnet the emulator runs: its root key (no NNS delegation, like a local replica), its id
// (self-authenticating id of the root key, which the agent assumes without a delegation), one node
// whose Ed25519 key signs query responses, and the canister id range it hosts.
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
  readonly subnetId: Principal;
  readonly nodeId: Principal;
  /** 44-byte DER: the agent rejects node keys of any other length. */
  readonly nodePublicKeyDer: Uint8Array;
  readonly rangeStart: Principal;
  readonly rangeEnd: Principal;
  readonly #nodeSecretKey: Uint8Array;

  constructor() {
    this.signer = CertificateSigner.generate();
    this.subnetId = Principal.selfAuthenticating(this.signer.rootKeyDer);
    this.#nodeSecretKey = ed25519.utils.randomSecretKey();
    this.nodePublicKeyDer = wrapDER(ed25519.getPublicKey(this.#nodeSecretKey), ED25519_OID);
    this.nodeId = Principal.selfAuthenticating(this.nodePublicKeyDer);
    this.rangeStart = canisterIdFromIndex(0n);
    this.rangeEnd = canisterIdFromIndex(CANISTER_RANGE_SIZE - 1n);
  }

  get rootKeyDer(): Uint8Array {
    return this.signer.rootKeyDer;
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
    const subnet = [label('subnet'), this.subnetId.toUint8Array()];
    return [
      {
        path: [...subnet, label('canister_ranges')],
        value: Cbor.encode([[this.rangeStart.toUint8Array(), this.rangeEnd.toUint8Array()]]),
      },
      { path: [...subnet, label('public_key')], value: this.rootKeyDer },
      { path: [...subnet, label('node'), this.nodeId.toUint8Array(), label('public_key')], value: this.nodePublicKeyDer },
    ];
  }

  /** `ed25519("\x0Bic-response" ‖ hashOfMap(response + timestamp + request_id))`. */
  signQueryResponse(response: SignedQueryResponse, requestId: Uint8Array, timestampNs: bigint): NodeSignature {
    const hash = hashOfMap({ ...response, timestamp: timestampNs, request_id: requestId });
    const signature = ed25519.sign(concatBytes(IC_RESPONSE_DOMAIN_SEPARATOR, hash), this.#nodeSecretKey);
    return { timestamp: timestampNs, signature, identity: this.nodeId.toUint8Array() };
  }
}
