// Retention policies (applyRetention in src/repository/retention.ts): restic `forget` semantics,
// applied per source, never leaving a source without a backup.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newBackupId } from '../src/repository/ids.js';
import type { Manifest } from '../src/repository/manifest.js';
import { applyRetention, hasPolicy, type RetentionDecision, type RetentionPolicy } from '../src/repository/retention.js';
import type { SourceDescription } from '../src/types.js';

const NOW = new Date('2026-03-15T12:00:00.000Z');
const DAY = 86_400_000;

function backup(created: string | Date, source: Partial<SourceDescription> = {}): Manifest {
  const date = typeof created === 'string' ? new Date(created) : created;
  return {
    version: 1,
    id: newBackupId(date),
    created: date.toISOString(),
    type: 'full',
    parent: null,
    source: { kind: 'file', name: 'db.sql', ...source },
    metadata: {},
    compression: { codec: 'zstd', level: 3 },
    entries: [],
    stats: { logicalSize: 0, storedSize: 0, chunks: 0, newChunks: 0 },
  };
}

const daysAgo = (days: number, source?: Partial<SourceDescription>) => backup(new Date(NOW.getTime() - days * DAY), source);

/** Dates (ISO strings) of kept and removed backups, oldest first. */
function dates(decision: RetentionDecision): { keep: string[]; remove: string[] } {
  const sorted = (ms: Manifest[]) => ms.map((m) => m.created).sort();
  return { keep: sorted(decision.keep), remove: sorted(decision.remove) };
}

function check(backups: Manifest[], policy: RetentionPolicy, keep: string[]): void {
  const decision = applyRetention(backups, policy, NOW);
  assert.equal(decision.keep.length + decision.remove.length, backups.length, 'every backup is decided once');
  const all = new Set([...decision.keep, ...decision.remove]);
  assert.equal(all.size, backups.length);
  for (const m of backups) assert.ok(all.has(m), 'decisions are the given manifests');
  const wantKeep = [...keep].map((d) => new Date(d).toISOString()).sort();
  const wantRemove = backups.map((m) => m.created).filter((c) => !wantKeep.includes(c)).sort();
  assert.deepEqual(dates(decision), { keep: wantKeep, remove: wantRemove });
}

describe('ids used here sort in time order', () => {
  it('newBackupId', () => {
    const ms = ['2025-12-24T10:00:00Z', '2025-12-24T10:00:01Z', '2026-01-01T00:00:00Z', '2026-03-15T11:59:59Z'].map((d) => backup(d));
    assert.deepEqual(
      ms.map((m) => m.id),
      ms.map((m) => m.id).sort(),
    );
  });
});

