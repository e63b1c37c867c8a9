/**
 * A .gitignore pattern matcher following git's documented semantics
 * (gitignore(5)) and the behaviour of git's wildmatch.
 *
 * Matching is done on UTF-8 bytes, as git does: patterns and paths are turned
 * into "byte strings" (one char per byte) so `?`, `[a-z]` and byte-wise ranges
 * behave exactly like git for non-ASCII names.
 */

interface Rule {
  /** The pattern as written (after trimming), for diagnostics. */
  readonly source: string;
  readonly negated: boolean;
  readonly directoryOnly: boolean;
  /** No slash in the pattern: it matches the basename at any depth. */
  readonly basenameOnly: boolean;
  /** null when the pattern can never match (git treats malformed globs that way). */
  readonly regex: RegExp | null;
}

/** Any byte, including '/' and newline (a `**` that crosses directories). */
const ANY = '[\\s\\S]*';
const NEVER = '(?!)';
const SLASH = 0x2f;

const POSIX_CLASSES: Readonly<Record<string, (byte: number) => boolean>> = {
  alnum: (b) => isDigit(b) || isUpper(b) || isLower(b),
  alpha: (b) => isUpper(b) || isLower(b),
  blank: (b) => b === 0x20 || b === 0x09,
  cntrl: (b) => b < 0x20 || b === 0x7f,
  digit: isDigit,
  graph: (b) => b > 0x20 && b < 0x7f,
  lower: isLower,
  print: (b) => b >= 0x20 && b < 0x7f,
  punct: (b) => b > 0x20 && b < 0x7f && !isDigit(b) && !isUpper(b) && !isLower(b),
  space: (b) => b === 0x20 || (b >= 0x09 && b <= 0x0d),
  upper: isUpper,
  xdigit: (b) => isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66),
};

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}
function isUpper(b: number): boolean {
  return b >= 0x41 && b <= 0x5a;
}
function isLower(b: number): boolean {
  return b >= 0x61 && b <= 0x7a;
}

/** One JS char per UTF-8 byte; ASCII (the common case) is returned as is. */
function toBytes(text: string): string {
  return /^[\x00-\x7f]*$/.test(text) ? text : Buffer.from(text, 'utf8').toString('latin1');
}

function byteLiteral(code: number): string {
  return '\\x' + code.toString(16).padStart(2, '0');
}

/** Regex class for a set of bytes; '/' never matches, as in git's pathname mode. */
function byteClass(set: readonly boolean[]): string {
  let out = '';
  let code = 0;
  while (code < 256) {
    if (!set[code] || code === SLASH) {
      code++;
      continue;
    }
    const start = code;
    while (code + 1 < 256 && set[code + 1] && code + 1 !== SLASH) code++;
    out += start === code ? byteLiteral(start) : `${byteLiteral(start)}-${byteLiteral(code)}`;
    code++;
  }
  return out === '' ? NEVER : `[${out}]`;
}

/**
 * Parses a bracket expression starting at `pattern[start] === '['`.
 * Returns null for a malformed one (unclosed, unknown [:class:]): git then
 * aborts the whole match, so the pattern never matches anything.
 */
