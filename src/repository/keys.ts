// The repository's secrets and the key files that wrap them (docs/FORMAT.md §2).
//
// Two tiers: the write secret (chunk-id key, metadata key, chunker seed) lets a host write,
// deduplicate and list; the repository identity (an X25519 secret) unwraps the per-pack data
// keys and so reads content. A password or an age identity unlocks both; an age recipient
// (public key) alone unlocks only the write secret.
import { hkdfSync, randomBytes } from 'node:crypto';
import { open, seal, AuthenticationError } from '../crypto/aead.js';
import {
  generateIdentity,
  identityFromSecretKey,
  recipientFromPublicKey,
  unwrapWithIdentity,
  wrapForRecipient,
  type AgeIdentity,
  type AgeRecipient,
} from '../crypto/age-keys.js';
import { deriveKey, newScryptParams } from '../crypto/kdf.js';
import { AgentvaultError } from '../errors.js';

export interface WriteSecret {
  readonly idKey: Buffer;
  readonly metaKey: Buffer;
  readonly chunkerSeed: bigint;
}

export interface RepositoryKeys {
  readonly write: WriteSecret;
  /** The repository's X25519 secret; absent when unlocked with a public key only. */
  readonly identity?: AgeIdentity;
}

/** What the user brought to unlock a repository. */
export interface Credentials {
  readonly password?: string;
  readonly identities?: readonly AgeIdentity[];
  readonly recipients?: readonly AgeRecipient[];
}

export type KeyFile = PasswordKeyFile | RecipientKeyFile | PlainKeyFile;

interface KeyFileBase {
  readonly version: 1;
  readonly id: string;
  readonly created: string;
}
export interface PasswordKeyFile extends KeyFileBase {
  readonly type: 'password';
  readonly kdf: { algorithm: 'scrypt'; N: number; r: number; p: number; salt: string };
  readonly nonce?: string; // kept inside `sealed` (nonce ‖ ct ‖ tag); field reserved
  readonly sealed: string;
}
export interface RecipientKeyFile extends KeyFileBase {
  readonly type: 'x25519';
  readonly recipient: string;
  readonly stanza: { ephemeralShare: string; body: string };
  readonly sealed: string;
  readonly writeSealed: string;
}
export interface PlainKeyFile extends KeyFileBase {
  readonly type: 'plain';
  readonly writeSecret: string;
}

const WRITE_SECRET_LENGTH = 72;
const AAD_PASSWORD = Buffer.from('agentvault/v1/key/password');
const AAD_RECIPIENT = Buffer.from('agentvault/v1/key/x25519');
const AAD_WRITE = Buffer.from('agentvault/v1/key/write');

export function generateKeys(): Required<RepositoryKeys> {
  return {
    write: {
      idKey: randomBytes(32),
      metaKey: randomBytes(32),
      chunkerSeed: randomBytes(8).readBigUInt64LE(0),
    },
    identity: generateIdentity(),
  };
}

export function repositoryRecipient(publicKey: Buffer): AgeRecipient {
  return recipientFromPublicKey(publicKey);
}

function encodeWriteSecret(w: WriteSecret): Buffer {
  const out = Buffer.alloc(WRITE_SECRET_LENGTH);
  w.idKey.copy(out, 0);
  w.metaKey.copy(out, 32);
  out.writeBigUInt64LE(w.chunkerSeed, 64);
  return out;
}

function decodeWriteSecret(b: Buffer): WriteSecret {
  if (b.length !== WRITE_SECRET_LENGTH) throw new AgentvaultError('CORRUPT', 'key file holds a write secret of the wrong length');
  return { idKey: Buffer.from(b.subarray(0, 32)), metaKey: Buffer.from(b.subarray(32, 64)), chunkerSeed: b.readBigUInt64LE(64) };
}

function fullSecret(keys: Required<RepositoryKeys>): Buffer {
  return Buffer.concat([keys.identity.secretKey, encodeWriteSecret(keys.write)]);
}

function decodeFullSecret(b: Buffer): Required<RepositoryKeys> {
  if (b.length !== 32 + WRITE_SECRET_LENGTH) throw new AgentvaultError('CORRUPT', 'key file holds secrets of the wrong length');
  return { identity: identityFromSecretKey(Buffer.from(b.subarray(0, 32))), write: decodeWriteSecret(b.subarray(32)) };
}

function newKeyFileBase(): KeyFileBase {
  return { version: 1, id: randomBytes(8).toString('hex'), created: new Date().toISOString() };
}

export async function makePasswordKeyFile(keys: Required<RepositoryKeys>, password: string): Promise<PasswordKeyFile> {
  if (password.length === 0) throw new AgentvaultError('USAGE', 'the password is empty');
  const params = newScryptParams();
  const kek = await deriveKey(password, params);
  return {
    ...newKeyFileBase(),
    type: 'password',
    kdf: { algorithm: 'scrypt', N: params.N, r: params.r, p: params.p, salt: params.salt.toString('base64') },
    sealed: seal(kek, fullSecret(keys), AAD_PASSWORD).toString('base64'),
  };
}

function writeAccessKey(recipient: AgeRecipient, repositoryId: string): Buffer {
  return Buffer.from(hkdfSync('sha256', recipient.publicKey, Buffer.from(repositoryId, 'hex'), 'agentvault/v1/write-access', 32));
}

