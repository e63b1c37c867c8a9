// Decoding and authenticating request envelopes: `{ content, sender_pubkey?, sender_sig?,
// sender_delegation? }` in CBOR, as `@dfinity/agent` sends them to /call, /query and /read_state.
import { createPublicKey, verify as verifySignatureWithKey, type KeyObject } from 'node:crypto';
import { Cbor, hashOfMap, requestIdOf } from '@dfinity/agent';
import { Principal } from '@dfinity/principal';
import { concatBytes } from '@noble/hashes/utils';
import { HttpProtocolError } from './errors.js';
import { label } from './hash-tree.js';

export type RequestType = 'call' | 'query' | 'read_state';

export interface CanisterCallContent {
  readonly canisterId: Principal;
  readonly methodName: string;
  readonly arg: Uint8Array;
}

export interface AuthenticatedRequest {
  readonly requestType: RequestType;
  /** `requestIdOf(content)`: identical to the id the agent computed before signing. */
  readonly requestId: Uint8Array;
  readonly sender: Principal;
  readonly ingressExpiryNs: bigint;
  /** Present for `call` and `query`. */
  readonly call?: CanisterCallContent;
  /** Present for `read_state`. */
  readonly paths?: readonly (readonly Uint8Array[])[];
}

/** The replica accepts expiries up to 5 minutes ahead plus a 30 s drift allowance. */
const MAX_INGRESS_TTL_NS = 5n * 60n * 1_000_000_000n;
const PERMITTED_DRIFT_NS = 30n * 1_000_000_000n;
const MAX_DELEGATIONS = 20;

const REQUEST_SEPARATOR = concatBytes(Uint8Array.of(10), label('ic-request'));
const DELEGATION_SEPARATOR = concatBytes(Uint8Array.of(26), label('ic-request-auth-delegation'));

const ANONYMOUS_SENDER = Uint8Array.of(0x04);

interface RawEnvelope {
  content: Record<string, unknown>;
  sender_pubkey?: unknown;
  sender_sig?: unknown;
  sender_delegation?: unknown;
}

/**
 * Decodes `body`, checks its type, expiry and signature, and returns what the handlers need.
 * Every failure is an HTTP 400 with a plain-text message, as the replica answers.
 */
export function authenticateRequest(body: Uint8Array, expectedType: RequestType, nowNs: bigint): AuthenticatedRequest {
  const envelope = decodeEnvelope(body);
  const content = envelope.content;
  if (content['request_type'] !== expectedType) {
    throw malformed(`expected request_type "${expectedType}", got ${JSON.stringify(content['request_type'])}`);
  }

  const sender = principalField(content, 'sender');
  const ingressExpiryNs = naturalField(content, 'ingress_expiry');
  const requestId = requestIdOf(content);

  checkIngressExpiry(ingressExpiryNs, nowNs);

  let call: CanisterCallContent | undefined;
  let paths: Uint8Array[][] | undefined;
  if (expectedType === 'read_state') {
    paths = pathsField(content);
  } else {
    call = {
      canisterId: principalField(content, 'canister_id'),
      methodName: textField(content, 'method_name'),
      arg: bytesField(content, 'arg'),
    };
  }

  authenticateSender(envelope, sender, requestId, nowNs, call?.canisterId);
  return { requestType: expectedType, requestId, sender, ingressExpiryNs, ...(call ? { call } : {}), ...(paths ? { paths } : {}) };
}

function decodeEnvelope(body: Uint8Array): RawEnvelope {
  let decoded: unknown;
  try {
    decoded = Cbor.decode(body);
  } catch (error) {
    throw malformed(`could not decode CBOR: ${(error as Error).message}`);
  }
  if (!isRecord(decoded) || !isRecord(decoded['content'])) throw malformed('the envelope has no content map');
  return decoded as unknown as RawEnvelope;
}

function checkIngressExpiry(expiryNs: bigint, nowNs: bigint): void {
  const min = nowNs;
  const max = nowNs + MAX_INGRESS_TTL_NS + PERMITTED_DRIFT_NS;
  if (expiryNs < min || expiryNs > max) {
    // The agent recognises this exact prefix, syncs its clock with read_state and retries once.
    throw new HttpProtocolError(
      400,
      'Invalid request expiry: Specified ingress_expiry not within expected range: ' +
        `Minimum allowed expiry: ${formatTime(min)}, Maximum allowed expiry: ${formatTime(max)}, ` +
        `Provided expiry: ${formatTime(expiryNs)}`,
    );
  }
}