function parseBracket(pattern: string, start: number): { regex: string; end: number } | null {
  const length = pattern.length;
  const set: boolean[] = new Array<boolean>(256).fill(false);
  let i = start + 1;
  let negated = false;
  if (pattern[i] === '!' || pattern[i] === '^') {
    negated = true;
    i++;
  }
  // -1: no previous char, so a following '-' is literal (git resets it after a range or class).
  let previous = -1;
  let first = true;
  for (;;) {
    if (i >= length) return null;
    const char = pattern[i];
    if (char === ']' && !first) break;
    first = false;
    if (char === '\\') {
      if (++i >= length) return null;
      previous = pattern.charCodeAt(i);
      set[previous] = true;
      i++;
    } else if (char === '-' && previous >= 0 && i + 1 < length && pattern[i + 1] !== ']') {
      i++;
      if (pattern[i] === '\\' && ++i >= length) return null;
      const end = pattern.charCodeAt(i);
      // A reversed range adds nothing beyond its start char, which was already added.
      for (let code = previous; code <= end; code++) set[code] = true;
      previous = -1;
      i++;
    } else if (char === '[' && pattern[i + 1] === ':') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) return null;
      if (close - 1 < i + 2 || pattern[close - 1] !== ':') {
        // No ":]": the '[' is an ordinary member of the set.
        previous = 0x5b;
        set[previous] = true;
        i++;
        continue;
      }
      const test = POSIX_CLASSES[pattern.slice(i + 2, close - 1)];
      if (test === undefined) return null;
      for (let code = 0; code < 256; code++) if (test(code)) set[code] = true;
      previous = -1;
      i = close + 1;
    } else {
      previous = pattern.charCodeAt(i);
      set[previous] = true;
      i++;
    }
  }
  const members = negated ? set.map((member) => !member) : set;
  return { regex: byteClass(members), end: i + 1 };
}

/** Compiles a wildmatch pattern (already in byte form) to an anchored regex. */
function compileGlob(pattern: string): RegExp | null {
  let out = '^';
  let i = 0;
  while (i < pattern.length) {
    const char = pattern[i];
    if (char === '\\') {
      // A trailing backslash escapes nothing; git's matcher never matches it.
      if (i + 1 >= pattern.length) return null;
      out += byteLiteral(pattern.charCodeAt(i + 1));
      i += 2;
    } else if (char === '?') {
      out += '[^/]';
      i++;
    } else if (char === '*') {
      let end = i;
      while (pattern[end] === '*') end++;
      const next = pattern[end];
      const startsSegment = i === 0 || pattern[i - 1] === '/';
      const endsSegment =
        next === undefined || next === '/' || (next === '\\' && pattern[end + 1] === '/');
      if (end - i < 2 || !startsSegment || !endsSegment) {
        // A lone '*' or a '**' glued to other characters: stays within one path component.
        out += '[^/]*';
        i = end;
      } else if (next === '/') {
        // "**/": zero or more whole directories.
        out += `(?:${ANY}/)?`;
        i = end + 1;
      } else {
        out += ANY;
        i = end;
      }
    } else if (char === '[') {
      const bracket = parseBracket(pattern, i);
      if (bracket === null) return null;
      out += bracket.regex;
      i = bracket.end;
    } else {
      out += byteLiteral(pattern.charCodeAt(i));
      i++;
    }
  }
  return new RegExp(out + '$');
}

/** Drops trailing spaces unless backslash-escaped (git's trim_trailing_spaces). */
function trimTrailingSpaces(line: string): string {
  let end = line.length;
  while (end > 0 && line[end - 1] === ' ') {
    let backslashes = 0;
    while (end - 2 - backslashes >= 0 && line[end - 2 - backslashes] === '\\') backslashes++;
    if (backslashes % 2 === 1) break;
    end--;
  }
  return line.slice(0, end);
}

function parseLine(rawLine: string): Rule | null {
  // git accepts CRLF ignore files.
  const line = trimTrailingSpaces(rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine);
  if (line === '' || line.startsWith('#')) return null;
  let pattern = line;
  const negated = pattern.startsWith('!');
  if (negated) pattern = pattern.slice(1);
  const directoryOnly = pattern.endsWith('/');
  if (directoryOnly) pattern = pattern.slice(0, -1);
  // A slash anywhere but the end anchors the pattern to the ignore file's directory.
  const basenameOnly = !pattern.includes('/');
  if (pattern.startsWith('/')) pattern = pattern.slice(1);
  if (pattern === '') return null;
  return { source: line, negated, directoryOnly, basenameOnly, regex: compileGlob(toBytes(pattern)) };
}

function normalizeBaseDir(baseDir: string): string {
  const trimmed = baseDir.replace(/^(?:\.\/|\/)+/, '').replace(/\/+$/, '');
  return trimmed === '.' ? '' : trimmed;
}

