/**
 * X25519 public-key wrapping of small secrets, with keys in the format
 * `age-keygen` writes (https://c2sp.org/age, "The X25519 recipient type").
 *
 * A host that holds only a recipient (`age1...`) can wrap a repository secret
 * that only the holder of the identity (`AGE-SECRET-KEY-1...`) can unwrap.
 * The stanza construction is byte-for-byte age's, so the same keys work with
 * the real `age` tool; the only difference is that our "file key" may be
 * 16..64 bytes instead of exactly 16.
 *
 * Only node:crypto is used. Secret key material never appears in error
 * messages, `util.inspect` output or JSON.
 */
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { inspect } from 'node:util';

export class AgeKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgeKeyError';
  }
}

export interface AgeRecipient {
  /** 32-byte X25519 public key. */
  readonly publicKey: Buffer;
  /** `age1...` (lowercase bech32). */
  readonly encoded: string;
}

export interface AgeIdentity {
  /** 32-byte X25519 secret key. Non-enumerable and redacted from inspect/JSON on objects built here. */
  readonly secretKey: Buffer;
  readonly recipient: AgeRecipient;
}

/** A secret wrapped for one recipient: exactly age's X25519 stanza (share argument + body). */
export interface X25519Stanza {
  /** 32-byte ephemeral X25519 public key (the stanza's second argument). */
  readonly ephemeralShare: Buffer;
  /** ChaCha20-Poly1305(wrap key, zero nonce, secret): secret.length + 16 bytes. */
  readonly body: Buffer;
}

const RECIPIENT_HRP = 'age';
const IDENTITY_HRP = 'AGE-SECRET-KEY-';
const KEY_LENGTH = 32;
const TAG_LENGTH = 16;
/** age wraps a 16-byte file key; we also wrap 32-byte repository keys, so allow a small range. */
export const MIN_WRAPPED_SECRET_LENGTH = 16;
export const MAX_WRAPPED_SECRET_LENGTH = 64;

const X25519_INFO = Buffer.from('age-encryption.org/v1/X25519', 'latin1');
const ZERO_NONCE = Buffer.alloc(12);
// DER prefixes that turn a raw 32-byte X25519 key into PKCS#8 / SPKI (RFC 8410).
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

// ---------------------------------------------------------------------------
// Bech32 (BIP-173 checksum constant 1, not bech32m), without the 90-character
// limit, as age uses it. Only all-lowercase or all-uppercase strings are valid;
// the checksum is always computed over the lowercase form.

const BECH32_CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const BECH32_GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function bech32Polymod(values: readonly number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) {
      if ((top >>> i) & 1) chk ^= BECH32_GENERATORS[i]!;
    }
  }
  return chk >>> 0;
}

function bech32HrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) >>> 5);
  out.push(0);
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) & 31);
  return out;
}

/** Regroups bits; when decoding (pad=false) rejects leftover non-zero or over-long padding. */
function convertBits(data: ArrayLike<number>, from: number, to: number, pad: boolean): number[] | null {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const maxv = (1 << to) - 1;
  for (let i = 0; i < data.length; i++) {
    acc = (acc << from) | data[i]!;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >>> bits) & maxv);
    }
    acc &= (1 << bits) - 1; // keep only unconsumed bits so acc never overflows
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & maxv);
  } else if (bits >= from || ((acc << (to - bits)) & maxv) !== 0) {
    return null;
  }
  return out;
}

/** Encodes with a lowercase HRP; callers uppercase the result when needed. */
function bech32Encode(hrp: string, data: Uint8Array): string {
  const lowerHrp = hrp.toLowerCase();
  const words = convertBits(data, 8, 5, true)!;
  const checksumInput = [...bech32HrpExpand(lowerHrp), ...words, 0, 0, 0, 0, 0, 0];
  const mod = bech32Polymod(checksumInput) ^ 1;
  let out = lowerHrp + '1';
  for (const w of words) out += BECH32_CHARSET[w];
  for (let i = 0; i < 6; i++) out += BECH32_CHARSET[(mod >>> (5 * (5 - i))) & 31];
  return out;
}

