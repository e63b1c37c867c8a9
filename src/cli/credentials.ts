// Where passwords and keys come from: --password-file (or AGENTVAULT_PASSWORD_FILE),
// AGENTVAULT_PASSWORD, --key-file, an
// interactive prompt (no echo), or — with a warning — a value on the command line. Secrets are
// held in memory only.
import fs from 'node:fs/promises';
import { parseKeyFile as parseAgeKeyFile, AgeKeyError } from '../crypto/age-keys.js';
import { AgentvaultError } from '../errors.js';
import type { Credentials } from '../repository/keys.js';
import type { Options } from './options.js';
import { promptHidden } from './prompt.js';

export interface GatheredCredentials extends Credentials {
  /** True when the user asked to be prompted (`--password` with no value). */
  readonly wantsPrompt: boolean;
}

export async function gatherCredentials(opts: Options, env: NodeJS.ProcessEnv = process.env, warn: (m: string) => void = (m) => process.stderr.write(`agentvault: warning: ${m}\n`)): Promise<GatheredCredentials> {
  let password: string | undefined;
  let wantsPrompt = false;
  const file = opts.string('password-file') ?? (env.AGENTVAULT_PASSWORD_FILE || undefined);
  const flag = opts.flagOrString('password');
  if (file !== undefined) {
    try {
      password = (await fs.readFile(file, 'utf8')).replace(/\r?\n$/, '');
    } catch (err) {
      throw new AgentvaultError('INPUT', `cannot read the password file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    if (password.length === 0) throw new AgentvaultError('INPUT', `the password file ${file} is empty`);
  } else if (typeof flag === 'string') {
    warn('a password on the command line can be seen by other users of this machine (ps, shell history); prefer AGENTVAULT_PASSWORD or --password-file');
    password = flag;
  } else if (flag === true) {
    wantsPrompt = true;
  } else if (env.AGENTVAULT_PASSWORD !== undefined && env.AGENTVAULT_PASSWORD !== '') {
    password = env.AGENTVAULT_PASSWORD;
  }

  const identities = [];
  const recipients = [];
  for (const keyFile of opts.strings('key-file')) {
    let text: string;
    try {
      text = await fs.readFile(keyFile, 'utf8');
    } catch (err) {
      throw new AgentvaultError('INPUT', `cannot read the key file ${keyFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    try {
      const parsed = parseAgeKeyFile(text);
      identities.push(...parsed.identities);
      recipients.push(...parsed.recipients);
    } catch (err) {
      if (err instanceof AgeKeyError) throw new AgentvaultError('WRONG_KEY', `${keyFile}: ${err.message}`);
      throw err;
    }
  }
  return {
    ...(password !== undefined ? { password } : {}),
    identities,
    recipients,
    wantsPrompt,
  };
}

export async function askPassword(confirm: boolean): Promise<string> {
  const first = await promptHidden(confirm ? 'New repository password: ' : 'Repository password: ');
  if (first.length === 0) throw new AgentvaultError('USAGE', 'the password is empty');
  if (confirm) {
    const again = await promptHidden('Repeat the password: ');
    if (again !== first) throw new AgentvaultError('USAGE', 'the passwords do not match');
  }
  return first;
}
