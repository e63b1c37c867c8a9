import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { IgnoreRules, IgnoreStack } from '../src/sources/ignore-rules.js';

// ---------------------------------------------------------------------------------------------
// Table: each group is a set of ignore files (keyed by directory, '' = root) and the expected
// verdict of the path itself (IgnoreStack.match): true = ignored, false = re-included,
// undefined = no rule. A trailing '/' marks a directory. The git test below replays every group
// against `git check-ignore`, so the table is checked against git, not just against our code.

type Verdict = boolean | undefined;
interface Group {
  readonly name: string;
  readonly ignoreFiles: Readonly<Record<string, string>>;
  readonly cases: ReadonlyArray<readonly [path: string, expected: Verdict]>;
}

const groups: readonly Group[] = [
  {
    name: 'blank lines, comments and escapes',
    ignoreFiles: { '': '# comment\n\n   \n\\#hash\n\\!bang\nfoo.txt\n' },
    cases: [
      ['# comment', undefined],
      ['#hash', true],
      ['!bang', true],
      ['bang', undefined],
      ['foo.txt', true],
      ['dir/foo.txt', true],
      ['bar.txt', undefined],
    ],
  },
  {
    name: 'trailing spaces trimmed unless escaped',
    ignoreFiles: { '': 'trail   \nesc\\ \ntwo\\ \\  \ntab\t\nback\\\\ \n' },
    cases: [
      ['trail', true],
      ['trail ', undefined],
      ['esc ', true],
      ['esc', undefined],
      ['two  ', true],
      ['two', undefined],
      ['tab\t', true],
      ['tab', undefined],
      ['back\\', true],
      ['back\\ ', undefined],
    ],
  },
  {
    name: 'CRLF line endings and a UTF-8 BOM',
    ignoreFiles: { '': '\uFEFFbom\r\ncrlf\r\n' },
    cases: [
      ['bom', true],
      ['crlf', true],
      ['crlf\r', undefined],
    ],
  },
  {
    name: 'negation re-includes; last matching rule wins',
    ignoreFiles: { '': '*.log\n!keep.log\n!x.tmp\n*.tmp\n' },
    cases: [
      ['a.log', true],
      ['keep.log', false],
      ['sub/keep.log', false],
      ['sub/b.log', true],
      ['x.tmp', true],
      ['y.tmp', true],
      ['x.txt', undefined],
    ],
  },
  {
    name: 'a file cannot be re-included when its parent directory is excluded',
    ignoreFiles: { '': 'build/\n!build/keep.txt\n/*\n!/src/\n/src/*\n!/src/keep/\n' },
    cases: [
      ['build/', true],
      // The rule itself matches (own verdict false) but git ignores it via the parent.
      ['build/keep.txt', false],
      ['other', true],
      ['src/', false],
      ['src/a.ts', true],
      ['src/keep/', false],
      ['src/keep/x.ts', undefined],
    ],
  },
  {
    name: 'leading and middle slashes anchor; no slash matches at any depth',
    ignoreFiles: { '': '/root.txt\ndoc/frotz\na/b/\nname\n' },
    cases: [
      ['root.txt', true],
      ['sub/root.txt', undefined],
      ['doc/frotz', true],
      ['x/doc/frotz', undefined],
      ['a/b/', true],
      ['x/a/b/', undefined],
      ['name', true],
      ['x/y/name', true],
      ['x/name/', true],
    ],
  },
  {
    name: 'trailing slash matches directories only',
    ignoreFiles: { '': 'frotz/\ncache/\n' },
    cases: [
      ['frotz/', true],
      ['a/frotz/', true],
      ['b/frotz', undefined],
      ['cache', undefined],
      ['d/cache/', true],
    ],
  },
  {
    name: '* and ? never cross a slash',
    ignoreFiles: { '': '*.js\nsrc/*.ts\n?.md\nm/n?o\nk/p*q\n' },
    cases: [
      ['a.js', true],
      ['d/e/a.js', true],
      ['a.jsx', undefined],
      ['src/a.ts', true],
      ['src/sub/a.ts', undefined],
      ['lib/src/a.ts', undefined],
      ['a.md', true],
      ['ab.md', undefined],
      ['x/b.md', true],
      ['m/nxo', true],
      ['m/n/o', undefined],
      ['k/pzzq', true],
      ['k/p/q', undefined],
    ],
  },
  {
    name: 'bracket expressions',
    ignoreFiles: {
      '':
        '[abc].txt\n[!abc].cfg\n[^abc].ini\n[0-9].num\n[]x].br\n[a-].dash\n[[:digit:]].pc\n' +
        '[[:upper:]][[:lower:]].pc2\n[\\]].esc\n[z-a].rev\nun[closed\n[a[:bogus:]]x\nq[/]r\ns[!a]t\n[a-c-e].rr\n',
    },
    cases: [
      ['a.txt', true],
      ['d.txt', undefined],
      ['d.cfg', true],
      ['a.cfg', undefined],
      ['b.ini', undefined],
      ['e.ini', true],
      ['5.num', true],
      ['x.num', undefined],
      ['x.br', true],
      [']'.concat('.br'), true],
      ['y.br', undefined],
      ['-.dash', true],
      ['a.dash', true],
      ['b.dash', undefined],
      ['7.pc', true],
      ['x.pc', undefined],
      ['Ab.pc2', true],
      ['ab.pc2', undefined],
      ['].esc', true],
      ['z.rev', true],
      ['b.rev', undefined],
      ['un[closed', undefined],
      ['unaclosed', undefined],
      ['bx', undefined],
      ['ax', undefined],
      ['q/r', undefined],
      ['s/t', undefined],
      ['sbt', true],
      ['b.rr', true],
      ['-.rr', true],
      ['e.rr', true],
      ['d.rr', undefined],
    ],
  },
  {
    name: 'escaped wildcards and a trailing backslash',
    ignoreFiles: { '': '\\*.lit\n\\?q\n\\[x]\nbad\\\n' },
    cases: [
      ['*.lit', true],
      ['a.lit', undefined],
      ['?q', true],
      ['aq', undefined],
      ['[x]', true],
      ['x', undefined],
      ['bad\\', undefined],
      ['bad', undefined],
    ],
  },
  {
    name: '** in leading, trailing and middle positions',
    ignoreFiles: { '': '**/logs\n**/cfg/app.json\nout/**\na/**/b\nx**y\n**foo\n/**/top\nm/**x/n\n' },
    cases: [
      ['logs/', true],
      ['deep/er/logs/', true],
      ['cfg/app.json', true],
      ['p/q/cfg/app.json', true],
      ['out/', undefined],
      ['out/f', true],
      ['out/d/e/f', true],
      ['a/b', true],
      ['a/x/b', true],
      ['a/x/y/b', true],
      ['a/xb', undefined],
      ['xzzy', true],
      ['k/x/y', undefined],
      ['barfoo', true],
      ['top', true],
      ['t/u/top', true],
      ['m/zx/n', true],
      ['m/z/x/n', undefined],
    ],
  },
  {
    name: 'UTF-8 names are matched byte-wise, like git',
    ignoreFiles: { '': 'caf?.one\ncaf??.two\né*\na[é]z\n' },
    cases: [
      ['café.one', undefined],
      ['café.two', true],
      ['éclair', true],
      ['aéz', undefined],
    ],
  },
  {
    name: 'nested ignore files apply below their directory and beat parents',
    ignoreFiles: {
      '': '*.log\n!*.md\n/only-root\n',
      sub: '!keep.log\nREADME.md\n/anchored\nany\n',
      'sub/deep': '*.log\n',
    },
    cases: [
      ['a.log', true],
      ['keep.log', true],
      ['sub/keep.log', false],
      ['other/keep.log', true],
      ['sub/README.md', true],
      ['README.md', false],
      ['sub/x/README.md', true],
      ['sub/deep/keep.log', true],
      ['sub/anchored', true],
      ['anchored', undefined],
      ['sub/x/anchored', undefined],
      ['sub/x/any', true],
      ['any', undefined],
      ['only-root', true],
      ['sub/only-root', undefined],
    ],
  },
];