/**
 * Decodes a bech32 string. Returns the HRP in its original case (age
 * distinguishes `age` from `AGE-SECRET-KEY-` by case). Error messages describe
 * the problem only, never the input, because the input may be a secret key.
 */
function bech32Decode(s: string, what: string): { hrp: string; data: Buffer } {
  if (s !== s.toLowerCase() && s !== s.toUpperCase()) {
    throw new AgeKeyError(`invalid ${what}: mixed upper and lower case`);
  }
  const pos = s.lastIndexOf('1');
  if (pos < 1 || pos + 7 > s.length) {
    throw new AgeKeyError(`invalid ${what}: missing or misplaced bech32 separator '1'`);
  }
  const hrp = s.slice(0, pos);
  for (let i = 0; i < hrp.length; i++) {
    const c = hrp.charCodeAt(i);
    if (c < 33 || c > 126) throw new AgeKeyError(`invalid ${what}: invalid character in prefix`);
  }
  const lower = s.toLowerCase();
  const words: number[] = [];
  for (let i = pos + 1; i < lower.length; i++) {
    const w = BECH32_CHARSET.indexOf(lower[i]!);
    if (w < 0) throw new AgeKeyError(`invalid ${what}: invalid bech32 character at position ${i}`);
    words.push(w);
  }
  if (bech32Polymod([...bech32HrpExpand(hrp.toLowerCase()), ...words]) !== 1) {
    throw new AgeKeyError(`invalid ${what}: bad bech32 checksum (typo or truncated key?)`);
  }
  const bytes = convertBits(words.slice(0, -6), 5, 8, false);
  if (bytes === null) throw new AgeKeyError(`invalid ${what}: bad bech32 padding`);
  return { hrp, data: Buffer.from(bytes) };
}

// ---------------------------------------------------------------------------
// X25519 primitives on raw 32-byte keys.

function privateKeyObject(secretKey: Buffer): KeyObject {
  return createPrivateKey({
    key: Buffer.concat([PKCS8_X25519_PREFIX, secretKey]),
    format: 'der',
    type: 'pkcs8',
  });
}

function publicKeyObject(publicKey: Buffer): KeyObject {
  return createPublicKey({
    key: Buffer.concat([SPKI_X25519_PREFIX, publicKey]),
    format: 'der',
    type: 'spki',
  });
}

function rawPublicKey(priv: KeyObject): Buffer {
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  return Buffer.from(spki.subarray(SPKI_X25519_PREFIX.length));
}

/** X25519 with age's mandatory rejection of the all-zero output (low-order peer point). */
function x25519(priv: KeyObject, peerPublic: Buffer): Buffer {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: priv, publicKey: publicKeyObject(peerPublic) });
  } catch (err) {
    // OpenSSL itself refuses to return the all-zero secret.
    if ((err as { code?: unknown }).code === 'ERR_OSSL_FAILED_DURING_DERIVATION') {
      throw new AgeKeyError('X25519 shared secret is all zero (low-order public key or share)');
    }
    throw err;
  }
  // Checked again in case the linked crypto library returns zeros instead of failing.
  if (shared.every((b) => b === 0)) {
    throw new AgeKeyError('X25519 shared secret is all zero (low-order public key or share)');
  }
  return shared;
}

function wrapKey(shared: Buffer, ephemeralShare: Buffer, recipient: Buffer): Buffer {
  const salt = Buffer.concat([ephemeralShare, recipient]);
  return Buffer.from(hkdfSync('sha256', shared, salt, X25519_INFO, 32));
}

// ---------------------------------------------------------------------------
// Key objects.

