import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ProjectWalkError, walkProject, type ProjectFile, type ProjectWalkOptions } from '../src/sources/project-walk.js';

/** Spec: 'dir/' = empty directory, otherwise file path => contents. */
async function makeProject(t: TestContext, spec: Readonly<Record<string, string>>): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'agentvault-walk-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  for (const [relative, contents] of Object.entries(spec)) {
    const absolute = path.join(root, relative);
    if (relative.endsWith('/')) {
      await mkdir(absolute, { recursive: true });
    } else {
      await mkdir(path.dirname(absolute), { recursive: true });
      await writeFile(absolute, contents);
    }
  }
  return root;
}

async function collect(root: string, options?: ProjectWalkOptions): Promise<ProjectFile[]> {
  const files: ProjectFile[] = [];
  for await (const file of walkProject(root, options)) files.push(file);
  return files;
}

async function paths(root: string, options?: ProjectWalkOptions): Promise<string[]> {
  return (await collect(root, options)).map((file) => (file.kind === 'directory' ? `${file.path}/` : file.path));
}

test('reports path, kind, size, mode and mtime for files', async (t) => {
  const root = await makeProject(t, { 'package.json': '{}', 'src/agent.ts': 'export {};\n' });
  await chmod(path.join(root, 'src/agent.ts'), 0o640);
  const files = await collect(root);
  assert.deepEqual(
    files.map((file) => file.path),
    ['package.json', 'src/agent.ts'],
  );
  const agent = files[1]!;
  assert.equal(agent.kind, 'file');
  assert.equal(agent.absolutePath, path.join(root, 'src', 'agent.ts'));
  assert.equal(agent.size, 11);
  assert.equal(agent.mode, 0o640);
  assert.ok(agent.mtimeMs > 0);
  assert.equal(agent.linkTarget, undefined);
});

test('skips node_modules directories at any depth by default, includes them on request', async (t) => {
  const root = await makeProject(t, {
    'package.json': '{}',
    'node_modules/dep/index.js': '',
    'packages/a/node_modules/dep/index.js': '',
    'packages/a/index.js': '',
    'notes/node_modules': 'a plain file of that name is kept',
  });
  assert.deepEqual(await paths(root), ['notes/node_modules', 'package.json', 'packages/a/index.js']);
  assert.deepEqual(await paths(root, { includeNodeModules: true }), [
    'node_modules/dep/index.js',
    'notes/node_modules',
    'package.json',
    'packages/a/index.js',
    'packages/a/node_modules/dep/index.js',
  ]);
});

test('always skips .git, even when it is a file or nested', async (t) => {
  const root = await makeProject(t, {
    'agent.yaml': 'name: a\n',
    '.git/HEAD': 'ref: refs/heads/main\n',
    'vendor/lib/.git': 'gitdir: ../../.git/modules/lib\n',
    'vendor/lib/a.ts': '',
    '.gitkeep': '',
  });
  assert.deepEqual(await paths(root, { includeNodeModules: true }), ['.gitkeep', 'agent.yaml', 'vendor/lib/a.ts']);
});

test('applies nested .gitignore and .agentvaultignore files with negation', async (t) => {
  const root = await makeProject(t, {
    'package.json': '{}',
    '.gitignore': '*.log\n!keep.log\nbuild/\n',
    'a.log': '',
    'keep.log': '',
    'build/.gitignore': '!out.js\n',
    'build/out.js': '',
    'src/.gitignore': '!debug.log\n*.tmp\n/local.ts\n',
    'src/local.ts': '',
    'src/deep/local.ts': '',
    'src/debug.log': '',
    'src/other.log': '',
    'src/x.tmp': '',
    'src/x.ts': '',
    'src/deep/y.tmp': '',
    'src/deep/y.ts': '',
    'x.tmp': '',
    // Within one directory .agentvaultignore is read after .gitignore, so it wins.
    'lib/.gitignore': 'secret.json\n',
    'lib/.agentvaultignore': '!secret.json\nlocal.json\n',
    'lib/secret.json': '',
    'lib/local.json': '',
  });
  assert.deepEqual(await paths(root), [
    '.gitignore',
    'keep.log',
    'lib/.agentvaultignore',
    'lib/.gitignore',
    'lib/secret.json',
    'package.json',
    'src/.gitignore',
    'src/debug.log',
    'src/deep/local.ts',
    'src/deep/y.ts',
    'src/x.ts',
    'x.tmp',
  ]);
  // Custom ignore file names replace the defaults.
  const custom = await paths(root, { ignoreFileNames: ['.agentvaultignore'] });
  assert.ok(custom.includes('a.log') && custom.includes('build/out.js') && !custom.includes('lib/local.json'));
});

