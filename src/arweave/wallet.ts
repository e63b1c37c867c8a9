// An Arweave wallet: a JWK (RSA) read from a file path — never from an argument or the
// environment — that signs transactions. The private key stays inside this object: it is not
// enumerable, not JSON-serialisable and not shown by console.log, so it cannot end up in output
// or logs by accident. Error messages name the file, never its content.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { inspect } from 'node:util';
import Arweave from 'arweave';
import type { JWKInterface } from 'arweave/node/lib/wallet.js';
import { AgentvaultError } from '../errors.js';

/** arweave-js's Transaction class (its module is CommonJS with a default export). */
export type Transaction = Awaited<ReturnType<Arweave['createTransaction']>>;

const JWK_FIELDS = ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'] as const;

// Used for its crypto only; it never opens a connection.
const arweave = Arweave.init({});

export class ArweaveWallet {
  readonly #jwk: JWKInterface;
  /** base64url(sha256(modulus)): the public account id. */
  readonly address: string;

  private constructor(
    jwk: JWKInterface,
    readonly file: string,
  ) {
    this.#jwk = jwk;
    this.address = createHash('sha256').update(Buffer.from(jwk.n, 'base64url')).digest('base64url');
  }

  /** Reads a JWK file. `warnings` mentions a file other users can read. */
  static async load(file: string): Promise<{ wallet: ArweaveWallet; warnings: string[] }> {
    let text: string;
    let mode: number;
    try {
      const handle = await fs.open(file, 'r');
      try {
        mode = (await handle.stat()).mode;
        text = await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    } catch (err) {
      throw new AgentvaultError('INPUT', `cannot read the wallet file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    const warnings = mode & 0o077 ? [`the wallet file ${file} can be read by other users (chmod 600 it)`] : [];
    return { wallet: ArweaveWallet.fromJwk(parseJwk(text, file), file), warnings };
  }

  static fromJwk(jwk: JWKInterface, file = '(in memory)'): ArweaveWallet {
    return new ArweaveWallet(jwk, file);
  }

  /** The public key (RSA modulus, base64url): a transaction's `owner`. */
  get owner(): string {
    return this.#jwk.n;
  }

  /** Signs in place: sets owner, signature and id. */
  async sign(transaction: Transaction): Promise<void> {
    await arweave.transactions.sign(transaction, this.#jwk);
  }

  toJSON(): { address: string; file: string } {
    return { address: this.address, file: this.file };
  }

  [inspect.custom](): string {
    return `ArweaveWallet(${this.address})`;
  }
}

function parseJwk(text: string, file: string): JWKInterface {
  const bad = () => new AgentvaultError('INPUT', `the wallet file ${file} is not an Arweave key (a JWK: JSON with kty "RSA" and fields ${JWK_FIELDS.join(', ')})`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bad();
  }
  const jwk = parsed as Record<string, unknown>;
  if (typeof jwk !== 'object' || jwk === null || jwk.kty !== 'RSA' || !JWK_FIELDS.every((k) => typeof jwk[k] === 'string' && (jwk[k] as string).length > 0)) throw bad();
  return { kty: 'RSA', ...(Object.fromEntries(JWK_FIELDS.map((k) => [k, jwk[k] as string])) as Omit<JWKInterface, 'kty'>) };
}
