/**
 * Walks an agent project directory for the "project" backup source:
 * deterministic order, lazy (bounded memory), .gitignore-aware, never follows
 * symlinks, and never silently drops data it was unable to read.
 */
import { constants, type Dirent, type Stats } from 'node:fs';
import { access, lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import path from 'node:path';

import { IgnoreRules, IgnoreStack } from './ignore-rules.js';

export interface ProjectFile {
  /** Posix path relative to the root, e.g. 'src/agent.ts'. */
  readonly path: string;
  readonly absolutePath: string;
  /** Directories are listed only when nothing below them is listed, so restore can recreate them. */
  readonly kind: 'file' | 'directory' | 'symlink';
  /** Bytes for files, 0 otherwise. */
  readonly size: number;
  /** Permission bits (stat.mode & 0o7777). */
  readonly mode: number;
  readonly mtimeMs: number;
  /** For symlinks (never followed). */
  readonly linkTarget?: string;
}

export interface ProjectWalkOptions {
  /** Extra gitignore-style patterns (CLI --exclude), anchored at the root; they beat ignore files. */
  readonly excludes?: readonly string[];
  /** Default false: node_modules directories are skipped at any depth. */
  readonly includeNodeModules?: boolean;
  /** Default ['.gitignore', '.agentvaultignore']; later files in the list win within a directory. */
  readonly ignoreFileNames?: readonly string[];
  /** Default true: the root must hold agent.yaml, agent.yml or package.json. */
  readonly requireProjectMarker?: boolean;
}

export const DEFAULT_IGNORE_FILE_NAMES: readonly string[] = ['.gitignore', '.agentvaultignore'];
export const PROJECT_MARKER_FILES: readonly string[] = ['agent.yaml', 'agent.yml', 'package.json'];

/** A one-line, user-facing walk failure naming the offending path. */
export class ProjectWalkError extends Error {
  override readonly name = 'ProjectWalkError';
  constructor(
    message: string,
    readonly path: string,
    readonly code?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}

function describe(error: unknown): string {
  const code = errorCode(error);
  if (code === 'EACCES' || code === 'EPERM') return `permission denied (${code})`;
  return code ?? (error instanceof Error ? error.message : String(error));
}

/** ENOENT/ENOTDIR mean the entry disappeared (or its parent was replaced) mid-walk. */
function vanished(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function unreadable(what: string, displayPath: string, absolutePath: string, error: unknown): ProjectWalkError {
  return new ProjectWalkError(
    `Cannot read ${what} ${displayPath} (${absolutePath}): ${describe(error)}`,
    absolutePath,
    errorCode(error),
    { cause: error },
  );
}

/**
 * Validates the project root and returns its absolute path. Called by
 * walkProject; exported so a CLI can fail fast before starting a backup.
 */
export async function assertProjectRoot(root: string, options: ProjectWalkOptions = {}): Promise<string> {
  const absoluteRoot = path.resolve(root);
  let rootStats: Stats;
  try {
    rootStats = await stat(absoluteRoot);
  } catch (error) {
    if (vanished(error)) {
      throw new ProjectWalkError(`Project directory not found: ${root}`, absoluteRoot, errorCode(error), {
        cause: error,
      });
    }
    throw unreadable('project directory', root, absoluteRoot, error);
  }
  if (!rootStats.isDirectory()) {
    throw new ProjectWalkError(`Project path is not a directory: ${root}`, absoluteRoot, 'ENOTDIR');
  }
  if (options.requireProjectMarker === false) return absoluteRoot;
  for (const marker of PROJECT_MARKER_FILES) {
    try {
      const markerStats = await lstat(path.join(absoluteRoot, marker));
      if (!markerStats.isDirectory()) return absoluteRoot;
    } catch (error) {
      if (!vanished(error)) throw unreadable('file', marker, path.join(absoluteRoot, marker), error);
    }
  }
  throw new ProjectWalkError(
    `Not an agent project: ${root} contains neither agent.yaml/agent.yml nor package.json`,
    absoluteRoot,
  );
}

interface WalkContext {
  readonly includeNodeModules: boolean;
  readonly ignoreFileNames: readonly string[];
}

interface Entry {
  readonly rawName: Buffer;
  readonly name: string;
  /** False when the on-disk name is not valid UTF-8 and so cannot be represented in `path`. */
  readonly validName: boolean;
  readonly dirent: Dirent<Buffer>;
}

/** Sorted entries of a directory, or null if it vanished since its parent was listed. */
async function readEntries(absoluteDir: string, relativeDir: string): Promise<Entry[] | null> {
  let dirents: Dirent<Buffer>[];
  try {
    // Buffer names: sort byte-wise and detect names that don't survive UTF-8 decoding.
    dirents = await readdir(absoluteDir, { withFileTypes: true, encoding: 'buffer' });
  } catch (error) {
    if (relativeDir !== '' && vanished(error)) return null;
    throw unreadable('directory', relativeDir === '' ? '.' : relativeDir, absoluteDir, error);
  }
  dirents.sort((left, right) => Buffer.compare(left.name, right.name));
  return dirents.map((dirent) => {
    const name = dirent.name.toString('utf8');
    return { rawName: dirent.name, name, validName: Buffer.from(name, 'utf8').equals(dirent.name), dirent };
  });
}

/** Adds the rules of this directory's ignore files, combined so later file names win. */
async function loadIgnoreFiles(
  entries: readonly Entry[],
  absoluteDir: string,
  relativeDir: string,
  stack: IgnoreStack,
  context: WalkContext,
): Promise<IgnoreStack> {
  const texts: string[] = [];
  for (const fileName of context.ignoreFileNames) {
    const entry = entries.find((candidate) => candidate.name === fileName && candidate.validName);
    // Only regular files: git refuses to follow a symlinked .gitignore inside the tree.
    if (entry === undefined || !entry.dirent.isFile()) continue;
    const absolutePath = path.join(absoluteDir, fileName);
    try {
      texts.push(await readFile(absolutePath, 'utf8'));
    } catch (error) {
      if (!vanished(error)) throw unreadable('ignore file', joinRelative(relativeDir, fileName), absolutePath, error);
    }
  }
  return texts.length === 0 ? stack : stack.push(IgnoreRules.parse(texts.join('\n'), relativeDir));
}

function joinRelative(relativeDir: string, name: string): string {
  return relativeDir === '' ? name : `${relativeDir}/${name}`;
}

/** lstat, or null if the entry vanished after readdir. */
async function lstatEntry(absolutePath: string, relativePath: string): Promise<Stats | null> {
  try {
    return await lstat(absolutePath);
  } catch (error) {
    if (vanished(error)) return null;
    throw unreadable('file', relativePath, absolutePath, error);
  }
}

/** Yields the directory's contents; returns how many entries were yielded, or -1 if it vanished. */
async function* walkDirectory(
  absoluteDir: string,
  relativeDir: string,
  parentStack: IgnoreStack,
  context: WalkContext,
): AsyncGenerator<ProjectFile, number, undefined> {
  const entries = await readEntries(absoluteDir, relativeDir);
  if (entries === null) return -1;
  const stack = await loadIgnoreFiles(entries, absoluteDir, relativeDir, parentStack, context);
  let yielded = 0;
  for (const entry of entries) {
    if (entry.name === '.git') continue;
    const isDirectory = entry.dirent.isDirectory();
    const relativePath = joinRelative(relativeDir, entry.name);
    if (stack.isIgnored(relativePath, isDirectory)) continue;

    const absolutePath = path.join(absoluteDir, entry.name);
    if (!entry.validName) {
      throw new ProjectWalkError(
        `Cannot back up ${joinRelative(relativeDir, entry.rawName.toString('latin1'))} (${absoluteDir}): file name is not valid UTF-8`,
        absoluteDir,
        'EILSEQ',
      );
    }
    const stats = await lstatEntry(absolutePath, relativePath);
    if (stats === null) continue;
    // The entry may have been replaced by another type since readdir: re-check with the real type.
    if (stats.isDirectory() !== isDirectory && stack.isIgnored(relativePath, stats.isDirectory())) continue;
    // Only real directories: a file or symlink called node_modules is ordinary project content.
    if (stats.isDirectory() && entry.name === 'node_modules' && !context.includeNodeModules) continue;

    const common = { path: relativePath, absolutePath, mode: stats.mode & 0o7777, mtimeMs: stats.mtimeMs };
    if (stats.isDirectory()) {
      const inner = yield* walkDirectory(absolutePath, relativePath, stack, context);
      if (inner > 0) {
        yielded += inner;
      } else if (inner === 0) {
        yield { ...common, kind: 'directory', size: 0 };
        yielded++;
      }
    } else if (stats.isSymbolicLink()) {
      let linkTarget: string;
      try {
        linkTarget = await readlink(absolutePath);
      } catch (error) {
        if (vanished(error) || errorCode(error) === 'EINVAL') continue; // gone, or no longer a link
        throw unreadable('symlink', relativePath, absolutePath, error);
      }
      yield { ...common, kind: 'symlink', size: 0, linkTarget };
      yielded++;
    } else if (stats.isFile()) {
      // Fail now rather than halfway through the backup stream.
      try {
        await access(absolutePath, constants.R_OK);
      } catch (error) {
        if (vanished(error)) continue;
        throw unreadable('file', relativePath, absolutePath, error);
      }
      yield { ...common, kind: 'file', size: stats.size };
      yielded++;
    }
    // Sockets, FIFOs and devices hold no content to back up (and reading a FIFO would block).
  }
  return yielded;
}

/**
 * Walks the tree in a deterministic order (byte-wise sorted names at each
 * level, depth-first), yielding entries lazily so huge trees use bounded
 * memory. Always skips `.git`. Never follows symlinks. Throws ProjectWalkError
 * (on the first next()) for a missing/non-directory root, a root without a
 * project marker (unless requireProjectMarker is false), or an unreadable
 * entry; entries that vanish mid-walk are skipped.
 */
export async function* walkProject(root: string, options: ProjectWalkOptions = {}): AsyncGenerator<ProjectFile> {
  const absoluteRoot = await assertProjectRoot(root, options);
  const excludes = options.excludes ?? [];
  const overrides = excludes.length > 0 ? IgnoreRules.parse(excludes.join('\n'), '') : undefined;
  const context: WalkContext = {
    includeNodeModules: options.includeNodeModules ?? false,
    ignoreFileNames: options.ignoreFileNames ?? DEFAULT_IGNORE_FILE_NAMES,
  };
  yield* walkDirectory(absoluteRoot, '', new IgnoreStack(overrides), context);
}
