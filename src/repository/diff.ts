// What changed between two backups: bytes by unique chunk (added, removed, shared) and entries
// (added, removed, changed, unchanged).
import { chunkRefs, type Manifest } from './manifest.js';

export interface BackupDiff {
  readonly from: string;
  readonly to: string;
  /** Plaintext bytes of chunks only in `to`. */
  readonly addedBytes: number;
  /** Plaintext bytes of chunks only in `from`. */
  readonly removedBytes: number;
  readonly sharedBytes: number;
  readonly entries: {
    readonly added: string[];
    readonly removed: string[];
    readonly changed: string[];
    readonly unchanged: number;
  };
}

function uniqueChunks(m: Manifest): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of m.entries) for (const ref of chunkRefs(e)) out.set(ref.id.toString('latin1'), ref.size);
  return out;
}

export function diffBackups(from: Manifest, to: Manifest): BackupDiff {
  const a = uniqueChunks(from);
  const b = uniqueChunks(to);
  let addedBytes = 0;
  let sharedBytes = 0;
  let removedBytes = 0;
  for (const [id, size] of b) (a.has(id) ? (sharedBytes += size) : (addedBytes += size));
  for (const [id, size] of a) if (!b.has(id)) removedBytes += size;

  const before = new Map(from.entries.map((e) => [e.name, e]));
  const after = new Map(to.entries.map((e) => [e.name, e]));
  const added: string[] = [];
  const changed: string[] = [];
  let unchanged = 0;
  for (const [name, e] of after) {
    const old = before.get(name);
    if (!old) added.push(name);
    else if (old.kind !== e.kind || old.size !== e.size || !old.chunks.equals(e.chunks) || old.linkTarget !== e.linkTarget || old.mode !== e.mode) changed.push(name);
    else unchanged++;
  }
  const removed = [...before.keys()].filter((name) => !after.has(name));
  return { from: from.id, to: to.id, addedBytes, removedBytes, sharedBytes, entries: { added, removed, changed, unchanged } };
}
