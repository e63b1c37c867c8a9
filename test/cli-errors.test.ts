// Bad input and damaged repositories: every failure is one clear line on stderr
// (`agentvault: …`), a non-zero exit (1, or 2 for usage errors), no secret in the output, and
// nothing lost — the repository still verifies, or exactly the damage is reported and the other
// backups still restore byte-identical.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { runCli, type CliResult } from './helpers/cli.js';
import { seededBytes, tempDir } from './helpers/tmp.js';

const PASSWORD = 'correct horse battery staple';
const WRONG_PASSWORD = 'incorrect donkey battery stapler';
const AGE = path.resolve(import.meta.dirname, 'fixtures', 'age');
const IDENTITY_1 = path.join(AGE, 'identity-1.txt');
const IDENTITY_2 = path.join(AGE, 'identity-2.txt');
const RECIPIENT_1 = path.join(AGE, 'recipient-1.txt');

/** The AGE-SECRET-KEY-1… line of an identity file. */
function secretKeyLine(file: string): string {
  const line = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('AGE-SECRET-KEY-1'));
  assert.ok(line, `${file} has a secret key line`);
  return line;
}

const AGE_SECRETS = [secretKeyLine(IDENTITY_1), secretKeyLine(IDENTITY_2)];
const ALL_SECRETS = [PASSWORD, WRONG_PASSWORD, ...AGE_SECRETS, ...AGE_SECRETS.map((s) => s.slice(16, 40))];

function assertNoSecrets(result: CliResult, secrets: readonly string[] = ALL_SECRETS): void {
  for (const secret of secrets) {
    assert.ok(!result.stdout.includes(secret), 'a secret appears on stdout');
    assert.ok(!result.stderr.includes(secret), 'a secret appears on stderr');
  }
}

/** Exit code, exactly one `agentvault: …` line on stderr matching `message`, and no secret anywhere. */
function assertFails(result: CliResult, exitCode: 1 | 2, message: RegExp): string {
  assert.equal(result.signal, null, `killed by ${result.signal}`);
  assert.equal(result.code, exitCode, `exit code ${result.code}; stderr: ${result.stderr}`);
  assert.match(result.stderr, /^agentvault: [^\n]+\n$/, `stderr is not one "agentvault: " line: ${JSON.stringify(result.stderr)}`);
  assert.match(result.stderr, message);
  assertNoSecrets(result);
  return result.stderr.trim();
}

function assertOk(result: CliResult): void {
  assert.equal(result.code, 0, `exit code ${result.code}; stderr: ${result.stderr}`);
  assertNoSecrets(result);
}

interface Repo {
  readonly home: string;
  readonly repo: string;
  readonly env: Record<string, string>;
  /** Extra arguments every command needs (credentials other than the password). */
  readonly args: readonly string[];
}

function passwordRepo(t: TestContext): Repo {
  const home = tempDir(t);
  const repo = path.join(home, 'repo');
  return { home, repo, env: { AGENTVAULT_PASSWORD: PASSWORD }, args: [] };
}

