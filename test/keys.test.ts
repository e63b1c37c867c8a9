// Key files (src/repository/keys.ts, docs/FORMAT.md §2): which credentials open which tier of
// secrets, the errors that say what is missing, and that no secret is ever written unwrapped.
process.env.AGENTVAULT_SCRYPT_LOG_N ??= '12';

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { formatIdentityFile, generateIdentity, parseKeyFile as parseAgeKeyFile, type AgeIdentity, type AgeRecipient } from '../src/crypto/age-keys.js';
import { AgentvaultError, type ErrorCode } from '../src/errors.js';
import {
  generateKeys,
  makePasswordKeyFile,
  makePlainKeyFile,
  makeRecipientKeyFile,
  parseKeyFile,
  unlockKeys,
  type Credentials,
  type KeyFile,
  type RepositoryKeys,
} from '../src/repository/keys.js';

const FIXTURES = new URL('./fixtures/age/', import.meta.url);
const ageFile = (name: string) => parseAgeKeyFile(readFileSync(new URL(name, FIXTURES), 'utf8'));

const identity1: AgeIdentity = ageFile('identity-1.txt').identities[0]!;
const identity2: AgeIdentity = ageFile('identity-2.txt').identities[0]!;
const recipient1: AgeRecipient = ageFile('recipient-1.txt').recipients[0]!;
const recipient2: AgeRecipient = ageFile('recipient-2.txt').recipients[0]!;

const REPOSITORY_ID = '0123456789abcdef0123456789abcdef';

/** A key file as it is stored: JSON text, parsed back with the repository's parser. */
function roundTrip(file: KeyFile): { json: string; file: KeyFile } {
  const json = JSON.stringify(file, null, 2);
  return { json, file: parseKeyFile(Buffer.from(json), `${file.id}.json`) };
}