describe('applyRetention', () => {
  it('no policy removes nothing', () => {
    const backups = [daysAgo(400), daysAgo(30), daysAgo(1)];
    assert.equal(hasPolicy({}), false);
    const decision = applyRetention(backups, {}, NOW);
    assert.deepEqual(decision.remove, []);
    assert.deepEqual(decision.keep, backups);
    assert.deepEqual(applyRetention([], { keepLast: 1 }, NOW), { keep: [], remove: [] });
  });

  it('hasPolicy notices every rule, even a zero', () => {
    for (const p of [{ keepLast: 0 }, { keepDaily: 1 }, { keepWeekly: 1 }, { keepMonthly: 1 }, { olderThanDays: 0 }] satisfies RetentionPolicy[]) {
      assert.equal(hasPolicy(p), true, JSON.stringify(p));
    }
  });

  it('keep-last N keeps the N newest', () => {
    const backups = [daysAgo(5), daysAgo(4), daysAgo(3), daysAgo(2), daysAgo(1)];
    check(backups, { keepLast: 2 }, [backups[3]!.created, backups[4]!.created]);
    check(backups, { keepLast: 5 }, backups.map((m) => m.created));
    check(backups, { keepLast: 50 }, backups.map((m) => m.created));
    // Order of the input does not matter.
    check([...backups].reverse(), { keepLast: 3 }, backups.slice(2).map((m) => m.created));
  });

  it('keep-daily N keeps the newest backup of each of the N latest days with backups (UTC)', () => {
    const backups = [
      '2026-03-10T08:00:00Z',
      '2026-03-10T20:00:00Z',
      '2026-03-12T09:00:00Z',
      '2026-03-14T01:00:00Z',
      '2026-03-14T23:59:59.999Z',
      '2026-03-15T00:00:00Z',
      '2026-03-15T10:00:00Z',
    ].map((d) => backup(d));
    check(backups, { keepDaily: 1 }, ['2026-03-15T10:00:00Z']);
    // Days without backups (the 11th, the 13th) do not count.
    check(backups, { keepDaily: 3 }, ['2026-03-15T10:00:00Z', '2026-03-14T23:59:59.999Z', '2026-03-12T09:00:00Z']);
    check(backups, { keepDaily: 4 }, ['2026-03-15T10:00:00Z', '2026-03-14T23:59:59.999Z', '2026-03-12T09:00:00Z', '2026-03-10T20:00:00Z']);
  });

  it('keep-weekly N uses ISO weeks: Monday to Sunday, week 1 holding the year\'s first Thursday', () => {
    const backups = [
      '2025-12-24T12:00:00Z', // Wed, 2025-W52
      '2025-12-28T12:00:00Z', // Sun, 2025-W52
      '2025-12-29T12:00:00Z', // Mon, 2026-W01
      '2026-01-01T12:00:00Z', // Thu, 2026-W01
      '2026-01-03T12:00:00Z', // Sat, 2026-W01
      '2026-01-05T12:00:00Z', // Mon, 2026-W02
    ].map((d) => backup(d));
    check(backups, { keepWeekly: 2 }, ['2026-01-05T12:00:00Z', '2026-01-03T12:00:00Z']);
    check(backups, { keepWeekly: 3 }, ['2026-01-05T12:00:00Z', '2026-01-03T12:00:00Z', '2025-12-28T12:00:00Z']);
  });

  it('keep-weekly counts ISO week 53', () => {
    // 2026 has 53 ISO weeks: Dec 28 2026 (Mon) .. Jan 3 2027 (Sun) is 2026-W53.
    const backups = ['2026-12-27T12:00:00Z', '2026-12-28T12:00:00Z', '2027-01-03T12:00:00Z', '2027-01-04T12:00:00Z'].map((d) => backup(d));
    const now = new Date('2027-01-05T00:00:00Z');
    const decision = applyRetention(backups, { keepWeekly: 3 }, now);
    assert.deepEqual(dates(decision).keep, ['2026-12-27T12:00:00.000Z', '2027-01-03T12:00:00.000Z', '2027-01-04T12:00:00.000Z']);
  });

  it('keep-monthly N keeps the newest backup of each of the N latest months with backups', () => {
    const backups = [
      '2025-11-15T00:00:00Z',
      '2026-01-05T00:00:00Z',
      '2026-01-31T23:00:00Z',
      '2026-02-01T00:30:00Z',
      '2026-02-20T00:00:00Z',
      '2026-03-03T00:00:00Z',
    ].map((d) => backup(d));
    check(backups, { keepMonthly: 2 }, ['2026-03-03T00:00:00Z', '2026-02-20T00:00:00Z']);
    // December 2025 has no backup: November is the fourth month with one.
    check(backups, { keepMonthly: 4 }, ['2026-03-03T00:00:00Z', '2026-02-20T00:00:00Z', '2026-01-31T23:00:00Z', '2025-11-15T00:00:00Z']);
  });

  it('keep rules add up: a backup kept by any rule stays', () => {
    const backups = [
      '2026-01-10T00:00:00Z',
      '2026-02-10T00:00:00Z',
      '2026-03-01T00:00:00Z',
      '2026-03-13T00:00:00Z',
      '2026-03-14T00:00:00Z',
      '2026-03-15T00:00:00Z',
    ].map((d) => backup(d));
    check(backups, { keepLast: 1, keepMonthly: 3 }, ['2026-03-15T00:00:00Z', '2026-02-10T00:00:00Z', '2026-01-10T00:00:00Z']);
    check(backups, { keepDaily: 2, keepMonthly: 2 }, ['2026-03-15T00:00:00Z', '2026-03-14T00:00:00Z', '2026-02-10T00:00:00Z']);
  });

  it('older-than alone removes exactly the backups older than the cutoff', () => {
    const backups = [daysAgo(20), daysAgo(10), daysAgo(4), daysAgo(3), daysAgo(2), daysAgo(1 / 24)];
    // Exactly 3 days old is not older than 3 days.
    check(backups, { olderThanDays: 3 }, [daysAgo(3).created, daysAgo(2).created, daysAgo(1 / 24).created]);
    check(backups, { olderThanDays: 30 }, backups.map((m) => m.created));
    check(backups, { olderThanDays: 0 }, [daysAgo(1 / 24).created]);
  });

  it('older-than combined with keep rules: a backup goes only when it is old and no rule keeps it', () => {
    const backups = [daysAgo(20), daysAgo(10), daysAgo(6), daysAgo(4), daysAgo(2)];
    // keep-last 3 protects the 6-day-old backup although it is older than 5 days.
    check(backups, { keepLast: 3, olderThanDays: 5 }, [daysAgo(6).created, daysAgo(4).created, daysAgo(2).created]);
    // The 4-day-old backup is kept by no rule, but it is not old enough to go.
    check(backups, { keepLast: 1, olderThanDays: 5 }, [daysAgo(4).created, daysAgo(2).created]);
    check(backups, { keepDaily: 2, olderThanDays: 15 }, [daysAgo(10).created, daysAgo(6).created, daysAgo(4).created, daysAgo(2).created]);
    check(backups, { keepMonthly: 1, olderThanDays: 1 }, [daysAgo(2).created]);
  });

  it('applies the policy to each source on its own', () => {
    const db = [daysAgo(9), daysAgo(7), daysAgo(5)].map((m) => ({ ...m, source: { kind: 'file' as const, name: 'db.sql' } }));
    const web = [daysAgo(8), daysAgo(6), daysAgo(1)].map((m) => ({ ...m, source: { kind: 'project' as const, name: 'web' } }));
    // Same name, other kind: another source.
    const piped = [daysAgo(4), daysAgo(3)].map((m) => ({ ...m, source: { kind: 'stdin' as const, name: 'db.sql' } }));
    const all = [web[0]!, db[0]!, piped[0]!, web[1]!, db[1]!, web[2]!, piped[1]!, db[2]!];
    check(all, { keepLast: 1 }, [db[2]!.created, web[2]!.created, piped[1]!.created]);
    check(all, { keepLast: 2 }, [db[1]!.created, db[2]!.created, web[1]!.created, web[2]!.created, piped[0]!.created, piped[1]!.created]);
    const decision = applyRetention(all, { keepLast: 1 }, NOW);
    assert.ok(decision.keep.includes(db[2]!), 'the newest db.sql file backup stays although other sources are newer');
  });

  it('never removes the newest backup of a source', () => {
    const a = [daysAgo(100), daysAgo(90)];
    const b = [daysAgo(80, { name: 'other' })];
    const all = [...a, ...b];
    for (const policy of [{ olderThanDays: 0 }, { keepLast: 0 }, { keepDaily: 0 }, { keepLast: 0, olderThanDays: 1 }, { keepWeekly: 0, keepMonthly: 0 }] satisfies RetentionPolicy[]) {
      const decision = applyRetention(all, policy, NOW);
      assert.deepEqual(
        decision.keep.map((m) => m.created).sort(),
        [a[1]!.created, b[0]!.created].sort(),
        JSON.stringify(policy),
      );
      assert.deepEqual(decision.remove, [a[0]]);
    }
    // A source with one backup keeps it under any policy.
    const only = daysAgo(1000);
    for (const policy of [{ olderThanDays: 1 }, { keepLast: 0, olderThanDays: 0 }, { keepMonthly: 0 }] satisfies RetentionPolicy[]) {
      assert.deepEqual(applyRetention([only], policy, NOW), { keep: [only], remove: [] });
    }
  });
});
