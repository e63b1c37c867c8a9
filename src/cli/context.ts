// What every repository command needs: where the repository is, how to unlock it, how to talk
// to the user (stdout for results, stderr for everything else).
import path from 'node:path';
import { LocalBackend } from '../backend/local.js';
import { AgentvaultError } from '../errors.js';
import type { AgeRecipient } from '../crypto/age-keys.js';
import { Repository, type InitOptions } from '../repository/repository.js';
import { askPassword, gatherCredentials, type GatheredCredentials } from './credentials.js';
import type { Options } from './options.js';
import { terminalAvailable } from './prompt.js';
import { defaultRepositoryPath, readUserConfig, type UserConfig } from './user-config.js';

export interface CommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WriteStream | NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
}

export class CommandContext {
  #userConfig: UserConfig | undefined;

  constructor(
    readonly opts: Options,
    readonly io: CommandIo = { stdout: process.stdout, stderr: process.stderr, env: process.env },
  ) {}

  get json(): boolean {
    return this.opts.bool('json') === true;
  }

  get quiet(): boolean {
    return this.opts.bool('quiet') === true;
  }

  /** Results: the one thing a script wants from stdout. */
  out(line: string): void {
    this.io.stdout.write(line.endsWith('\n') ? line : `${line}\n`);
  }

  outJson(value: unknown): void {
    this.out(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2));
  }

  /** Human messages: stderr, silenced by --quiet and --json. */
  info(line: string): void {
    if (!this.quiet && !this.json) this.io.stderr.write(`${line}\n`);
  }

  warn(line: string): void {
    this.io.stderr.write(`agentvault: warning: ${line}\n`);
  }

  /** Whether progress should be drawn: stderr is a terminal and output is for humans. */
  get showProgress(): boolean {
    return Boolean((this.io.stderr as NodeJS.WriteStream).isTTY) && !this.quiet && !this.json;
  }

  async userConfig(): Promise<UserConfig> {
    this.#userConfig ??= await readUserConfig();
    return this.#userConfig;
  }

  /** --destination, else AGENTVAULT_REPO, else the configured destination, else the user data dir. */
  async repositoryPath(): Promise<string> {
    const given = this.opts.string('destination') ?? this.io.env.AGENTVAULT_REPO ?? (await this.userConfig()).backup?.destination;
    return path.resolve(given ?? defaultRepositoryPath(this.io.env));
  }

  async credentials(): Promise<GatheredCredentials> {
    return gatherCredentials(this.opts, this.io.env, (m) => this.warn(m));
  }

  /** Opens (and unlocks) the repository, asking for a password on the terminal if one is needed. */
  async openRepository(): Promise<Repository> {
    const store = new LocalBackend(await this.repositoryPath());
    let credentials = await this.credentials();
    if (credentials.wantsPrompt) credentials = { ...credentials, password: await askPassword(false) };
    try {
      return await Repository.open(store, credentials);
    } catch (err) {
      if (err instanceof AgentvaultError && err.code === 'NEED_KEY' && err.message.includes('password') && terminalAvailable()) {
        return Repository.open(store, { ...credentials, password: await askPassword(false) });
      }
      throw err;
    }
  }

  /** Opens the repository, or creates it when there is none yet (first backup). */
  async openOrCreateRepository(init: Omit<InitOptions, 'password' | 'recipients'>): Promise<{ repository: Repository; created: boolean }> {
    const store = new LocalBackend(await this.repositoryPath());
    if (await Repository.exists(store)) return { repository: await this.openRepository(), created: false };
    return { repository: await this.createRepository(store, init), created: true };
  }

  async createRepository(store: LocalBackend, init: Omit<InitOptions, 'password' | 'recipients'>): Promise<Repository> {
    const secrets = await this.credentialsForNewKeys(init.encryption !== 'none');
    const repository = await Repository.init(store, { ...init, ...secrets });
    this.info(`created ${init.encryption === 'none' ? 'an unencrypted' : 'an encrypted'} repository at ${store.location}`);
    return repository;
  }

  /** What protects new keys (a repository, a stream): password and/or age recipients; asks on the terminal if neither. */
  async credentialsForNewKeys(encrypt: boolean): Promise<{ password?: string; recipients: AgeRecipient[] }> {
    const credentials = await this.credentials();
    let password = credentials.password;
    const recipients = [...(credentials.recipients ?? [])];
    if (encrypt && (credentials.wantsPrompt || (password === undefined && recipients.length === 0))) {
      if (!terminalAvailable() && !credentials.wantsPrompt) {
        throw new AgentvaultError('NEED_KEY', 'encryption needs a password (AGENTVAULT_PASSWORD, --password-file) or an age key file (--key-file); or use --no-encrypt');
      }
      password = await askPassword(true);
    }
    return { ...(password !== undefined ? { password } : {}), recipients };
  }
}