function isDirectoryCase(casePath: string): boolean {
  return casePath.endsWith('/');
}
function stripSlash(casePath: string): string {
  return casePath.replace(/\/$/, '');
}

function stackFor(group: Group): IgnoreStack {
  // Parents first, as a walker would push them.
  const dirs = Object.keys(group.ignoreFiles).sort((a, b) => a.split('/').length - b.split('/').length || a.length - b.length);
  let stack = new IgnoreStack();
  for (const dir of dirs) stack = stack.push(IgnoreRules.parse(group.ignoreFiles[dir]!, dir));
  return stack;
}

/** git's view: ignored if any parent directory is ignored, else the path's own verdict. */
function effectiveVerdict(stack: IgnoreStack, casePath: string): Verdict {
  const parts = stripSlash(casePath).split('/');
  for (let depth = 1; depth < parts.length; depth++) {
    if (stack.isIgnored(parts.slice(0, depth).join('/'), true)) return true;
  }
  return stack.match(parts.join('/'), isDirectoryCase(casePath));
}

for (const group of groups) {
  test(`ignore table: ${group.name}`, () => {
    const stack = stackFor(group);
    for (const [casePath, expected] of group.cases) {
      assert.equal(stack.match(stripSlash(casePath), isDirectoryCase(casePath)), expected, `path ${JSON.stringify(casePath)}`);
    }
  });
}