function authenticateSender(
  envelope: RawEnvelope,
  sender: Principal,
  requestId: Uint8Array,
  nowNs: bigint,
  targetCanister: Principal | undefined,
): void {
  const senderBytes = sender.toUint8Array();
  const hasKey = envelope.sender_pubkey !== undefined;
  if (!hasKey) {
    if (!bytesEqual(senderBytes, ANONYMOUS_SENDER)) {
      throw unauthenticated(requestId, `missing signature for non-anonymous sender ${sender.toText()}`);
    }
    return;
  }
  const senderPublicKey = asBytes(envelope.sender_pubkey, 'sender_pubkey');
  const signature = asBytes(envelope.sender_sig, 'sender_sig');
  if (!bytesEqual(Principal.selfAuthenticating(senderPublicKey).toUint8Array(), senderBytes)) {
    throw unauthenticated(requestId, `sender ${sender.toText()} does not match the public key`);
  }

  // A delegation chain hands signing over from the sender's key to a session key, link by link.
  let signingKey = senderPublicKey;
  if (envelope.sender_delegation !== undefined) {
    const chain = envelope.sender_delegation;
    if (!Array.isArray(chain) || chain.length > MAX_DELEGATIONS) {
      throw unauthenticated(requestId, 'invalid delegation chain');
    }
    for (const link of chain) {
      if (!isRecord(link) || !isRecord(link['delegation'])) throw unauthenticated(requestId, 'invalid delegation');
      const delegation = link['delegation'];
      const delegationSignature = asBytes(link['signature'], 'delegation signature');
      const message = concatBytes(DELEGATION_SEPARATOR, hashOfMap(delegation));
      if (!verifyWithDerKey(signingKey, message, delegationSignature)) {
        throw unauthenticated(requestId, 'invalid delegation signature');
      }
      const expiration = delegation['expiration'];
      if (typeof expiration !== 'bigint' && typeof expiration !== 'number') {
        throw unauthenticated(requestId, 'delegation without expiration');
      }
      if (BigInt(expiration) < nowNs) throw unauthenticated(requestId, 'delegation has expired');
      const targets = delegation['targets'];
      if (targets !== undefined && targetCanister !== undefined) {
        const allowed = Array.isArray(targets) && targets.some((t) => t instanceof Uint8Array && bytesEqual(t, targetCanister.toUint8Array()));
        if (!allowed) throw unauthenticated(requestId, `canister ${targetCanister.toText()} is not a delegation target`);
      }
      signingKey = asBytes(delegation['pubkey'], 'delegation pubkey');
    }
  }

  if (!verifyWithDerKey(signingKey, concatBytes(REQUEST_SEPARATOR, requestId), signature)) {
    throw unauthenticated(requestId, 'invalid signature');
  }
}

/**
 * Ed25519, ECDSA secp256k1 and ECDSA P-256 keys arrive as standard SubjectPublicKeyInfo DER,
 * so node:crypto verifies all three. ECDSA signatures are 64-byte r‖s over SHA-256.
 * COSE keys (WebAuthn) and canister signatures are not emulated.
 */
function verifyWithDerKey(publicKeyDer: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(publicKeyDer), format: 'der', type: 'spki' });
  } catch {
    return false;
  }
  try {
    if (key.asymmetricKeyType === 'ed25519') return verifySignatureWithKey(null, message, key, signature);
    if (key.asymmetricKeyType === 'ec') {
      return verifySignatureWithKey('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, signature);
    }
  } catch {
    return false;
  }
  return false;
}

function pathsField(content: Record<string, unknown>): Uint8Array[][] {
  const paths = content['paths'];
  if (!Array.isArray(paths)) throw malformed('read_state content has no paths');
  return paths.map((path) => {
    if (!Array.isArray(path) || !path.every((segment) => segment instanceof Uint8Array)) {
      throw malformed('every read_state path must be an array of byte strings');
    }
    return path as Uint8Array[];
  });
}

function principalField(content: Record<string, unknown>, name: string): Principal {
  return Principal.fromUint8Array(bytesField(content, name));
}

function bytesField(content: Record<string, unknown>, name: string): Uint8Array {
  return asBytes(content[name], name);
}

function textField(content: Record<string, unknown>, name: string): string {
  const value = content[name];
  if (typeof value !== 'string') throw malformed(`field ${name} must be text`);
  return value;
}

function naturalField(content: Record<string, unknown>, name: string): bigint {
  const value = content[name];
  if (typeof value === 'bigint' && value >= 0n) return value;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return BigInt(value);
  throw malformed(`field ${name} must be a natural number`);
}

function asBytes(value: unknown, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw malformed(`field ${name} must be a byte string`);
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function malformed(reason: string): HttpProtocolError {
  return new HttpProtocolError(400, `Malformed request: ${reason}`);
}

function unauthenticated(requestId: Uint8Array, reason: string): HttpProtocolError {
  return new HttpProtocolError(400, `Failed to authenticate request 0x${Buffer.from(requestId).toString('hex')} due to: ${reason}`);
}

function formatTime(ns: bigint): string {
  return `${new Date(Number(ns / 1_000_000n)).toISOString()} (${ns} ns)`;
}
