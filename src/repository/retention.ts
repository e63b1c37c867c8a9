// Which backups a retention policy keeps (restic `forget` semantics, applied per source):
// keep-last N newest; keep-daily/weekly/monthly N = the newest backup in each of the N most
// recent days/ISO weeks/months that have backups (UTC); older-than D = only backups older than
// D days may go. A backup kept by any rule is kept, and the newest backup of each source is
// always kept: a policy never leaves a source with no backup at all.
import type { Manifest } from './manifest.js';

export interface RetentionPolicy {
  readonly olderThanDays?: number;
  readonly keepLast?: number;
  readonly keepDaily?: number;
  readonly keepWeekly?: number;
  readonly keepMonthly?: number;
}

export interface RetentionDecision {
  readonly keep: Manifest[];
  readonly remove: Manifest[];
}

export function hasPolicy(p: RetentionPolicy): boolean {
  return [p.olderThanDays, p.keepLast, p.keepDaily, p.keepWeekly, p.keepMonthly].some((v) => v !== undefined);
}

export function applyRetention(backups: readonly Manifest[], policy: RetentionPolicy, now: Date = new Date()): RetentionDecision {
  if (!hasPolicy(policy)) return { keep: [...backups], remove: [] };
  const groups = new Map<string, Manifest[]>();
  for (const m of backups) {
    const key = `${m.source.kind}\0${m.source.name}`;
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  const keep: Manifest[] = [];
  const remove: Manifest[] = [];
  for (const group of groups.values()) {
    const newestFirst = [...group].sort((a, b) => b.id.localeCompare(a.id));
    const kept = new Set<string>();
    const keepRules = policy.keepLast !== undefined || policy.keepDaily !== undefined || policy.keepWeekly !== undefined || policy.keepMonthly !== undefined;
    if (policy.keepLast !== undefined) for (const m of newestFirst.slice(0, policy.keepLast)) kept.add(m.id);
    keepBuckets(newestFirst, policy.keepDaily, (d) => d.toISOString().slice(0, 10), kept);
    keepBuckets(newestFirst, policy.keepWeekly, isoWeek, kept);
    keepBuckets(newestFirst, policy.keepMonthly, (d) => d.toISOString().slice(0, 7), kept);
    const cutoff = policy.olderThanDays !== undefined ? now.getTime() - policy.olderThanDays * 86_400_000 : undefined;
    for (const m of newestFirst) {
      const oldEnough = cutoff === undefined || Date.parse(m.created) < cutoff;
      const protectedByRule = keepRules && kept.has(m.id);
      // Without keep rules, older-than alone decides; with them, a backup goes only if no rule keeps it.
      const goes = m !== newestFirst[0] && oldEnough && (keepRules ? !protectedByRule : true);
      (goes ? remove : keep).push(m);
    }
  }
  return { keep, remove };
}

function keepBuckets(newestFirst: readonly Manifest[], count: number | undefined, bucketOf: (d: Date) => string, kept: Set<string>): void {
  if (count === undefined || count <= 0) return;
  const seen = new Set<string>();
  for (const m of newestFirst) {
    const bucket = bucketOf(new Date(m.created));
    if (seen.has(bucket)) continue;
    seen.add(bucket);
    kept.add(m.id);
    if (seen.size >= count) break;
  }
}

function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}