test('IgnoreRules.match for a single root file equals the stack verdict', () => {
  const rules = IgnoreRules.parse('*.log\n!keep.log\nbuild/\n');
  assert.equal(rules.match('a.log', false), true);
  assert.equal(rules.match('x/keep.log', false), false);
  assert.equal(rules.match('build', true), true);
  assert.equal(rules.match('build', false), undefined);
  assert.equal(rules.match('src/a.ts', false), undefined);
  assert.equal(rules.size, 3);
});

test('IgnoreRules with a baseDir only applies strictly below it', () => {
  const rules = IgnoreRules.parse('/anchored\nany\n*\n', 'sub/');
  assert.equal(rules.baseDir, 'sub');
  assert.equal(rules.match('sub', true), undefined);
  assert.equal(rules.match('subway/any', false), undefined);
  assert.equal(rules.match('other/x', false), undefined);
  assert.equal(rules.match('sub/x', false), true);
});

test('IgnoreStack: overrides beat every ignore file', () => {
  const stack = new IgnoreStack(IgnoreRules.parse('*.log\n')).push(IgnoreRules.parse('!*.log\n')).push(IgnoreRules.parse('!x.log\n', 'sub'));
  assert.equal(stack.isIgnored('a.log', false), true);
  assert.equal(stack.isIgnored('sub/x.log', false), true);
  assert.equal(stack.isIgnored('a.txt', false), false);
});

test('IgnoreStack: push returns a new stack and leaves the parent untouched', () => {
  const root = new IgnoreStack().push(IgnoreRules.parse('*.tmp\n'));
  const child = root.push(IgnoreRules.parse('!keep.tmp\n', 'a'));
  const sibling = root.push(IgnoreRules.parse('*.txt\n', 'b'));
  assert.equal(child.isIgnored('a/keep.tmp', false), false);
  assert.equal(root.isIgnored('a/keep.tmp', false), true);
  assert.equal(sibling.isIgnored('a/x.txt', false), false);
  assert.equal(sibling.isIgnored('b/x.txt', false), true);
  assert.equal(child.isIgnored('b/x.txt', false), false);
});

test('IgnoreStack.isPathIgnored applies the parent-directory rule; isIgnored does not', () => {
  const stack = new IgnoreStack().push(IgnoreRules.parse('build/\n!build/keep.txt\n'));
  assert.equal(stack.isIgnored('build/keep.txt', false), false);
  assert.equal(stack.isPathIgnored('build/keep.txt', false), true);
  assert.equal(stack.isPathIgnored('build', true), true);
  assert.equal(stack.isPathIgnored('src/keep.txt', false), false);
});

// ---------------------------------------------------------------------------------------------
// Differential test against git itself (skipped when git is unavailable).

const gitAvailable = spawnSync('git', ['--version']).status === 0;

function gitVerdicts(repo: string, paths: readonly string[], env: NodeJS.ProcessEnv): Map<string, Verdict> {
  const result = spawnSync('git', ['-C', repo, 'check-ignore', '--no-index', '-v', '-n', '-z', '--stdin'], {
    input: paths.map((p) => p + '\0').join(''),
    env,
    encoding: 'utf8',
  });
  // 0: some path ignored, 1: none ignored; anything else is a failure.
  assert.ok(result.status === 0 || result.status === 1, `git check-ignore failed: ${result.stderr}`);
  const fields = result.stdout.split('\0');
  const verdicts = new Map<string, Verdict>();
  for (let i = 0; i + 3 < fields.length; i += 4) {
    const [source, , pattern, checkedPath] = [fields[i]!, fields[i + 1]!, fields[i + 2]!, fields[i + 3]!];
    verdicts.set(checkedPath, source === '' ? undefined : !pattern.startsWith('!'));
  }
  return verdicts;
}