export function makeRecipientKeyFile(keys: Required<RepositoryKeys>, recipient: AgeRecipient, repositoryId: string): RecipientKeyFile {
  const kek = randomBytes(32);
  const stanza = wrapForRecipient(kek, recipient);
  return {
    ...newKeyFileBase(),
    type: 'x25519',
    recipient: recipient.encoded,
    stanza: { ephemeralShare: stanza.ephemeralShare.toString('base64'), body: stanza.body.toString('base64') },
    sealed: seal(kek, fullSecret(keys), AAD_RECIPIENT).toString('base64'),
    writeSealed: seal(writeAccessKey(recipient, repositoryId), encodeWriteSecret(keys.write), AAD_WRITE).toString('base64'),
  };
}

export function makePlainKeyFile(write: WriteSecret): PlainKeyFile {
  return { ...newKeyFileBase(), type: 'plain', writeSecret: encodeWriteSecret(write).toString('base64') };
}

export function parseKeyFile(bytes: Buffer, name: string): KeyFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new AgentvaultError('CORRUPT', `key file ${name} is not valid JSON`);
  }
  const k = parsed as Partial<KeyFile> & { version?: unknown };
  if (typeof k !== 'object' || k === null) throw new AgentvaultError('CORRUPT', `key file ${name} is malformed`);
  if (typeof k.version === 'number' && k.version > 1) {
    throw new AgentvaultError('NEWER_FORMAT', `key file ${name} was written by a newer agentvault (key format ${k.version}; this version reads up to 1)`);
  }
  if (k.version !== 1 || !['password', 'x25519', 'plain'].includes(String(k.type))) {
    throw new AgentvaultError('CORRUPT', `key file ${name} is malformed`);
  }
  return k as KeyFile;
}

/**
 * Finds a key file the credentials open. Prefers full access (password, identity) over write-only
 * access (recipient). Errors say which kind of credential the repository wants.
 */
export async function unlockKeys(files: readonly KeyFile[], credentials: Credentials, repositoryId: string): Promise<RepositoryKeys> {
  const plain = files.find((f): f is PlainKeyFile => f.type === 'plain');
  if (plain) return { write: decodeWriteSecret(Buffer.from(plain.writeSecret, 'base64')) };

  const recipientFiles = files.filter((f): f is RecipientKeyFile => f.type === 'x25519');
  for (const identity of credentials.identities ?? []) {
    for (const file of recipientFiles) {
      if (file.recipient !== identity.recipient.encoded) continue;
      const kek = unwrapWithIdentity(
        { ephemeralShare: Buffer.from(file.stanza.ephemeralShare, 'base64'), body: Buffer.from(file.stanza.body, 'base64') },
        identity,
      );
      if (!kek) throw new AgentvaultError('WRONG_KEY', `key file ${file.id} names this identity's public key but does not open with it (damaged key file?)`);
      return decodeFullSecret(openOrThrow(kek, file.sealed, AAD_RECIPIENT, 'WRONG_KEY', 'the key file does not open this repository'));
    }
  }

  const passwordFiles = files.filter((f): f is PasswordKeyFile => f.type === 'password');
  if (credentials.password !== undefined && passwordFiles.length > 0) {
    for (const file of passwordFiles) {
      const kek = await deriveKey(credentials.password, {
        algorithm: 'scrypt',
        N: file.kdf.N,
        r: file.kdf.r,
        p: file.kdf.p,
        salt: Buffer.from(file.kdf.salt, 'base64'),
      });
      try {
        return decodeFullSecret(open(kek, Buffer.from(file.sealed, 'base64'), AAD_PASSWORD));
      } catch (err) {
        if (!(err instanceof AuthenticationError)) throw err;
      }
    }
    throw new AgentvaultError('WRONG_PASSWORD', 'wrong password for this repository');
  }

  for (const recipient of [...(credentials.recipients ?? []), ...(credentials.identities ?? []).map((i) => i.recipient)]) {
    const file = recipientFiles.find((f) => f.recipient === recipient.encoded);
    if (!file) continue;
    const secret = openOrThrow(writeAccessKey(recipient, repositoryId), file.writeSealed, AAD_WRITE, 'CORRUPT', `key file ${file.id} is damaged`);
    return { write: decodeWriteSecret(secret) };
  }

  if (credentials.identities?.length || credentials.recipients?.length) {
    throw new AgentvaultError('WRONG_KEY', 'the key file does not match any key of this repository');
  }
  if (credentials.password !== undefined) {
    throw new AgentvaultError('WRONG_KEY', 'this repository has no password; it is opened with an age key file (--key-file)');
  }
  const wants = [passwordFiles.length ? 'a password (AGENTVAULT_PASSWORD, --password-file or the prompt)' : '', recipientFiles.length ? 'an age key file (--key-file)' : '']
    .filter(Boolean)
    .join(' or ');
  throw new AgentvaultError('NEED_KEY', `this repository is encrypted: give ${wants}`);
}

function openOrThrow(key: Buffer, sealedB64: string, aad: Buffer, code: 'WRONG_KEY' | 'CORRUPT', message: string): Buffer {
  try {
    return open(key, Buffer.from(sealedB64, 'base64'), aad);
  } catch (err) {
    if (err instanceof AuthenticationError) throw new AgentvaultError(code, message);
    throw err;
  }
}
