// diffBackups (src/repository/diff.ts): bytes by unique chunk and entries by name.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffBackups } from '../src/repository/diff.js';
import { ChunkTableBuilder, type Manifest, type ManifestEntry } from '../src/repository/manifest.js';

/** Chunk n: id of 32 bytes n, with a plain size. */
function chunks(...refs: Array<[id: number, size: number]>): Buffer {
  const b = new ChunkTableBuilder();
  for (const [id, size] of refs) b.add(Buffer.alloc(32, id), size);
  return b.finish();
}

function file(name: string, refs: Array<[number, number]>, extra: Partial<ManifestEntry> = {}): ManifestEntry {
  return { name, kind: 'file', size: refs.reduce((n, [, s]) => n + s, 0), mode: 0o644, mtime: 1_700_000_000_000, chunks: chunks(...refs), ...extra };
}

function manifest(id: string, entries: ManifestEntry[]): Manifest {
  return {
    version: 1,
    id,
    created: '2026-03-01T00:00:00.000Z',
    type: 'full',
    parent: null,
    source: { kind: 'project', name: 'p' },
    metadata: {},
    compression: { codec: 'zstd', level: 3 },
    entries,
    stats: { logicalSize: 0, storedSize: 0, chunks: 0, newChunks: 0 },
  };
}

describe('diffBackups', () => {
  it('identical backups: everything shared and unchanged', () => {
    const entries = [file('a', [[1, 100], [2, 200]]), file('b', [[3, 50]]), { name: 'd', kind: 'directory', size: 0, chunks: Buffer.alloc(0) } as ManifestEntry];
    const d = diffBackups(manifest('from', entries), manifest('to', entries.map((e) => ({ ...e, chunks: Buffer.from(e.chunks) }))));
    assert.equal(d.from, 'from');
    assert.equal(d.to, 'to');
    assert.equal(d.addedBytes, 0);
    assert.equal(d.removedBytes, 0);
    assert.equal(d.sharedBytes, 350);
    assert.deepEqual(d.entries, { added: [], removed: [], changed: [], unchanged: 3 });
  });

  it('counts added, removed and shared bytes by unique chunk', () => {
    const from = manifest('f', [file('a', [[1, 100], [2, 200], [3, 300]]), file('gone', [[4, 40]])]);
    const to = manifest('t', [file('a', [[1, 100], [5, 500], [3, 300]]), file('new', [[6, 60], [2, 200]])]);
    const d = diffBackups(from, to);
    // Chunk 2 moved from a to new: still shared. 5 and 6 are new; 4 is gone.
    assert.equal(d.sharedBytes, 100 + 200 + 300);
    assert.equal(d.addedBytes, 500 + 60);
    assert.equal(d.removedBytes, 40);
  });

  it('a chunk used several times counts once', () => {
    const from = manifest('f', [file('a', [[1, 10]])]);
    const to = manifest('t', [file('a', [[1, 10], [1, 10], [2, 20], [2, 20]]), file('b', [[2, 20], [1, 10]])]);
    const d = diffBackups(from, to);
    assert.equal(d.sharedBytes, 10);
    assert.equal(d.addedBytes, 20);
    assert.equal(d.removedBytes, 0);
    const back = diffBackups(to, from);
    assert.equal(back.sharedBytes, 10);
    assert.equal(back.addedBytes, 0);
    assert.equal(back.removedBytes, 20);
  });

  it('sorts entries into added, removed, changed and unchanged', () => {
    const from = manifest('f', [
      file('same', [[1, 10]]),
      file('content', [[2, 20]]),
      file('resized', [[3, 30]]),
      file('chmod', [[4, 40]]),
      file('touched', [[5, 50]]),
      file('gone', [[6, 60]]),
      file('became-link', [[7, 70]]),
      { name: 'link', kind: 'symlink', size: 0, linkTarget: 'a', chunks: Buffer.alloc(0) },
      { name: 'same-link', kind: 'symlink', size: 0, linkTarget: 'x', chunks: Buffer.alloc(0) },
      { name: 'empty-dir', kind: 'directory', size: 0, mode: 0o755, chunks: Buffer.alloc(0) },
    ]);
    const to = manifest('t', [
      { name: 'empty-dir', kind: 'directory', size: 0, mode: 0o755, chunks: Buffer.alloc(0) },
      file('same', [[1, 10]]),
      file('content', [[8, 20]]), // same size, other bytes
      { ...file('resized', [[3, 30]]), size: 31 },
      file('chmod', [[4, 40]], { mode: 0o600 }),
      file('touched', [[5, 50]], { mtime: 1_800_000_000_000 }), // only the time: content is unchanged
      { name: 'became-link', kind: 'symlink', size: 0, linkTarget: 'same', chunks: Buffer.alloc(0) },
      { name: 'link', kind: 'symlink', size: 0, linkTarget: 'b', chunks: Buffer.alloc(0) },
      { name: 'same-link', kind: 'symlink', size: 0, linkTarget: 'x', chunks: Buffer.alloc(0) },
      file('fresh', [[9, 90]]),
      file('sub/fresh2', [[9, 90]]),
    ]);
    const d = diffBackups(from, to);
    assert.deepEqual([...d.entries.added].sort(), ['fresh', 'sub/fresh2']);
    assert.deepEqual([...d.entries.removed].sort(), ['gone']);
    assert.deepEqual([...d.entries.changed].sort(), ['became-link', 'chmod', 'content', 'link', 'resized']);
    assert.equal(d.entries.unchanged, 4); // same, touched, same-link, empty-dir
  });

  it('a chunk list in another order is a change, with no bytes added or removed', () => {
    const from = manifest('f', [file('a', [[1, 10], [2, 20]])]);
    const to = manifest('t', [file('a', [[2, 20], [1, 10]])]);
    const d = diffBackups(from, to);
    assert.deepEqual(d.entries, { added: [], removed: [], changed: ['a'], unchanged: 0 });
    assert.equal(d.addedBytes, 0);
    assert.equal(d.removedBytes, 0);
    assert.equal(d.sharedBytes, 30);
  });

  it('from an empty backup everything is added; to an empty one everything is removed', () => {
    const empty = manifest('e', []);
    const full = manifest('f', [file('a', [[1, 10], [2, 20]]), file('b', [])]);
    assert.deepEqual(diffBackups(empty, full), {
      from: 'e',
      to: 'f',
      addedBytes: 30,
      removedBytes: 0,
      sharedBytes: 0,
      entries: { added: ['a', 'b'], removed: [], changed: [], unchanged: 0 },
    });
    assert.deepEqual(diffBackups(full, empty), {
      from: 'f',
      to: 'e',
      addedBytes: 0,
      removedBytes: 30,
      sharedBytes: 0,
      entries: { added: [], removed: ['a', 'b'], changed: [], unchanged: 0 },
    });
  });
});
