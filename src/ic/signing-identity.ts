// An identity that signs requests with another identity's key, hashing their content into the
// request id with node:crypto (request-id.ts) instead of the agent's JavaScript SHA-256. The
// envelope is the one `SignIdentity.transformRequest` builds: the content, the DER public key,
// and the signature of "\x0Aic-request" followed by the request id.
import { IC_REQUEST_DOMAIN_SEPARATOR, SignIdentity, type HttpAgentRequest, type Identity, type PublicKey, type Signature } from '@dfinity/agent';
import type { Principal } from '@dfinity/principal';
import { requestIdOf } from './request-id.js';

export class NodeHashingIdentity extends SignIdentity {
  constructor(private readonly inner: SignIdentity) {
    super();
  }

  getPublicKey(): PublicKey {
    return this.inner.getPublicKey();
  }

  sign(blob: Uint8Array): Promise<Signature> {
    return this.inner.sign(blob);
  }

  override getPrincipal(): Principal {
    return this.inner.getPrincipal();
  }

  override async transformRequest(request: HttpAgentRequest): Promise<unknown> {
    const { body, ...fields } = request;
    const requestId = requestIdOf(body as unknown as Record<string, unknown>);
    const signed = new Uint8Array(IC_REQUEST_DOMAIN_SEPARATOR.length + requestId.length);
    signed.set(IC_REQUEST_DOMAIN_SEPARATOR);
    signed.set(requestId, IC_REQUEST_DOMAIN_SEPARATOR.length);
    return {
      ...fields,
      body: { content: body, sender_pubkey: this.getPublicKey().toDer(), sender_sig: await this.sign(signed) },
    };
  }
}

/**
 * `identity` with its request ids hashed by node:crypto, when it signs as a plain key does;
 * identities that build their envelopes otherwise (delegations, anonymous) are left as they are.
 */
export function withNodeRequestIds<T extends Identity>(identity: T): T | NodeHashingIdentity {
  if (identity instanceof SignIdentity && identity.transformRequest === SignIdentity.prototype.transformRequest) return new NodeHashingIdentity(identity);
  return identity;
}
