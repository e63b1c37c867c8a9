// Repository locks (src/repository/lock.ts, docs/FORMAT.md §8).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { LocalBackend } from '../src/backend/local.js';
import { AgentvaultError, type ErrorCode } from '../src/errors.js';
import { LOCK_STALE_MS, acquireLock, isStale, readLocks, removeLocks, type HeldLock, type LockInfo } from '../src/repository/lock.js';
import { tempDir } from './helpers/tmp.js';

async function store(t: { after(fn: () => void): void }): Promise<LocalBackend> {
  const backend = new LocalBackend(tempDir(t));
  await backend.initialize();
  return backend;
}

function lockFiles(backend: LocalBackend): string[] {
  return fs.readdirSync(path.join(backend.location, 'locks')).sort();
}

/** Holds locks for one test and releases whatever is still held at its end. */
function holder(t: { after(fn: () => Promise<void>): void }) {
  const held: HeldLock[] = [];
  t.after(async () => {
    for (const l of held) await l.release();
  });
  return async (backend: LocalBackend, exclusive: boolean): Promise<HeldLock> => {
    const lock = await acquireLock(backend, exclusive);
    held.push(lock);
    return lock;
  };
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, pattern?: RegExp): Promise<AgentvaultError> {
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

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  assert.equal(child.status, 0);
  assert.throws(() => process.kill(child.pid!, 0), { code: 'ESRCH' });
  return child.pid!;
}

function writeLock(backend: LocalBackend, name: string, info: Partial<LockInfo>): LockInfo {
  const now = new Date().toISOString();
  const full: LockInfo = { version: 1, exclusive: false, host: os.hostname(), pid: process.pid, created: now, refreshed: now, ...info };
  fs.writeFileSync(path.join(backend.location, 'locks', name), JSON.stringify(full));
  return full;
}