function makeRecipient(publicKey: Buffer): AgeRecipient {
  const key = Buffer.from(publicKey); // own copy: callers may reuse their buffers
  return Object.freeze({ publicKey: key, encoded: bech32Encode(RECIPIENT_HRP, key) });
}

/** Identity whose secret key is non-enumerable and redacted from inspect/JSON/toString. */
class X25519Identity implements AgeIdentity {
  declare readonly secretKey: Buffer;
  readonly recipient: AgeRecipient;

  constructor(secretKey: Buffer, recipient: AgeRecipient) {
    Object.defineProperty(this, 'secretKey', { value: secretKey, enumerable: false, writable: false });
    this.recipient = recipient;
    Object.freeze(this);
  }

  [inspect.custom](): string {
    return `AgeIdentity { recipient: '${this.recipient.encoded}', secretKey: <redacted> }`;
  }

  toJSON(): { recipient: string } {
    return { recipient: this.recipient.encoded };
  }

  toString(): string {
    return `AgeIdentity(${this.recipient.encoded})`;
  }
}

/** An identity from a raw 32-byte X25519 secret (the repository identity is kept this way). */
export function identityFromSecretKey(secretKey: Buffer): AgeIdentity {
  if (secretKey.length !== KEY_LENGTH) throw new AgeKeyError(`X25519 secret key must be ${KEY_LENGTH} bytes`);
  return makeIdentity(secretKey);
}

/** A recipient from a raw 32-byte X25519 public key. */
export function recipientFromPublicKey(publicKey: Buffer): AgeRecipient {
  if (publicKey.length !== KEY_LENGTH) throw new AgeKeyError(`X25519 public key must be ${KEY_LENGTH} bytes`);
  return makeRecipient(Buffer.from(publicKey));
}

function makeIdentity(secretKey: Buffer): AgeIdentity {
  const key = Buffer.from(secretKey);
  return new X25519Identity(key, makeRecipient(rawPublicKey(privateKeyObject(key))));
}

// ---------------------------------------------------------------------------
// Parsing and formatting.

export function parseRecipient(s: string): AgeRecipient {
  const str = s.trim();
  if (/^age-secret-key-/i.test(str)) {
    // Refuse loudly: someone pasted a secret key where a public one belongs.
    throw new AgeKeyError('invalid age recipient: this is a secret key (AGE-SECRET-KEY-1...), not a recipient (age1...)');
  }
  const { hrp, data } = bech32Decode(str, 'age recipient');
  if (hrp !== RECIPIENT_HRP) {
    if (hrp.toLowerCase() === RECIPIENT_HRP) {
      throw new AgeKeyError("invalid age recipient: recipients must be lowercase 'age1...'");
    }
    if (hrp.toLowerCase().startsWith('age1')) {
      throw new AgeKeyError("unsupported age recipient type: only X25519 'age1...' recipients are supported (not plugin or post-quantum ones)");
    }
    throw new AgeKeyError("invalid age recipient: wrong prefix, expected 'age1...'");
  }
  if (data.length !== KEY_LENGTH) {
    throw new AgeKeyError(`invalid age recipient: key is ${data.length} bytes, expected ${KEY_LENGTH}`);
  }
  return makeRecipient(data);
}

export function parseIdentity(s: string): AgeIdentity {
  const str = s.trim();
  const { hrp, data } = bech32Decode(str, 'age identity');
  try {
    if (hrp !== IDENTITY_HRP) {
      if (hrp.toUpperCase() === IDENTITY_HRP) {
        throw new AgeKeyError("invalid age identity: secret keys must be uppercase 'AGE-SECRET-KEY-1...'");
      }
      if (hrp.toUpperCase().startsWith('AGE-SECRET-KEY-') || hrp.toUpperCase().startsWith('AGE-PLUGIN-')) {
        throw new AgeKeyError("unsupported age identity type: only X25519 'AGE-SECRET-KEY-1...' identities are supported");
      }
      throw new AgeKeyError("invalid age identity: wrong prefix, expected 'AGE-SECRET-KEY-1...'");
    }
    if (data.length !== KEY_LENGTH) {
      throw new AgeKeyError(`invalid age identity: key is ${data.length} bytes, expected ${KEY_LENGTH}`);
    }
    return makeIdentity(data);
  } finally {
    data.fill(0); // makeIdentity copied what it needs
  }
}

