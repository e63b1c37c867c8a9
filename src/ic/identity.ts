// Who agentvault acts as on the IC: a dfx/icp identity PEM (Ed25519 or secp256k1), read from
// --identity-pem <file> or from the dfx identity store by name (--identity <name>).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { SignIdentity } from '@dfinity/agent';
import { Secp256k1KeyIdentity } from '@dfinity/identity-secp256k1';
import { AgentvaultError } from '../errors.js';
import { ed25519IdentityFromPem } from './pem.js';

export interface IdentityChoice {
  readonly pemFile?: string;
  readonly name?: string;
}

/** dfx keeps identities at ~/.config/dfx/identity/<name>/identity.pem. */
export function dfxIdentityPath(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const home = env.DFX_CONFIG_ROOT ?? env.HOME ?? os.homedir();
  return path.join(home, '.config', 'dfx', 'identity', name, 'identity.pem');
}

export function identityFromPem(pem: string, where: string): SignIdentity {
  if (pem.includes('ENCRYPTED')) throw new AgentvaultError('INPUT', `${where} is an encrypted PEM; export it unencrypted (dfx identity export) for agentvault`);
  if (/-----BEGIN EC PRIVATE KEY-----/.test(pem)) {
    let secret: Uint8Array;
    try {
      secret = secp256k1SecretKeyFromPem(pem);
    } catch {
      throw new AgentvaultError('INPUT', `${where} is not a valid secp256k1 identity PEM`);
    }
    return Secp256k1KeyIdentity.fromSecretKey(secret);
  }
  if (/-----BEGIN PRIVATE KEY-----/.test(pem)) {
    try {
      return ed25519IdentityFromPem(pem);
    } catch {
      throw new AgentvaultError('INPUT', `${where} is not a valid Ed25519 identity PEM`);
    }
  }
  throw new AgentvaultError('INPUT', `${where} is not an identity PEM (expected a dfx/icp Ed25519 or secp256k1 key)`);
}

const SEC1_VERSION_AND_KEY_HEADER = Buffer.from('0201010420', 'hex');
const SECP256K1_OID = Buffer.from('06052b8104000a', 'hex');

/**
 * The 32-byte secret of a SEC1 "EC PRIVATE KEY" on secp256k1, as dfx and
 * `openssl ecparam -name secp256k1 -genkey` write it; a leading "EC PARAMETERS" block (openssl's)
 * is skipped. Parsed here because Secp256k1KeyIdentity.fromPem rejects that block and prints a
 * stack trace to the console for keys it cannot read.
 */
export function secp256k1SecretKeyFromPem(pem: string): Uint8Array {
  const match = /-----BEGIN EC PRIVATE KEY-----([\s\S]*?)-----END EC PRIVATE KEY-----/.exec(pem);
  if (!match) throw new Error('no EC PRIVATE KEY block');
  const der = Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64');
  // SEQUENCE (short length) { INTEGER 1, OCTET STRING (32 bytes) key, [0] curve OID, [1] public key }
  if (der.length < 39 || der[0] !== 0x30 || der[1]! >= 0x80 || !der.subarray(2, 7).equals(SEC1_VERSION_AND_KEY_HEADER)) throw new Error('not a SEC1 EC private key');
  if (!der.subarray(39).includes(SECP256K1_OID)) throw new Error('not a secp256k1 key');
  return Uint8Array.from(der.subarray(7, 39));
}

export async function loadIdentity(choice: IdentityChoice, env: NodeJS.ProcessEnv = process.env): Promise<SignIdentity> {
  const file = choice.pemFile ?? (choice.name !== undefined ? dfxIdentityPath(choice.name, env) : undefined);
  if (file === undefined) {
    throw new AgentvaultError('USAGE', 'an identity is needed: give --identity-pem <file> or --identity <dfx identity name> (or set one with agentvault config set identity-pem <file>)');
  }
  let pem: string;
  try {
    pem = await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new AgentvaultError('INPUT', choice.name !== undefined && code === 'ENOENT' ? `no dfx identity named ${choice.name} (looked for ${file})` : `cannot read the identity file ${file}: ${code ?? 'error'}`);
  }
  return identityFromPem(pem, file);
}
