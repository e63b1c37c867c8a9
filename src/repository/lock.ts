// Repository locks (docs/FORMAT.md §8). Writers share; prune and delete are exclusive. A lock
// left by a dead process is reported with the command that clears it, never removed silently:
// guessing wrong about another host's process would let prune delete data a backup is writing.
import os from 'node:os';
import { AgentvaultError } from '../errors.js';
import type { WritableStore, PrunableStore } from '../backend/backend.js';
import { randomHexId } from './ids.js';

export const LOCK_REFRESH_MS = 5 * 60_000;
export const LOCK_STALE_MS = 30 * 60_000;

export interface LockInfo {
  readonly version: 1;
  readonly exclusive: boolean;
  readonly host: string;
  readonly pid: number;
  readonly created: string;
  readonly refreshed: string;
}

export interface HeldLock {
  readonly name: string;
  release(): Promise<void>;
}

export function describeLock(info: LockInfo): string {
  return `${info.exclusive ? 'an exclusive' : 'a shared'} lock held by pid ${info.pid} on ${info.host} since ${info.created}`;
}

/** Whether a lock's owner is gone: same host and no such process, or not refreshed for 30 minutes. */
export function isStale(info: LockInfo, now = Date.now()): boolean {
  if (info.host === os.hostname()) {
    try {
      process.kill(info.pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return true;
    }
  }
  return now - Date.parse(info.refreshed) > LOCK_STALE_MS;
}

export async function readLocks(store: WritableStore): Promise<Array<{ name: string; info: LockInfo }>> {
  const locks: Array<{ name: string; info: LockInfo }> = [];
  for await (const file of store.list('lock')) {
    try {
      const info = JSON.parse((await store.read('lock', file.name)).toString('utf8')) as LockInfo;
      locks.push({ name: file.name, info });
    } catch (err) {
      // A lock released between list and read is gone: fine. An unreadable one still counts.
      if ((err as AgentvaultError).code === 'NOT_FOUND') continue;
      locks.push({ name: file.name, info: { version: 1, exclusive: true, host: 'unknown', pid: 0, created: 'unknown', refreshed: new Date(0).toISOString() } });
    }
  }
  return locks;
}

export async function acquireLock(store: PrunableStore, exclusive: boolean): Promise<HeldLock> {
  const name = `${randomHexId(8)}.json`;
  const now = new Date().toISOString();
  const info: LockInfo = { version: 1, exclusive, host: os.hostname(), pid: process.pid, created: now, refreshed: now };
  await store.write('lock', name, Buffer.from(JSON.stringify(info)));

  // Write first, then look: two processes racing both see each other and at least one backs off.
  const others = (await readLocks(store)).filter((l) => l.name !== name && (exclusive || l.info.exclusive));
  if (others.length > 0) {
    await store.remove('lock', name);
    const [first] = others;
    const stale = isStale(first!.info);
    throw new AgentvaultError(
      stale ? 'STALE_LOCK' : 'LOCKED',
      stale
        ? `the repository is locked by a process that is no longer running (${describeLock(first!.info)}); if no agentvault is running on that host, remove it with \`agentvault backup unlock\``
        : `the repository is busy: ${describeLock(first!.info)}; try again when it finishes`,
    );
  }

  let refreshed = info;
  const timer = setInterval(() => {
    refreshed = { ...refreshed, refreshed: new Date().toISOString() };
    store.write('lock', name, Buffer.from(JSON.stringify(refreshed))).catch(() => undefined);
  }, LOCK_REFRESH_MS);
  timer.unref();
  let released = false;
  return {
    name,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await store.remove('lock', name);
    },
  };
}

/** Removes stale locks (all locks with `all`); returns what it removed. */
export async function removeLocks(store: PrunableStore, all: boolean): Promise<LockInfo[]> {
  const removed: LockInfo[] = [];
  for (const lock of await readLocks(store)) {
    if (all || isStale(lock.info)) {
      await store.remove('lock', lock.name);
      removed.push(lock.info);
    }
  }
  return removed;
}