test('--exclude patterns are anchored at the root and beat ignore files', async (t) => {
  const root = await makeProject(t, {
    'package.json': '{}',
    'dist/bundle.js': '',
    'src/dist/keep.ts': '',
    'src/.gitignore': '!*.secret\n',
    'src/api.secret': '',
    'top.secret': '',
    'src/index.ts': '',
  });
  assert.deepEqual(await paths(root, { excludes: ['/dist/', '*.secret'] }), [
    'package.json',
    'src/.gitignore',
    'src/dist/keep.ts',
    'src/index.ts',
  ]);
});

test('lists empty directories (also ones whose contents are all ignored), and only those', async (t) => {
  const root = await makeProject(t, {
    'package.json': '{}',
    'empty/': '',
    'a/b/c/': '',
    'logs/.keep-out.log': '',
    'full/file.txt': '',
    '.gitignore': '*.log\n',
  });
  assert.deepEqual(await paths(root), ['.gitignore', 'a/b/c/', 'empty/', 'full/file.txt', 'logs/', 'package.json']);
  const empty = (await collect(root)).find((file) => file.path === 'empty')!;
  assert.equal(empty.kind, 'directory');
  assert.equal(empty.size, 0);
});

test('lists symlinks with their target and never follows them', async (t) => {
  const root = await makeProject(t, { 'package.json': '{}', 'real/inner.txt': 'x' });
  await symlink('real', path.join(root, 'dir-link'));
  await symlink('real/inner.txt', path.join(root, 'file-link'));
  await symlink('missing', path.join(root, 'dangling'));
  const files = await collect(root);
  assert.deepEqual(
    files.map((file) => [file.path, file.kind, file.linkTarget, file.size]),
    [
      ['dangling', 'symlink', 'missing', 0],
      ['dir-link', 'symlink', 'real', 0],
      ['file-link', 'symlink', 'real/inner.txt', 0],
      ['package.json', 'file', undefined, 2],
      ['real/inner.txt', 'file', undefined, 1],
    ],
  );
  // A directory-only pattern does not match a symlink to a directory (git treats links as files).
  await writeFile(path.join(root, '.gitignore'), 'dir-link/\nreal/\n');
  assert.deepEqual(await paths(root), ['.gitignore', 'dangling', 'dir-link', 'file-link', 'package.json']);
});

test('walks in byte-wise name order, depth-first, identically every time', async (t) => {
  const root = await makeProject(t, {
    'package.json': '{}',
    b: '',
    B: '',
    'a.txt': '',
    'a/x': '',
    _x: '',
    é: '',
    z: '',
    '10': '',
    '9': '',
    'a-b': '',
    'ｚ': '',
    '😀': '',
  });
  // Names are compared per level, so 'a/x' precedes 'a-b' (a full-path sort would not); and by
  // UTF-8 bytes, so U+FF5A precedes U+1F600 (UTF-16 code-unit order would swap them).
  const expected = ['10', '9', 'B', '_x', 'a/x', 'a-b', 'a.txt', 'b', 'package.json', 'z', 'é', 'ｚ', '😀'];
  assert.deepEqual(await paths(root), expected);
  assert.deepEqual(await paths(root), expected);
});

test('fails clearly for a missing root, a file root and a directory that is not a project', async (t) => {
  const root = await makeProject(t, { 'notes.txt': '', 'sub/agent.yml': 'name: a\n' });
  const missing = path.join(root, 'nope');
  await assert.rejects(collect(missing), (error: unknown) => {
    assert.ok(error instanceof ProjectWalkError);
    assert.match(error.message, /not found/);
    assert.ok(error.message.includes(missing));
    assert.doesNotMatch(error.message, /\n/);
    return true;
  });
  await assert.rejects(collect(path.join(root, 'notes.txt')), /not a directory/);
  await assert.rejects(collect(root), (error: unknown) => {
    assert.ok(error instanceof ProjectWalkError);
    assert.match(error.message, /agent\.yaml/);
    assert.match(error.message, /package\.json/);
    assert.ok(error.message.includes(root));
    return true;
  });
  assert.deepEqual(await paths(root, { requireProjectMarker: false }), ['notes.txt', 'sub/agent.yml']);
  assert.deepEqual(await paths(path.join(root, 'sub')), ['agent.yml']);
});

test('skips a file that vanishes between readdir and stat', async (t) => {
  const root = await makeProject(t, { 'a.txt': '', 'b.txt': '', 'c.txt': '', 'package.json': '{}' });
  const seen: string[] = [];
  // The walker is lazy: the root was listed before 'a.txt' was yielded, 'b.txt' is stat-ed later.
  for await (const file of walkProject(root)) {
    seen.push(file.path);
    if (file.path === 'a.txt') await unlink(path.join(root, 'b.txt'));
  }
  assert.deepEqual(seen, ['a.txt', 'c.txt', 'package.json']);
});

/** What a walk ended with, in a form that can cross a process boundary. */
type WalkOutcome =
  | { readonly ok: true; readonly paths: string[] }
  | { readonly ok: false; readonly isWalkError: boolean; readonly code: string | undefined; readonly message: string };