async function assertRejects(promise: Promise<unknown>, code: ErrorCode, pattern?: RegExp): Promise<AgentvaultError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof AgentvaultError, `expected AgentvaultError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (pattern) assert.match(caught.message, pattern);
  return caught;
}

function assertWriteSecretEqual(got: RepositoryKeys, want: RepositoryKeys): void {
  assert.ok(got.write.idKey.equals(want.write.idKey), 'idKey');
  assert.ok(got.write.metaKey.equals(want.write.metaKey), 'metaKey');
  assert.equal(got.write.chunkerSeed, want.write.chunkerSeed, 'chunkerSeed');
}

function assertFullAccess(got: RepositoryKeys, want: Required<RepositoryKeys>): void {
  assertWriteSecretEqual(got, want);
  assert.ok(got.identity, 'full access includes the repository identity');
  assert.ok(got.identity.secretKey.equals(want.identity.secretKey), 'repository identity secret');
  assert.equal(got.identity.recipient.encoded, want.identity.recipient.encoded);
}

describe('fixtures', () => {
  it('identity-1 and recipient-1 are one key pair, identity-2 another', () => {
    assert.equal(identity1.recipient.encoded, recipient1.encoded);
    assert.equal(identity2.recipient.encoded, recipient2.encoded);
    assert.notEqual(recipient1.encoded, recipient2.encoded);
  });
});

describe('password key files', () => {
  it('the right password unlocks full access', async () => {
    const keys = generateKeys();
    const { file } = roundTrip(await makePasswordKeyFile(keys, 'correct horse'));
    assert.equal(file.type, 'password');
    assert.equal(file.version, 1);
    assert.match(file.id, /^[0-9a-f]{16}$/);
    const unlocked = await unlockKeys([file], { password: 'correct horse' }, REPOSITORY_ID);
    assertFullAccess(unlocked, keys);
  });

  it('records the scrypt parameters it used, with a 16-byte salt', async () => {
    const { file } = roundTrip(await makePasswordKeyFile(generateKeys(), 'pw'));
    assert.equal(file.type, 'password');
    if (file.type !== 'password') return;
    assert.equal(file.kdf.algorithm, 'scrypt');
    assert.equal(file.kdf.N, 2 ** Number(process.env.AGENTVAULT_SCRYPT_LOG_N));
    assert.equal(file.kdf.r, 8);
    assert.equal(file.kdf.p, 1);
    assert.equal(Buffer.from(file.kdf.salt, 'base64').length, 16);
    // identity (32) + write secret (72), sealed: + nonce (12) + tag (16).
    assert.equal(Buffer.from(file.sealed, 'base64').length, 32 + 72 + 28);
  });

  it('a wrong password → WRONG_PASSWORD', async () => {
    const { file } = roundTrip(await makePasswordKeyFile(generateKeys(), 'correct horse'));
    await assertRejects(unlockKeys([file], { password: 'correct hors' }, REPOSITORY_ID), 'WRONG_PASSWORD', /wrong password/);
    await assertRejects(unlockKeys([file], { password: '' }, REPOSITORY_ID), 'WRONG_PASSWORD');
  });

  it('any of several password files may match', async () => {
    const keys = generateKeys();
    const files = [roundTrip(await makePasswordKeyFile(keys, 'first')).file, roundTrip(await makePasswordKeyFile(keys, 'second')).file];
    assertFullAccess(await unlockKeys(files, { password: 'second' }, REPOSITORY_ID), keys);
    assertFullAccess(await unlockKeys(files, { password: 'first' }, REPOSITORY_ID), keys);
    await assertRejects(unlockKeys(files, { password: 'third' }, REPOSITORY_ID), 'WRONG_PASSWORD');
  });

  it('a damaged sealed secret does not open', async () => {
    const { file } = roundTrip(await makePasswordKeyFile(generateKeys(), 'pw'));
    assert.equal(file.type, 'password');
    if (file.type !== 'password') return;
    const sealed = Buffer.from(file.sealed, 'base64');
    sealed[40]! ^= 1;
    await assertRejects(unlockKeys([{ ...file, sealed: sealed.toString('base64') }], { password: 'pw' }, REPOSITORY_ID), 'WRONG_PASSWORD');
  });

  it('an empty password is refused when creating a key file', async () => {
    await assertRejects(makePasswordKeyFile(generateKeys(), ''), 'USAGE');
  });

  it('a password given to a repository that has only age keys → WRONG_KEY saying to use a key file', async () => {
    const file = roundTrip(makeRecipientKeyFile(generateKeys(), recipient1, REPOSITORY_ID)).file;
    await assertRejects(unlockKeys([file], { password: 'pw' }, REPOSITORY_ID), 'WRONG_KEY', /--key-file/);
  });
});

describe('x25519 (age recipient) key files', () => {
  it('the age identity unlocks full access, including the repository identity', async () => {
    const keys = generateKeys();
    const { file } = roundTrip(makeRecipientKeyFile(keys, recipient1, REPOSITORY_ID));
    assert.equal(file.type, 'x25519');
    if (file.type === 'x25519') assert.equal(file.recipient, recipient1.encoded);
    const unlocked = await unlockKeys([file], { identities: [identity1] }, REPOSITORY_ID);
    assertFullAccess(unlocked, keys);
  });

  it('the recipient alone unlocks the write secret only, without the identity', async () => {
    const keys = generateKeys();
    const { file } = roundTrip(makeRecipientKeyFile(keys, recipient1, REPOSITORY_ID));
    const unlocked = await unlockKeys([file], { recipients: [recipient1] }, REPOSITORY_ID);
    assertWriteSecretEqual(unlocked, keys);
    assert.equal(unlocked.identity, undefined, 'a public key must not give read access');
  });

  it('the recipient works only for the repository id the key file was made for', async () => {
    const { file } = roundTrip(makeRecipientKeyFile(generateKeys(), recipient1, REPOSITORY_ID));
    await assertRejects(unlockKeys([file], { recipients: [recipient1] }, 'ffffffffffffffffffffffffffffffff'), 'CORRUPT');
  });

  it('picks the key file of the given identity among several', async () => {
    const keys = generateKeys();
    const files = [roundTrip(makeRecipientKeyFile(keys, recipient1, REPOSITORY_ID)).file, roundTrip(makeRecipientKeyFile(keys, recipient2, REPOSITORY_ID)).file];
    assertFullAccess(await unlockKeys(files, { identities: [identity2] }, REPOSITORY_ID), keys);
    assertFullAccess(await unlockKeys(files, { identities: [generateIdentity(), identity1] }, REPOSITORY_ID), keys);
  });

  it('prefers full access when both an identity and a recipient are given', async () => {
    const keys = generateKeys();
    const files = [roundTrip(makeRecipientKeyFile(keys, recipient1, REPOSITORY_ID)).file, roundTrip(makeRecipientKeyFile(keys, recipient2, REPOSITORY_ID)).file];
    const unlocked = await unlockKeys(files, { recipients: [recipient1], identities: [identity2] }, REPOSITORY_ID);
    assertFullAccess(unlocked, keys);
  });

  it('an identity that matches no key file → WRONG_KEY', async () => {
    const { file } = roundTrip(makeRecipientKeyFile(generateKeys(), recipient1, REPOSITORY_ID));
    await assertRejects(unlockKeys([file], { identities: [identity2] }, REPOSITORY_ID), 'WRONG_KEY', /does not match/);
    await assertRejects(unlockKeys([file], { identities: [generateIdentity()] }, REPOSITORY_ID), 'WRONG_KEY');
  });

  it('a recipient that matches no key file → WRONG_KEY', async () => {
    const { file } = roundTrip(makeRecipientKeyFile(generateKeys(), recipient1, REPOSITORY_ID));
    await assertRejects(unlockKeys([file], { recipients: [recipient2] }, REPOSITORY_ID), 'WRONG_KEY');
  });

  it('an identity given to a password-only repository → WRONG_KEY', async () => {
    const { file } = roundTrip(await makePasswordKeyFile(generateKeys(), 'pw'));
    await assertRejects(unlockKeys([file], { identities: [identity1] }, REPOSITORY_ID), 'WRONG_KEY');
  });

  it('the identity of a key file whose full secret was sealed under another key → WRONG_KEY', async () => {
    const keys = generateKeys();
    const good = roundTrip(makeRecipientKeyFile(keys, recipient1, REPOSITORY_ID)).file;
    const other = roundTrip(makeRecipientKeyFile(keys, recipient1, REPOSITORY_ID)).file;
    assert.ok(good.type === 'x25519' && other.type === 'x25519');
    // The stanza of one file with the sealed secret of another: the stanza opens, the secret does not.
    const mixed: KeyFile = { ...good, sealed: other.sealed };
    await assertRejects(unlockKeys([mixed], { identities: [identity1] }, REPOSITORY_ID), 'WRONG_KEY');
  });
});

describe('no credentials', () => {
  const cases: ReadonlyArray<readonly [string, (keys: Required<RepositoryKeys>) => Promise<KeyFile[]>, RegExp[], RegExp[]]> = [
    ['a password repository', async (k) => [await makePasswordKeyFile(k, 'pw')], [/password/], [/key-file/]],
    ['an age repository', async (k) => [makeRecipientKeyFile(k, recipient1, REPOSITORY_ID)], [/age key file/, /--key-file/], [/password/]],
    ['a repository with both', async (k) => [await makePasswordKeyFile(k, 'pw'), makeRecipientKeyFile(k, recipient1, REPOSITORY_ID)], [/password/, /age key file/], []],
  ];
  for (const [label, make, mentions, absent] of cases) {
    it(`${label} → NEED_KEY saying what is needed`, async () => {
      const files = (await make(generateKeys())).map((f) => roundTrip(f).file);
      for (const credentials of [{}, { identities: [] }, { recipients: [] }] satisfies Credentials[]) {
        const err = await assertRejects(unlockKeys(files, credentials, REPOSITORY_ID), 'NEED_KEY', /encrypted/);
        for (const m of mentions) assert.match(err.message, m);
        for (const a of absent) assert.doesNotMatch(err.message, a);
      }
    });
  }
});

describe('plain key files (unencrypted repositories)', () => {
  it('open without credentials and give the write secret only', async () => {
    const keys = generateKeys();
    const { json, file } = roundTrip(makePlainKeyFile(keys.write));
    assert.equal(file.type, 'plain');
    assert.equal(JSON.parse(json).writeSecret.length, Math.ceil(72 / 3) * 4, '72 bytes in base64');
    const unlocked = await unlockKeys([file], {}, REPOSITORY_ID);
    assertWriteSecretEqual(unlocked, keys);
    assert.equal(unlocked.identity, undefined);
    // Credentials are not needed and do not get in the way.
    assertWriteSecretEqual(await unlockKeys([file], { password: 'anything', identities: [identity1] }, REPOSITORY_ID), keys);
  });
});

describe('parseKeyFile', () => {
  it('a newer key-file version → NEWER_FORMAT naming both versions', async () => {
    const file = await makePasswordKeyFile(generateKeys(), 'pw');
    const json = JSON.stringify({ ...file, version: 2 });
    assert.throws(
      () => parseKeyFile(Buffer.from(json), 'abc.json'),
      (err: unknown) =>
        err instanceof AgentvaultError && err.code === 'NEWER_FORMAT' && /key format 2; this version reads up to 1/.test(err.message) && err.message.includes('abc.json'),
    );
  });

  it('malformed key files → CORRUPT naming the file', () => {
    const bad = ['not json', '[]', 'null', '{"version":1,"type":"magic"}', '{"type":"password"}', '{"version":0,"type":"plain"}'];
    for (const text of bad) {
      assert.throws(
        () => parseKeyFile(Buffer.from(text), 'k.json'),
        (err: unknown) => err instanceof AgentvaultError && err.code === 'CORRUPT' && err.message.includes('k.json'),
        text,
      );
    }
  });
});

describe('secrets are never written unwrapped', () => {
  function encodings(bytes: Buffer): string[] {
    return [
      bytes.toString('hex'),
      bytes.toString('hex').toUpperCase(),
      bytes.toString('base64'),
      bytes.toString('base64url'),
      // Substrings survive being embedded in a longer encoded run (base64 alignment).
      bytes.subarray(0, 24).toString('base64'),
      bytes.subarray(1, 25).toString('base64'),
      bytes.subarray(2, 26).toString('base64'),
    ];
  }

  function assertNoSecrets(json: string, keys: Required<RepositoryKeys>): void {
    const seed = Buffer.alloc(8);
    seed.writeBigUInt64LE(keys.write.chunkerSeed);
    const secrets: Record<string, Buffer> = {
      idKey: keys.write.idKey,
      metaKey: keys.write.metaKey,
      identity: keys.identity.secretKey,
      'write secret': Buffer.concat([keys.write.idKey, keys.write.metaKey, seed]),
      'full secret': Buffer.concat([keys.identity.secretKey, keys.write.idKey]),
    };
    for (const [name, bytes] of Object.entries(secrets)) {
      for (const enc of encodings(bytes)) assert.ok(!json.includes(enc), `key file JSON contains the ${name} (${enc.slice(0, 8)}…)`);
    }
    // The repository identity in age's own text form either.
    const secretLine = formatIdentityFile(keys.identity, new Date()).split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'))!;
    assert.ok(!json.toUpperCase().includes(secretLine.slice('AGE-SECRET-KEY-1'.length)), 'identity in bech32');
  }

  it('password key files', async () => {
    for (let i = 0; i < 3; i++) {
      const keys = generateKeys();
      assertNoSecrets(roundTrip(await makePasswordKeyFile(keys, 'pw')).json, keys);
    }
  });

  it('x25519 key files', () => {
    for (let i = 0; i < 3; i++) {
      const keys = generateKeys();
      assertNoSecrets(roundTrip(makeRecipientKeyFile(keys, recipient1, REPOSITORY_ID)).json, keys);
    }
  });

  it('the checks above do find a secret that is present', () => {
    const keys = generateKeys();
    for (const leak of [keys.write.idKey.toString('hex'), keys.write.metaKey.toString('base64'), keys.identity.secretKey.toString('base64url')]) {
      assert.throws(() => assertNoSecrets(JSON.stringify({ leak: `xx${leak}yy` }), keys), assert.AssertionError);
    }
  });

  it('random bytes are not mistaken for a secret', () => {
    const keys = generateKeys();
    assertNoSecrets(JSON.stringify({ noise: randomBytes(512).toString('base64') }), keys);
  });
});