/** The rules of one ignore file (or one list of patterns), anchored at `baseDir`. */
export class IgnoreRules {
  readonly baseDir: string;
  readonly #rules: readonly Rule[];

  private constructor(baseDir: string, rules: readonly Rule[]) {
    this.baseDir = baseDir;
    this.#rules = rules;
  }

  /**
   * @param text contents of a .gitignore-style file
   * @param baseDir posix path of the file's directory relative to the walk root ('' for the root)
   */
  static parse(text: string, baseDir = ''): IgnoreRules {
    const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
    const rules: Rule[] = [];
    for (const line of body.split('\n')) {
      const rule = parseLine(line);
      if (rule !== null) rules.push(rule);
    }
    return new IgnoreRules(normalizeBaseDir(baseDir), rules);
  }

  /** Number of effective (non-blank, non-comment) patterns. */
  get size(): number {
    return this.#rules.length;
  }

  /**
   * The verdict of the last rule matching `relPath` itself (parent directories
   * are not consulted; see IgnoreStack.isPathIgnored).
   * @returns undefined = no rule matched; true = ignored; false = explicitly re-included
   */
  match(relPath: string, isDirectory: boolean): boolean | undefined {
    let rel = relPath;
    if (this.baseDir !== '') {
      // Rules only apply strictly below the directory holding them.
      if (!rel.startsWith(this.baseDir + '/')) return undefined;
      rel = rel.slice(this.baseDir.length + 1);
    }
    const path = toBytes(rel);
    const basename = path.slice(path.lastIndexOf('/') + 1);
    for (let index = this.#rules.length - 1; index >= 0; index--) {
      const rule = this.#rules[index]!;
      if (rule.regex === null || (rule.directoryOnly && !isDirectory)) continue;
      if (rule.regex.test(rule.basenameOnly ? basename : path)) return !rule.negated;
    }
    return undefined;
  }
}

/**
 * Rule sets from nested ignore files, root first. Immutable: `push` returns a
 * new stack, so a subdirectory's rules never leak into its siblings.
 */
export class IgnoreStack {
  readonly #layers: readonly IgnoreRules[];
  readonly #overrides: IgnoreRules | undefined;

  /**
   * @param overrides rules that beat every ignore file (e.g. CLI --exclude),
   *   as git ranks command-line patterns above .gitignore files
   */
  constructor(overrides?: IgnoreRules, layers: readonly IgnoreRules[] = []) {
    this.#overrides = overrides;
    this.#layers = layers;
  }

  /** A stack with `rules` added as the deepest layer (push parents before children). */
  push(rules: IgnoreRules): IgnoreStack {
    return rules.size === 0 ? this : new IgnoreStack(this.#overrides, [...this.#layers, rules]);
  }

  /** Verdict for the path itself: overrides first, then the deepest layer with a matching rule. */
  match(relPath: string, isDirectory: boolean): boolean | undefined {
    const override = this.#overrides?.match(relPath, isDirectory);
    if (override !== undefined) return override;
    for (let index = this.#layers.length - 1; index >= 0; index--) {
      const verdict = this.#layers[index]!.match(relPath, isDirectory);
      if (verdict !== undefined) return verdict;
    }
    return undefined;
  }

  /** For walkers, which never descend into ignored directories: checks the path only. */
  isIgnored(relPath: string, isDirectory: boolean): boolean {
    return this.match(relPath, isDirectory) === true;
  }

  /**
   * Also applies git's rule that nothing below an ignored directory can be
   * re-included, for callers that check arbitrary paths.
   */
  isPathIgnored(relPath: string, isDirectory: boolean): boolean {
    const parts = relPath.split('/');
    for (let depth = 1; depth < parts.length; depth++) {
      if (this.isIgnored(parts.slice(0, depth).join('/'), true)) return true;
    }
    return this.isIgnored(relPath, isDirectory);
  }
}
