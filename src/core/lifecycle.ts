/**
 * Lifecycle stage from recency and tenure (docs/marketing.md), the same in marketing summaries
 * (per user) and segment portraits (src/db/stores/segments.ts builds its SQL CASE from these
 * constants). Times are epoch milliseconds; "days ago" counts whole days before `now`.
 *
 *   new      first event at most NEW_DAYS ago
 *   active   otherwise, last event at most ACTIVE_DAYS ago
 *   lapsing  last event more than ACTIVE_DAYS and at most LAPSING_DAYS ago
 *   churned  last event more than LAPSING_DAYS ago
 *   unknown  no events yet
 */
export const LIFECYCLE_STAGES = ['new', 'active', 'lapsing', 'churned', 'unknown'] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

export const NEW_DAYS = 30;
export const ACTIVE_DAYS = 30;
export const LAPSING_DAYS = 90;
export const DAY_MS = 86_400_000;

export function lifecycleStage(firstEventAt: number | null, lastEventAt: number | null, now: number): LifecycleStage {
  if (firstEventAt === null || lastEventAt === null) return 'unknown';
  if (now - firstEventAt <= NEW_DAYS * DAY_MS) return 'new';
  const since = now - lastEventAt;
  if (since <= ACTIVE_DAYS * DAY_MS) return 'active';
  if (since <= LAPSING_DAYS * DAY_MS) return 'lapsing';
  return 'churned';
}

/** What each stage means, for summaries, portraits and docs. */
export const LIFECYCLE_MEANING: Record<LifecycleStage, string> = {
  new: `first seen within the last ${NEW_DAYS} days`,
  active: `active within the last ${ACTIVE_DAYS} days`,
  lapsing: `last active ${ACTIVE_DAYS + 1} to ${LAPSING_DAYS} days ago`,
  churned: `no activity for more than ${LAPSING_DAYS} days`,
  unknown: 'no activity recorded yet',
};
