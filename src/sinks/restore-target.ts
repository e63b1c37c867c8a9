// Helpers shared by the restore sinks: temp names beside the target (so the final rename stays
// on one file system) and entry names that cannot escape the target directory.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { AgentvaultError } from '../errors.js';

export function temporarySibling(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.agentvault-${randomBytes(4).toString('hex')}.partial`);
}

/** A manifest's entry name as a safe relative path: no absolute paths, `..`, or empty parts. */
export function safeRelativePath(name: string): string {
  const parts = name.split('/');
  if (name.length === 0 || name.includes('\0') || name.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new AgentvaultError('CORRUPT', `refusing to restore entry with unsafe name ${JSON.stringify(name)}`);
  }
  return parts.join(path.sep);
}
