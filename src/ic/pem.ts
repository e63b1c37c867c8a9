// Ed25519 identities as dfx stores them: `-----BEGIN PRIVATE KEY-----`, PKCS#8 v2 (RFC 8410)
// with the public key, the layout ring's `Ed25519KeyPair::generate_pkcs8` writes:
//   30 53 02 01 01 30 05 06 03 2b 65 70 04 22 04 20 <32-byte seed> a1 23 03 21 00 <32-byte public key>
// `@dfinity/identity` has no PEM reader for Ed25519, so this module parses both that layout and
// the 48-byte PKCS#8 v1 one OpenSSL writes.
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { ed25519 } from '@noble/curves/ed25519';

const PKCS8_V2_PREFIX = Buffer.from('3053020101300506032b657004220420', 'hex');
const PKCS8_V2_PUBLIC_KEY_TAG = Buffer.from('a123032100', 'hex');
const PKCS8_V1_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** PEM text of an Ed25519 secret key (32-byte seed) in the dfx layout. */
export function ed25519SecretKeyToPem(secretKey: Uint8Array): string {
  if (secretKey.length !== 32) throw new RangeError('an Ed25519 secret key is 32 bytes');
  const publicKey = ed25519.getPublicKey(secretKey);
  const der = Buffer.concat([PKCS8_V2_PREFIX, secretKey, PKCS8_V2_PUBLIC_KEY_TAG, publicKey]);
  const base64 = der.toString('base64').replace(/.{64}/g, '$&\n').trimEnd();
  return `-----BEGIN PRIVATE KEY-----\n${base64}\n-----END PRIVATE KEY-----\n`;
}

/** The 32-byte seed of a PKCS#8 Ed25519 PEM (v1 or v2). */
export function ed25519SecretKeyFromPem(pem: string): Uint8Array {
  const match = /-----BEGIN PRIVATE KEY-----([\s\S]*?)-----END PRIVATE KEY-----/.exec(pem);
  if (!match) throw new Error('not a PEM "PRIVATE KEY" block');
  const der = Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64');
  const prefix = der.subarray(0, 16);
  if (der.length === 85 && prefix.equals(PKCS8_V2_PREFIX) && der.subarray(48, 53).equals(PKCS8_V2_PUBLIC_KEY_TAG)) {
    const secretKey = der.subarray(16, 48);
    if (!Buffer.from(ed25519.getPublicKey(secretKey)).equals(der.subarray(53))) {
      throw new Error('the PEM public key does not belong to its secret key');
    }
    return Uint8Array.from(secretKey);
  }
  if (der.length === 48 && prefix.equals(PKCS8_V1_PREFIX)) return Uint8Array.from(der.subarray(16));
  throw new Error('not a PKCS#8 Ed25519 private key');
}

export function ed25519IdentityFromPem(pem: string): Ed25519KeyIdentity {
  return Ed25519KeyIdentity.fromSecretKey(ed25519SecretKeyFromPem(pem));
}

/** A fresh identity and its PEM. */
export function generateEd25519Pem(): { identity: Ed25519KeyIdentity; pem: string } {
  const secretKey = ed25519.utils.randomSecretKey();
  return { identity: Ed25519KeyIdentity.fromSecretKey(secretKey), pem: ed25519SecretKeyToPem(secretKey) };
}