function cli(r: Repo, args: readonly string[], options: { input?: Buffer; env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  return runCli([...args, '--destination', r.repo, ...r.args], {
    home: r.home,
    env: { ...r.env, ...options.env },
    ...(options.input !== undefined ? { input: options.input } : {}),
  });
}

async function create(r: Repo, name: string, bytes: Buffer, extra: readonly string[] = []): Promise<{ id: string; file: string }> {
  const file = path.join(r.home, name);
  fs.writeFileSync(file, bytes);
  const result = await cli(r, ['backup', 'create', '--file', file, '--json', ...extra]);
  assertOk(result);
  return { id: JSON.parse(result.stdout).id as string, file };
}

async function assertVerifies(r: Repo, backups?: number): Promise<void> {
  const result = await cli(r, ['backup', 'verify', '--all', '--read-data']);
  assertOk(result);
  assert.match(result.stdout, /^ok: /);
  if (backups !== undefined) assert.match(result.stdout, new RegExp(`^ok: ${backups} backup\\(s\\)`));
}

/** verify --all --read-data fails and prints exactly one problem line, which is returned. */
async function assertOneProblem(r: Repo): Promise<string> {
  const result = await cli(r, ['backup', 'verify', '--all', '--read-data']);
  assertFails(result, 1, /^agentvault: verification failed: 1 problem\(s\)/);
  const problems = result.stdout.split('\n').filter((l) => l.startsWith('problem: '));
  assert.equal(problems.length, 1, result.stdout);
  return problems[0]!;
}

async function assertRestores(r: Repo, id: string, original: string): Promise<void> {
  const result = await cli(r, ['backup', 'restore', id, '--stdout']);
  assertOk(result);
  assert.ok(result.stdoutBytes.equals(fs.readFileSync(original)), `backup ${id} did not restore byte-identical`);
}

async function backupIds(r: Repo): Promise<string[]> {
  const result = await cli(r, ['backup', 'list', '--json']);
  assertOk(result);
  return (JSON.parse(result.stdout) as Array<{ id: string }>).map((b) => b.id).sort();
}

function packFiles(repo: string): string[] {
  const packs = path.join(repo, 'packs');
  return fs
    .readdirSync(packs)
    .flatMap((d) => fs.readdirSync(path.join(packs, d)).map((f) => path.join(packs, d, f)))
    .sort();
}

/** Two backups of different random files; each has its own pack. */
async function twoBackups(t: TestContext): Promise<{ r: Repo; a: { id: string; file: string; pack: string }; b: { id: string; file: string; pack: string } }> {
  const r = passwordRepo(t);
  const a = await create(r, 'a.bin', seededBytes(300_000, 21));
  const packsA = packFiles(r.repo);
  assert.equal(packsA.length, 1);
  const b = await create(r, 'b.bin', seededBytes(200_000, 22));
  const packsB = packFiles(r.repo).filter((p) => !packsA.includes(p));
  assert.equal(packsB.length, 1);
  return { r, a: { ...a, pack: packsA[0]! }, b: { ...b, pack: packsB[0]! } };
}

function entriesLike(dir: string, pattern: RegExp): string[] {
  return fs.readdirSync(dir).filter((name) => pattern.test(name));
}

test('a wrong password is refused with "wrong password"; the repository is untouched', async (t) => {
  const { r, a, b } = await twoBackups(t);
  const wrong = { env: { AGENTVAULT_PASSWORD: WRONG_PASSWORD } };
  assertFails(await cli(r, ['backup', 'list'], wrong), 1, /wrong password/);
  const target = path.join(r.home, 'out.bin');
  assertFails(await cli(r, ['backup', 'restore', a.id, '--target', target], wrong), 1, /wrong password/);
  assert.equal(fs.existsSync(target), false);
  assertFails(await cli(r, ['backup', 'create', '--file', b.file], wrong), 1, /wrong password/);
  assert.deepEqual(await backupIds(r), [a.id, b.id].sort());
  await assertVerifies(r, 2);
});

test('an age identity that is not a key of the repository is refused; the right one opens it', async (t) => {
  const home = tempDir(t);
  const r: Repo = { home, repo: path.join(home, 'repo'), env: {}, args: ['--key-file', IDENTITY_1] };
  const a = await create(r, 'a.bin', seededBytes(150_000, 31));
  const other: Repo = { ...r, args: ['--key-file', IDENTITY_2] };
  assertFails(await cli(other, ['backup', 'list']), 1, /key file does not match any key of this repository/);
  assertFails(await cli(other, ['backup', 'restore', a.id, '--stdout']), 1, /key file does not match any key of this repository/);
  // A password does not open a repository that was created with a key file only.
  assertFails(await cli({ ...r, args: [], env: { AGENTVAULT_PASSWORD: PASSWORD } }, ['backup', 'list']), 1, /no password.*--key-file/);
  await assertVerifies(r, 1);
  await assertRestores(r, a.id, a.file);
});

test('a malformed key file is named in the error, without echoing the key', async (t) => {
  const home = tempDir(t);
  const r: Repo = { home, repo: path.join(home, 'repo'), env: {}, args: ['--key-file', IDENTITY_1] };
  const a = await create(r, 'a.bin', seededBytes(100_000, 32));

  // identity-1 with one character of its secret changed: the bech32 checksum fails.
  const damaged = path.join(home, 'damaged-identity.txt');
  const secret = secretKeyLine(IDENTITY_1);
  const at = 30;
  const changed = secret.slice(0, at) + (secret[at] === 'Q' ? 'P' : 'Q') + secret.slice(at + 1);
  fs.writeFileSync(damaged, fs.readFileSync(IDENTITY_1, 'utf8').replace(secret, changed));
  const result = await cli({ ...r, args: ['--key-file', damaged] }, ['backup', 'list']);
  assertFails(result, 1, /damaged-identity\.txt: key file line 3: invalid age identity: bad bech32 checksum/);
  assertNoSecrets(result, [changed, changed.slice(16, 40)]);

  const garbage = path.join(home, 'garbage.txt');
  fs.writeFileSync(garbage, 'this is not a key\n');
  assertFails(await cli({ ...r, args: ['--key-file', garbage] }, ['backup', 'list']), 1, /garbage\.txt: key file line 1: not an age identity/);

  const empty = path.join(home, 'empty.txt');
  fs.writeFileSync(empty, '');
  assertFails(await cli({ ...r, args: ['--key-file', empty] }, ['backup', 'list']), 1, /empty\.txt: key file contains no age identities or recipients/);

  assertFails(await cli({ ...r, args: ['--key-file', path.join(home, 'absent.txt')] }, ['backup', 'list']), 1, /cannot read the key file .*absent\.txt: ENOENT/);
  await assertVerifies(r, 1);
  await assertRestores(r, a.id, a.file);
});

test('a repository made with only the age public key takes and lists backups but cannot restore them; the identity can', async (t) => {
  const home = tempDir(t);
  const writer: Repo = { home, repo: path.join(home, 'repo'), env: {}, args: ['--key-file', RECIPIENT_1] };
  const a = await create(writer, 'a.bin', seededBytes(250_000, 41));
  const b = await create(writer, 'b.bin', seededBytes(120_000, 42));

  const listed = await cli(writer, ['backup', 'list']);
  assertOk(listed);
  assert.ok(listed.stdout.includes(a.id) && listed.stdout.includes(b.id), listed.stdout);

  const target = path.join(home, 'restored.bin');
  assertFails(await cli(writer, ['backup', 'restore', a.id, '--target', target]), 1, /public key only allows writing/);
  assert.equal(fs.existsSync(target), false);
  assert.deepEqual(entriesLike(home, /\.partial$/), []);
  assertFails(await cli(writer, ['backup', 'restore', b.id, '--stdout']), 1, /public key only allows writing/);

  const reader: Repo = { ...writer, args: ['--key-file', IDENTITY_1] };
  const restored = await cli(reader, ['backup', 'restore', a.id, '--target', target]);
  assertOk(restored);
  assert.ok(fs.readFileSync(target).equals(fs.readFileSync(a.file)), 'restored bytes differ');
  await assertRestores(reader, b.id, b.file);
  await assertVerifies(reader, 2);
});

test('a truncated pack: restore names backup, entry and offset; verify reports it; other backups restore', async (t) => {
  const { r, a, b } = await twoBackups(t);
  const size = fs.statSync(a.pack).size;
  fs.truncateSync(a.pack, Math.floor(size / 2));

  const target = path.join(r.home, 'out.bin');
  const message = assertFails(await cli(r, ['backup', 'restore', a.id, '--target', target]), 1, /truncated/);
  assert.ok(message.includes(`backup ${a.id}`), message);
  assert.match(message, /offset \d+ of entry "a\.bin"/);
  assert.equal(fs.existsSync(target), false);
  assert.deepEqual(entriesLike(r.home, /\.partial$/), []);

  const problem = await assertOneProblem(r);
  assert.ok(problem.includes(`pack ${path.basename(a.pack)} is ${Math.floor(size / 2)} bytes but the index says ${size}`), problem);
  assert.ok(problem.includes(`backup ${a.id}`), problem);

  await assertRestores(r, b.id, b.file);
});

test('a flipped byte in a pack: restore fails naming backup, entry and offset and leaves no file, not even a temp one', async (t) => {
  const { r, a, b } = await twoBackups(t);
  const bytes = fs.readFileSync(a.pack);
  const at = Math.floor(bytes.length / 2); // well inside the chunk data: away from header and trailer
  bytes[at] = bytes[at]! ^ 0x55;
  fs.writeFileSync(a.pack, bytes);

  const targetDir = path.join(r.home, 'restore-here');
  fs.mkdirSync(targetDir);
  const target = path.join(targetDir, 'a.bin');
  const message = assertFails(await cli(r, ['backup', 'restore', a.id, '--target', target]), 1, /checksum mismatch|corrupt/);
  assert.ok(message.includes(`backup ${a.id}`), message);
  const offset = /offset (\d+) of entry "a\.bin"/.exec(message)?.[1];
  assert.ok(offset !== undefined, message);
  assert.ok(Number(offset) > 0, 'the damage is in the middle of the file, not its first chunk');
  assert.equal(fs.existsSync(target), false, 'a damaged restore left the target in place');
  assert.deepEqual(fs.readdirSync(targetDir), [], 'a damaged restore left files behind');

  const problem = await assertOneProblem(r);
  assert.ok(problem.includes(`backup ${a.id}: chunk at offset ${offset} of entry "a.bin" (pack ${path.basename(a.pack)}) is corrupt`), problem);

  await assertRestores(r, b.id, b.file);
  const restoredB = path.join(targetDir, 'b.bin');
  assertOk(await cli(r, ['backup', 'restore', b.id, '--target', restoredB]));
  assert.ok(fs.readFileSync(restoredB).equals(fs.readFileSync(b.file)));
});

test('a missing pack: restore and verify name what is missing; other backups restore', async (t) => {
  const { r, a, b } = await twoBackups(t);
  fs.rmSync(a.pack);

  const target = path.join(r.home, 'out.bin');
  const message = assertFails(await cli(r, ['backup', 'restore', a.id, '--target', target]), 1, /missing/);
  assert.ok(message.includes(`backup ${a.id}`), message);
  assert.match(message, /offset \d+ of entry "a\.bin"/);
  assert.ok(message.includes(path.basename(a.pack)), message);
  assert.equal(fs.existsSync(target), false);
  assert.deepEqual(entriesLike(r.home, /\.partial$/), []);

  const problem = await assertOneProblem(r);
  assert.equal(problem, `problem: pack ${path.basename(a.pack)} is missing (needed by backup ${a.id})`);

  await assertRestores(r, b.id, b.file);
});

test('a manifest from a newer format version is refused by restore and verify and skipped with a warning by list, naming both versions', async (t) => {
  const { r, a, b } = await twoBackups(t);
  const manifest = path.join(r.repo, 'manifests', a.id);
  const original = fs.readFileSync(manifest);
  assert.equal(original.toString('latin1', 0, 4), 'AVMF');
  assert.equal(original.readUInt16LE(4), 1);
  const newer = Buffer.from(original);
  newer.writeUInt16LE(2, 4);
  fs.writeFileSync(manifest, newer);

  const newerFormat = /written by a newer agentvault \(manifest format 2; this version reads up to 1\)/;
  // list shows the backups it can read and warns, naming both versions, about the one it cannot.
  const listed = await cli(r, ['backup', 'list']);
  assertOk(listed);
  assert.match(listed.stderr, new RegExp(`warning: skipping backup ${a.id}: .*${newerFormat.source}`));
  assert.ok(listed.stdout.includes(b.id) && !listed.stdout.includes(a.id), listed.stdout);
  const message = assertFails(await cli(r, ['backup', 'restore', a.id, '--stdout']), 1, newerFormat);
  assert.ok(message.includes(a.id), message);
  // verify reports it as a problem rather than guessing; a backup in the old format still restores.
  const verified = await cli(r, ['backup', 'verify', '--all', '--read-data']);
  assert.equal(verified.code, 1);
  assert.match(verified.stdout, new RegExp(`problem: backup ${a.id}: .*${newerFormat.source}`));
  await assertRestores(r, b.id, b.file);

  assert.ok(fs.readFileSync(manifest).equals(newer), 'a reader changed the newer manifest');
  fs.writeFileSync(manifest, original);
  await assertVerifies(r, 2);
});

test('a repository config from a newer format version is refused, naming both versions', async (t) => {
  const { r, a, b } = await twoBackups(t);
  const configPath = path.join(r.repo, 'config');
  const original = fs.readFileSync(configPath);
  const config = JSON.parse(original.toString('utf8'));
  assert.equal(config.version, 1);
  const newer = Buffer.from(JSON.stringify({ ...config, version: 2 }, null, 2) + '\n');
  fs.writeFileSync(configPath, newer);

  const newerFormat = /written by a newer agentvault \(repository format 2; this version reads up to 1\)/;
  assertFails(await cli(r, ['backup', 'list']), 1, newerFormat);
  assertFails(await cli(r, ['backup', 'restore', a.id, '--stdout']), 1, newerFormat);
  assertFails(await cli(r, ['backup', 'create', '--file', b.file]), 1, newerFormat);
  assertFails(await cli(r, ['backup', 'verify', '--all', '--read-data']), 1, newerFormat);

  assert.ok(fs.readFileSync(configPath).equals(newer), 'a reader changed the newer config');
  fs.writeFileSync(configPath, original);
  assert.deepEqual(await backupIds(r), [a.id, b.id].sort());
  await assertVerifies(r, 2);
});

test('an unknown backup id, an ambiguous prefix, and latest with no backups are clear errors', async (t) => {
  const { r, a, b } = await twoBackups(t);
  assertFails(await cli(r, ['backup', 'restore', 'zzzzzzzzzzzz', '--stdout']), 1, /no backup zzzzzzzzzzzz in /);
  assertFails(await cli(r, ['backup', 'verify', 'zzzz']), 1, /no backup zzzz in /);

  let prefix = '';
  while (prefix.length < a.id.length && a.id[prefix.length] === b.id[prefix.length]) prefix += a.id[prefix.length];
  assert.ok(prefix.length > 0, `ids ${a.id} and ${b.id} made moments apart share their leading time characters`);
  const message = assertFails(await cli(r, ['backup', 'restore', prefix, '--stdout']), 1, /ambiguous/);
  assert.ok(message.includes(`prefix ${prefix}`) && message.includes(a.id) && message.includes(b.id), message);
  // One more character makes it unique.
  await assertRestores(r, a.id.slice(0, prefix.length + 1), a.file);
  await assertVerifies(r, 2);

  const empty = passwordRepo(t);
  assertOk(await cli(empty, ['backup', 'init']));
  assertFails(await cli(empty, ['backup', 'restore', 'latest', '--stdout']), 1, /no backups in /);
  await assertVerifies(empty, 0);
});

test('restore refuses to replace an existing target without --force and replaces it with --force', async (t) => {
  const { r, a } = await twoBackups(t);
  const target = path.join(r.home, 'existing.bin');
  fs.writeFileSync(target, 'keep me\n');
  assertFails(await cli(r, ['backup', 'restore', a.id, '--target', target]), 1, /already exists; use --force/);
  assert.equal(fs.readFileSync(target, 'utf8'), 'keep me\n');

  const forced = await cli(r, ['backup', 'restore', a.id, '--target', target, '--force']);
  assertOk(forced);
  assert.ok(fs.readFileSync(target).equals(fs.readFileSync(a.file)));
  assert.deepEqual(entriesLike(r.home, /\.partial$/), []);
  await assertVerifies(r, 2);
});

test('stdin that closes before --size bytes is an error; no backup is written', async (t) => {
  const r = passwordRepo(t);
  assertOk(await cli(r, ['backup', 'init']));
  const result = await cli(r, ['backup', 'create', '--stdin', '--size', '100000'], { input: seededBytes(5000, 51) });
  assertFails(result, 1, /stdin closed early: got 5000 of 100000 expected bytes; no backup was written/);
  assert.deepEqual(await backupIds(r), []);
  assert.deepEqual(fs.readdirSync(path.join(r.repo, 'manifests')), []);
  assert.deepEqual(fs.readdirSync(path.join(r.repo, 'tmp')), []);
  assert.deepEqual(fs.readdirSync(path.join(r.repo, 'locks')), []);
  await assertVerifies(r, 0);
});

test('usage errors exit 2 with one line naming the problem, and change nothing', async (t) => {
  const { r, a, b } = await twoBackups(t);
  const cases: Array<[readonly string[], RegExp]> = [
    [['frobnicate'], /unknown command "frobnicate"/],
    [['backup', 'frobnicate'], /unknown command: agentvault backup frobnicate/],
    [['backup', 'list', '--bogus'], /unknown option --bogus/i],
    [['backup', 'restore', a.id], /give --target <path> or --stdout/],
    [['backup', 'create', '--file', a.file, '--type', 'bogus'], /--type must be one of full, incremental, differential; got "bogus"/],
    [['backup', 'create', '--file', a.file, '--level', 'abc'], /--level must be a whole number, got "abc"/],
    [['backup', 'create', '--file', a.file, '--stdin'], /give only one source: .*--file, --stdin or --project/],
  ];
  for (const [args, message] of cases) assertFails(await cli(r, args), 2, message);

  // Usage errors are found before a repository is touched: none is created at a new destination.
  const fresh: Repo = { ...r, repo: path.join(r.home, 'not-created') };
  for (const [args, message] of cases.slice(4)) assertFails(await cli(fresh, args), 2, message);
  assert.equal(fs.existsSync(fresh.repo), false);

  assert.deepEqual(await backupIds(r), [a.id, b.id].sort());
  await assertVerifies(r, 2);
});

test('--password <value> works but warns that the command line is visible to others', async (t) => {
  const { r, a } = await twoBackups(t);
  const noEnvPassword = { env: { AGENTVAULT_PASSWORD: undefined } };
  const listed = await cli({ ...r, args: ['--password', PASSWORD] }, ['backup', 'list', '--json'], noEnvPassword);
  assertOk(listed);
  assert.match(listed.stderr, /^agentvault: warning: a password on the command line can be seen by other users/m);
  assert.equal((JSON.parse(listed.stdout) as unknown[]).length, 2);

  const restored = await cli({ ...r, args: [`--password=${PASSWORD}`] }, ['backup', 'restore', a.id, '--stdout'], noEnvPassword);
  assertOk(restored);
  assert.match(restored.stderr, /warning: a password on the command line/);
  assert.ok(restored.stdoutBytes.equals(fs.readFileSync(a.file)));
});

test('a missing input file and a directory given to --file are named; no backup, no repository created', async (t) => {
  const { r, a, b } = await twoBackups(t);
  const missing = path.join(r.home, 'does-not-exist.bin');
  assertFails(await cli(r, ['backup', 'create', '--file', missing]), 1, /no such file: .*does-not-exist\.bin/);
  assertFails(await cli(r, ['backup', 'create', '--file', r.home]), 1, /is a directory; back it up with --project/);
  assert.deepEqual(await backupIds(r), [a.id, b.id].sort());
  await assertVerifies(r, 2);

  const fresh: Repo = { ...r, repo: path.join(r.home, 'not-created') };
  assertFails(await cli(fresh, ['backup', 'create', '--file', '/nonexistent']), 1, /no such file: \/nonexistent/);
  assert.equal(fs.existsSync(fresh.repo), false);
});
