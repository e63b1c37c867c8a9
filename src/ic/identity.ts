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
    try {
      return Secp256k1KeyIdentity.fromPem(pem);
    } catch {
      throw new AgentvaultError('INPUT', `${where} is not a valid secp256k1 identity PEM`);
    }
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