const PUBLIC_KEY_COMMENT = /^#\s*public key:\s*(\S+)\s*$/i;

/**
 * Parse the contents of a key file: an age-keygen identity file (comments
 * `# created: ...`, `# public key: age1...`, then `AGE-SECRET-KEY-1...` lines)
 * or a recipients file (one `age1...` per line, `#` comments, blank lines).
 *
 * For identity files, `recipients` are derived from the identities, and each
 * `# public key:` comment must match the identity that follows it (so a key
 * file whose comment was edited or mixed up is caught before anyone encrypts
 * to the wrong key). Mixing identities and recipients in one file is refused.
 * Errors name the line number, never the line.
 */
export function parseKeyFile(text: string): { identities: AgeIdentity[]; recipients: AgeRecipient[] } {
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  const identities: AgeIdentity[] = [];
  const listedRecipients: AgeRecipient[] = [];
  let pendingPublicKey: { recipient: AgeRecipient; line: number } | null = null;

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = PUBLIC_KEY_COMMENT.exec(line);
      if (m) {
        pendingPublicKey = { recipient: withLine(lineNo, () => parseRecipient(m[1]!)), line: lineNo };
      }
      continue;
    }
    if (/^age-secret-key-/i.test(line) || /^age-plugin-/i.test(line)) {
      const id = withLine(lineNo, () => parseIdentity(line));
      if (pendingPublicKey) {
        if (pendingPublicKey.recipient.encoded !== id.recipient.encoded) {
          throw new AgeKeyError(
            `key file line ${pendingPublicKey.line}: '# public key:' comment ${pendingPublicKey.recipient.encoded} ` +
              `does not match the identity on line ${lineNo} (whose public key is ${id.recipient.encoded})`,
          );
        }
        pendingPublicKey = null;
      }
      identities.push(id);
    } else if (/^age1/i.test(line)) {
      listedRecipients.push(withLine(lineNo, () => parseRecipient(line)));
    } else {
      throw new AgeKeyError(`key file line ${lineNo}: not an age identity (AGE-SECRET-KEY-1...), recipient (age1...) or '#' comment`);
    }
  }

  if (identities.length > 0 && listedRecipients.length > 0) {
    throw new AgeKeyError('key file mixes identities (AGE-SECRET-KEY-1...) and recipients (age1...); use separate files');
  }
  if (identities.length > 0 && pendingPublicKey) {
    throw new AgeKeyError(`key file line ${pendingPublicKey.line}: '# public key:' comment is not followed by an identity`);
  }
  if (identities.length === 0 && listedRecipients.length === 0) {
    throw new AgeKeyError('key file contains no age identities or recipients');
  }

  if (identities.length > 0) {
    const uniqueIds = dedupe(identities, (id) => id.recipient.encoded);
    return { identities: uniqueIds, recipients: uniqueIds.map((id) => id.recipient) };
  }
  return { identities: [], recipients: dedupe(listedRecipients, (r) => r.encoded) };
}

function withLine<T>(lineNo: number, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof AgeKeyError) throw new AgeKeyError(`key file line ${lineNo}: ${err.message}`);
    throw err;
  }
}

function dedupe<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function generateIdentity(): AgeIdentity {
  const secret = randomBytes(KEY_LENGTH);
  try {
    return makeIdentity(secret);
  } finally {
    secret.fill(0);
  }
}

