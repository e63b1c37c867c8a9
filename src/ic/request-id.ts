// Request ids (the interface spec's representation-independent hash of a request's content),
// computed with node:crypto's SHA-256 instead of @noble/hashes. The agent hashes a call's whole
// argument in JavaScript at ~115 MB/s, twice per call (once to sign it, once more for the id it
// returns); for a 2 MB snapshot upload that is ~35 ms, a third of a canister restore's CPU. The
// signing half is ours to replace (an identity's transformRequest, signing-identity.ts).
// The rules are the agent's `hashValue`, value kind by value kind; test/request-id.test.ts holds
// the two to the same ids.
import { createHash } from 'node:crypto';
import type { RequestId } from '@dfinity/agent';
import { compare, lebEncode } from '@dfinity/candid';

const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

const utf8 = new TextEncoder();

function hashValue(value: unknown): Uint8Array {
  if (typeof value === 'string') return sha256(utf8.encode(value));
  if (typeof value === 'number' || typeof value === 'bigint') return sha256(lebEncode(value));
  if (ArrayBuffer.isView(value)) return sha256(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  if (Array.isArray(value)) return sha256(...value.map(hashValue));
  if (value !== null && typeof value === 'object') {
    const object = value as { _isPrincipal?: boolean; toUint8Array?: () => Uint8Array; toHash?: () => unknown };
    if (object._isPrincipal && typeof object.toUint8Array === 'function') return sha256(object.toUint8Array());
    if (typeof object.toHash === 'function') return hashValue(object.toHash());
    return hashOfMap(value as Record<string, unknown>);
  }
  throw new TypeError(`a request cannot hold a ${typeof value}`);
}

/** The representation-independent hash of a map (fields set to undefined are left out). */
function hashOfMap(map: Record<string, unknown>): Uint8Array {
  const fields = Object.entries(map)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => [sha256(utf8.encode(key)), hashValue(value)] as const)
    .sort(([a], [b]) => compare(a, b));
  return sha256(...fields.flat());
}

/** The id of a request whose content is `request`, as the agent's `requestIdOf` computes it. */
export function requestIdOf(request: Record<string, unknown>): RequestId {
  return hashOfMap(request) as RequestId;
}