const NOBODY = 65534;
const runsAsRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const repositoryRoot = path.resolve(import.meta.dirname, '..');

async function walkOutcome(root: string): Promise<WalkOutcome> {
  try {
    return { ok: true, paths: await paths(root) };
  } catch (error) {
    return {
      ok: false,
      isWalkError: error instanceof ProjectWalkError,
      code: error instanceof ProjectWalkError ? error.code : undefined,
      message: error instanceof Error ? error.message : String(error),
    };
  }
}

/**
 * Walks `root` as a user that file permissions apply to. Root bypasses them, so as root the walk
 * runs in a child process with the uid/gid of `nobody`; otherwise it runs here.
 */
async function walkAsUnprivileged(t: TestContext, root: string): Promise<WalkOutcome> {
  if (!runsAsRoot) return walkOutcome(root);
  const scriptDir = await mkdtemp(path.join(tmpdir(), 'agentvault-walk-child-'));
  t.after(() => rm(scriptDir, { recursive: true, force: true }));
  await chmod(scriptDir, 0o755);
  const script = path.join(scriptDir, 'walk.mjs');
  const moduleUrl = pathToFileURL(path.join(repositoryRoot, 'src', 'sources', 'project-walk.ts')).href;
  await writeFile(
    script,
    `import { ProjectWalkError, walkProject } from ${JSON.stringify(moduleUrl)};
let outcome;
try {
  const paths = [];
  for await (const file of walkProject(process.argv[2])) paths.push(file.kind === 'directory' ? file.path + '/' : file.path);
  outcome = { ok: true, paths };
} catch (error) {
  outcome = { ok: false, isWalkError: error instanceof ProjectWalkError, code: error?.code, message: String(error?.message ?? error) };
}
process.stdout.write(JSON.stringify(outcome));
`,
    { mode: 0o644 },
  );
  const child = spawnSync(process.execPath, ['--import', 'tsx', script, root], {
    cwd: repositoryRoot,
    uid: NOBODY,
    gid: NOBODY,
    env: { PATH: process.env.PATH, HOME: scriptDir },
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(child.status, 0, `walker child (uid ${NOBODY}) failed: ${child.error?.message ?? ''}${child.stderr}`);
  return JSON.parse(child.stdout) as WalkOutcome;
}

test('an unreadable directory or file is an error naming it', async (t) => {
  const root = await makeProject(t, { 'package.json': '{}', 'locked/secret.txt': 's', 'open/file.txt': 'f' });
  // mkdtemp makes the root 0700; the unprivileged walker must be able to enter it.
  await chmod(root, 0o755);
  // Control: with everything readable, the same walker (same user) sees every file.
  assert.deepEqual(await walkAsUnprivileged(t, root), { ok: true, paths: ['locked/secret.txt', 'open/file.txt', 'package.json'] });

  const locked = path.join(root, 'locked');
  await chmod(locked, 0o000);
  try {
    const outcome = await walkAsUnprivileged(t, root);
    assert.equal(outcome.ok, false, `the walker skipped the unreadable directory: ${JSON.stringify(outcome)}`);
    assert.ok(!outcome.ok);
    assert.ok(outcome.isWalkError, outcome.message);
    assert.equal(outcome.code, 'EACCES');
    assert.ok(outcome.message.includes('locked'), outcome.message);
    assert.doesNotMatch(outcome.message, /\n/);
  } finally {
    // Restore access so the temp dir can be removed.
    await chmod(locked, 0o755);
  }

  await chmod(path.join(root, 'open/file.txt'), 0o000);
  const outcome = await walkAsUnprivileged(t, root);
  assert.equal(outcome.ok, false, `the walker skipped the unreadable file: ${JSON.stringify(outcome)}`);
  assert.ok(!outcome.ok);
  assert.ok(outcome.isWalkError, outcome.message);
  assert.equal(outcome.code, 'EACCES');
  assert.match(outcome.message, /open\/file\.txt/);
});

test('a name that is not valid UTF-8 is an error, not a silent skip', async (t) => {
  const root = await makeProject(t, { 'package.json': '{}' });
  const badName = Buffer.concat([Buffer.from(root + path.sep), Buffer.from([0x62, 0xff, 0x2e, 0x74])]);
  try {
    await writeFile(badName, '');
  } catch {
    t.skip('file system rejects non-UTF-8 names');
    return;
  }
  await assert.rejects(collect(root), /not valid UTF-8/);
  // ...unless an ignore rule excludes it anyway.
  assert.deepEqual(await paths(root, { excludes: ['b*.t'] }), ['package.json']);
});

test('skips FIFOs instead of blocking on them', { skip: spawnSync('mkfifo', ['--version']).status !== 0 && 'no mkfifo' }, async (t) => {
  const root = await makeProject(t, { 'package.json': '{}' });
  assert.equal(spawnSync('mkfifo', [path.join(root, 'pipe')]).status, 0);
  assert.deepEqual(await paths(root), ['package.json']);
});