test('matcher agrees with `git check-ignore` on every table path', { skip: !gitAvailable && 'git not installed' }, (t) => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'agentvault-ignore-git-'));
  t.after(() => rmSync(scratch, { recursive: true, force: true }));
  // Isolate from the user's global/system git config and global excludes file.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: scratch,
    XDG_CONFIG_HOME: scratch,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: path.join(scratch, 'no-gitconfig'),
  };
  let compared = 0;
  groups.forEach((group, index) => {
    const repo = path.join(scratch, `repo${index}`);
    mkdirSync(repo);
    const init = spawnSync('git', ['init', '-q', repo], { env, encoding: 'utf8' });
    assert.equal(init.status, 0, init.stderr);
    writeFileSync(path.join(repo, '.git', 'info', 'exclude'), '');
    for (const [dir, text] of Object.entries(group.ignoreFiles)) {
      mkdirSync(path.join(repo, dir), { recursive: true });
      writeFileSync(path.join(repo, dir, '.gitignore'), text);
    }
    // git decides "directory or not" from disk, so create every case for real.
    for (const [casePath] of group.cases) {
      const absolute = path.join(repo, stripSlash(casePath));
      if (isDirectoryCase(casePath)) {
        mkdirSync(absolute, { recursive: true });
      } else {
        mkdirSync(path.dirname(absolute), { recursive: true });
        writeFileSync(absolute, '');
      }
    }
    const paths = group.cases.map(([casePath]) => stripSlash(casePath));
    const fromGit = gitVerdicts(repo, paths, env);
    const stack = stackFor(group);
    for (const [casePath] of group.cases) {
      const key = stripSlash(casePath);
      assert.ok(fromGit.has(key), `git gave no answer for ${JSON.stringify(key)}`);
      assert.equal(effectiveVerdict(stack, casePath), fromGit.get(key), `${group.name}: ${JSON.stringify(casePath)}`);
      compared++;
    }
  });
  assert.ok(compared > 100);
});

test('matcher agrees with `git check-ignore` on seeded random patterns and trees', { skip: !gitAvailable && 'git not installed' }, (t) => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'agentvault-ignore-fuzz-'));
  t.after(() => rmSync(scratch, { recursive: true, force: true }));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: scratch,
    XDG_CONFIG_HOME: scratch,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: path.join(scratch, 'no-gitconfig'),
  };
  // Deterministic LCG (high bits only: the low bits of an LCG cycle quickly).
  let seed = 20240601;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return (seed >>> 8) % n;
  };
  const pick = <T>(items: readonly T[]): T => items[random(items.length)]!;
  const tokens = ['a', 'b', 'a', '/', '/', '*', '**', '?', '[ab]', '[!a]', '[]a]', '[[:digit:]]', '[a-]', '\\ ', '\\*', ' ', '1', 'é', '['];
  const names = ['a', 'b', 'ab', 'a1', 'a b', '*', 'a ', ']', 'é', 'ba'];
  const seen = new Map<Verdict, number>();
  for (let iteration = 0; iteration < 60; iteration++) {
    const repo = path.join(scratch, `r${iteration}`);
    assert.equal(spawnSync('git', ['init', '-q', repo], { env }).status, 0);
    writeFileSync(path.join(repo, '.git', 'info', 'exclude'), '');
    const entries: Array<{ path: string; isDirectory: boolean }> = [];
    const grow = (dir: string, depth: number): void => {
      for (const name of new Set(Array.from({ length: 1 + random(4) }, () => pick(names)))) {
        const entryPath = dir === '' ? name : `${dir}/${name}`;
        const isDirectory = depth < 3 && random(2) === 0;
        entries.push({ path: entryPath, isDirectory });
        if (isDirectory) {
          mkdirSync(path.join(repo, entryPath));
          grow(entryPath, depth + 1);
        } else {
          writeFileSync(path.join(repo, entryPath), '');
        }
      }
    };
    grow('', 0);
    const randomIgnoreFile = (): string =>
      Array.from({ length: 1 + random(5) }, () => (random(4) === 0 ? '!' : '') + Array.from({ length: 1 + random(5) }, () => pick(tokens)).join('')).join('\n') + '\n';
    const ignoreFiles: Record<string, string> = { '': randomIgnoreFile() };
    const dirs = entries.filter((entry) => entry.isDirectory);
    if (dirs.length > 0 && random(2) === 0) ignoreFiles[pick(dirs).path] = randomIgnoreFile();
    for (const [dir, text] of Object.entries(ignoreFiles)) writeFileSync(path.join(repo, dir, '.gitignore'), text);

    const stack = stackFor({ name: 'random', ignoreFiles, cases: [] });
    const fromGit = gitVerdicts(repo, entries.map((entry) => entry.path), env);
    for (const entry of entries) {
      const casePath = entry.isDirectory ? `${entry.path}/` : entry.path;
      const verdict = fromGit.get(entry.path);
      assert.equal(effectiveVerdict(stack, casePath), verdict, `${JSON.stringify(ignoreFiles)} ${JSON.stringify(casePath)}`);
      seen.set(verdict, (seen.get(verdict) ?? 0) + 1);
    }
  }
  // Guard against a generator that only exercises the trivial "no rule matched" case.
  for (const verdict of [true, false, undefined]) assert.ok((seen.get(verdict) ?? 0) > 20, `too few ${String(verdict)} verdicts: ${JSON.stringify([...seen])}`);
});