/** Same shape `age-keygen` writes (timestamp in UTC, RFC 3339, whole seconds). */
export function formatIdentityFile(id: AgeIdentity, created: Date): string {
  const timestamp = created.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const secret = bech32Encode(IDENTITY_HRP, id.secretKey).toUpperCase();
  // Derive the comment from the secret so the file is self-consistent even if `id` was hand-built.
  const recipient = makeRecipient(rawPublicKey(privateKeyObject(id.secretKey)));
  return `# created: ${timestamp}\n# public key: ${recipient.encoded}\n${secret}\n`;
}

// ---------------------------------------------------------------------------
// Wrapping.

export function wrapForRecipient(secret: Buffer, recipient: AgeRecipient): X25519Stanza {
  if (secret.length < MIN_WRAPPED_SECRET_LENGTH || secret.length > MAX_WRAPPED_SECRET_LENGTH) {
    throw new AgeKeyError(
      `secret to wrap must be ${MIN_WRAPPED_SECRET_LENGTH}..${MAX_WRAPPED_SECRET_LENGTH} bytes, got ${secret.length}`,
    );
  }
  if (recipient.publicKey.length !== KEY_LENGTH) {
    throw new AgeKeyError(`recipient public key must be ${KEY_LENGTH} bytes, got ${recipient.publicKey.length}`);
  }
  const ephemeralSecret = randomBytes(KEY_LENGTH);
  const ephemeral = privateKeyObject(ephemeralSecret);
  ephemeralSecret.fill(0);
  const ephemeralShare = rawPublicKey(ephemeral);
  const shared = x25519(ephemeral, recipient.publicKey);
  const key = wrapKey(shared, ephemeralShare, recipient.publicKey);
  shared.fill(0);
  const cipher = createCipheriv('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: TAG_LENGTH });
  const body = Buffer.concat([cipher.update(secret), cipher.final(), cipher.getAuthTag()]);
  key.fill(0);
  return Object.freeze({ ephemeralShare, body });
}

/**
 * Returns the secret, or null if this stanza was not made for this identity
 * (authentication failure). Throws AgeKeyError for malformed input: wrong share
 * or body length, or a low-order share (age aborts on those too).
 */
export function unwrapWithIdentity(stanza: X25519Stanza, identity: AgeIdentity): Buffer | null {
  if (stanza.ephemeralShare.length !== KEY_LENGTH) {
    throw new AgeKeyError(`malformed X25519 stanza: share is ${stanza.ephemeralShare.length} bytes, expected ${KEY_LENGTH}`);
  }
  const minBody = MIN_WRAPPED_SECRET_LENGTH + TAG_LENGTH;
  const maxBody = MAX_WRAPPED_SECRET_LENGTH + TAG_LENGTH;
  if (stanza.body.length < minBody || stanza.body.length > maxBody) {
    throw new AgeKeyError(`malformed X25519 stanza: body is ${stanza.body.length} bytes, expected ${minBody}..${maxBody}`);
  }
  if (identity.secretKey.length !== KEY_LENGTH) {
    throw new AgeKeyError(`age identity secret key must be ${KEY_LENGTH} bytes`);
  }
  const priv = privateKeyObject(identity.secretKey);
  // Use the public key derived from the secret, not identity.recipient, so a
  // hand-built identity with a mismatched recipient cannot skew the salt.
  const ourPublic = rawPublicKey(priv);
  const shared = x25519(priv, stanza.ephemeralShare);
  const key = wrapKey(shared, stanza.ephemeralShare, ourPublic);
  shared.fill(0);
  const ciphertext = stanza.body.subarray(0, stanza.body.length - TAG_LENGTH);
  const tag = stanza.body.subarray(stanza.body.length - TAG_LENGTH);
  const decipher = createDecipheriv('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: TAG_LENGTH });
  decipher.setAuthTag(tag);
  const plaintext = decipher.update(ciphertext);
  try {
    decipher.final();
  } catch {
    plaintext.fill(0);
    return null; // not ours (or tampered): indistinguishable by design
  } finally {
    key.fill(0);
  }
  return plaintext;
}