describe('locks', () => {
  it('a lock file records what FORMAT.md §8 says', async (t) => {
    const backend = await store(t);
    const lock = await holder(t)(backend, true);
    assert.match(lock.name, /^[0-9a-f]{16}\.json$/);
    const info = JSON.parse(fs.readFileSync(path.join(backend.location, 'locks', lock.name), 'utf8')) as LockInfo;
    assert.equal(info.version, 1);
    assert.equal(info.exclusive, true);
    assert.equal(info.host, os.hostname());
    assert.equal(info.pid, process.pid);
    assert.ok(Math.abs(Date.parse(info.created) - Date.now()) < 60_000);
    assert.equal(info.refreshed, info.created);
  });

  it('two shared locks coexist', async (t) => {
    const backend = await store(t);
    const take = holder(t);
    const a = await take(backend, false);
    const b = await take(backend, false);
    assert.notEqual(a.name, b.name);
    assert.deepEqual(lockFiles(backend), [a.name, b.name].sort());
    const third = await take(backend, false);
    assert.equal(lockFiles(backend).length, 3);
    await third.release();
  });

  it('an exclusive lock is refused while a shared one is held → LOCKED', async (t) => {
    const backend = await store(t);
    const take = holder(t);
    const shared = await take(backend, false);
    const err = await rejectsWith(acquireLock(backend, true), 'LOCKED', /busy/);
    assert.match(err.message, /a shared lock held by pid \d+/);
    assert.match(err.message, new RegExp(`pid ${process.pid} on ${os.hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.deepEqual(lockFiles(backend), [shared.name], 'the refused lock leaves no file behind');
    // Once the shared lock goes, the exclusive one is granted.
    await shared.release();
    const exclusive = await take(backend, true);
    assert.deepEqual(lockFiles(backend), [exclusive.name]);
  });

  it('a shared lock is refused while an exclusive one is held → LOCKED', async (t) => {
    const backend = await store(t);
    const take = holder(t);
    const exclusive = await take(backend, true);
    const err = await rejectsWith(acquireLock(backend, false), 'LOCKED');
    assert.match(err.message, /an exclusive lock held by pid/);
    await rejectsWith(acquireLock(backend, true), 'LOCKED');
    assert.deepEqual(lockFiles(backend), [exclusive.name]);
    await exclusive.release();
    await take(backend, false);
  });

  it('a live lock of another host is LOCKED, not stale, until it misses its refreshes', async (t) => {
    const backend = await store(t);
    writeLock(backend, '1111111111111111.json', { host: 'some-other-host', pid: 1, exclusive: true });
    await rejectsWith(acquireLock(backend, false), 'LOCKED', /some-other-host/);
    const old = new Date(Date.now() - LOCK_STALE_MS - 60_000).toISOString();
    writeLock(backend, '1111111111111111.json', { host: 'some-other-host', pid: 1, exclusive: true, created: old, refreshed: old });
    await rejectsWith(acquireLock(backend, false), 'STALE_LOCK', /agentvault backup unlock/);
  });

  it('a lock of a dead process on this host → STALE_LOCK naming `agentvault backup unlock`', async (t) => {
    const backend = await store(t);
    const pid = deadPid();
    writeLock(backend, '2222222222222222.json', { pid, exclusive: true });
    for (const exclusive of [false, true]) {
      const err = await rejectsWith(acquireLock(backend, exclusive), 'STALE_LOCK');
      assert.ok(err.message.includes('`agentvault backup unlock`'), err.message);
      assert.match(err.message, new RegExp(`pid ${pid}`));
      assert.match(err.message, /no longer running/);
    }
    // Never removed silently.
    assert.deepEqual(lockFiles(backend), ['2222222222222222.json']);
  });

  it('a stale shared lock does not block another shared lock', async (t) => {
    const backend = await store(t);
    writeLock(backend, '3333333333333333.json', { pid: deadPid(), exclusive: false });
    const lock = await holder(t)(backend, false);
    assert.equal(lockFiles(backend).length, 2);
    await lock.release();
  });

  it('an unreadable lock file counts as an exclusive stale lock', async (t) => {
    const backend = await store(t);
    fs.writeFileSync(path.join(backend.location, 'locks', '4444444444444444.json'), '{not json');
    const [lock] = await readLocks(backend);
    assert.equal(lock!.info.exclusive, true);
    assert.equal(isStale(lock!.info), true);
    await rejectsWith(acquireLock(backend, false), 'STALE_LOCK');
  });

  it('isStale: own process fresh; dead pid here; silent for 30 minutes anywhere', () => {
    const now = new Date().toISOString();
    const base: LockInfo = { version: 1, exclusive: false, host: os.hostname(), pid: process.pid, created: now, refreshed: now };
    assert.equal(isStale(base), false);
    assert.equal(isStale({ ...base, pid: deadPid() }), true);
    assert.equal(isStale({ ...base, host: 'elsewhere', pid: deadPid() }), false, 'pids of other hosts are not checked');
    const refreshed = Date.parse(now);
    assert.equal(isStale({ ...base, host: 'elsewhere' }, refreshed + LOCK_STALE_MS), false);
    assert.equal(isStale({ ...base, host: 'elsewhere' }, refreshed + LOCK_STALE_MS + 1), true);
  });

  it('removeLocks removes only stale locks, unless `all`', async (t) => {
    const backend = await store(t);
    const take = holder(t);
    const live = await take(backend, false);
    const dead = writeLock(backend, '5555555555555555.json', { pid: deadPid(), exclusive: true });
    const old = new Date(Date.now() - 2 * LOCK_STALE_MS).toISOString();
    const silent = writeLock(backend, '6666666666666666.json', { host: 'other-host', pid: 42, created: old, refreshed: old });
    const busy = writeLock(backend, '7777777777777777.json', { host: 'other-host', pid: 43 });

    const removed = await removeLocks(backend, false);
    assert.deepEqual(
      removed.map((l) => l.pid).sort((a, b) => a - b),
      [silent.pid, dead.pid].sort((a, b) => a - b),
    );
    assert.deepEqual(lockFiles(backend), [live.name, '7777777777777777.json'].sort());

    const all = await removeLocks(backend, true);
    assert.deepEqual(
      all.map((l) => l.pid).sort((a, b) => a - b),
      [process.pid, busy.pid].sort((a, b) => a - b),
    );
    assert.deepEqual(lockFiles(backend), []);
    await live.release(); // its file is already gone: release does not fail
  });

  it('release removes the lock file, once', async (t) => {
    const backend = await store(t);
    const a = await acquireLock(backend, true);
    assert.deepEqual(lockFiles(backend), [a.name]);
    await a.release();
    assert.deepEqual(lockFiles(backend), []);
    await a.release();
    // A second process's lock is not touched by a repeated release of the first.
    const b = await acquireLock(backend, false);
    await a.release();
    assert.deepEqual(lockFiles(backend), [b.name]);
    await b.release();
    assert.deepEqual(lockFiles(backend), []);
  });
});
