/**
 * The most useful behavioural features as `computed` traits, so they show in the profile with
 * history. A value is written only when it changed (values are rounded so float noise and a clock
 * moving forward do not churn history), the old row is closed, and the profile version bumped.
 */
import type { Json } from '../core/types.ts';
import type { Db } from '../db/connection.ts';
import { bumpProfileVersion, closeTrait, currentTraitRows, insertTrait } from '../db/traits.ts';
import { computeUserFeatures } from './compute.ts';
import { FEATURE_PRODUCER, FEATURE_VERSION, TIME_BUCKETS, type FeatureSchema } from './definitions.ts';

const round = (x: number, digits = 3) => Number(x.toPrecision(digits));

/** Columns-free schema: computed traits need no population-fitted columns. */
const BASE_SCHEMA: FeatureSchema = { version: FEATURE_VERSION, asOf: 0, eventTypes: [], categories: [], properties: [] };

/** Trait key → value for one user as of `asOf` (null: the user has no value; any stored one is closed). */
export function computedTraitValues(db: Db, userId: number, asOf: number): Record<string, Json> {
  const f = computeUserFeatures(db, userId, { asOf, schema: { ...BASE_SCHEMA, asOf } });
  const get = (k: string) => f[k] ?? null;
  const r = (k: string, digits?: number) => {
    const v = get(k);
    return v === null ? null : round(v, digits);
  };
  const top = db.sqlite
    .prepare(
      `SELECT json_extract(properties, '$.category') AS c, count(*) AS n FROM events
       WHERE user_id = ? AND ts <= ? AND c IS NOT NULL AND c != '' GROUP BY c ORDER BY n DESC, c LIMIT 1`,
    )
    .get(userId, asOf) as { c: unknown } | undefined;
  const last = db.sqlite
    .prepare(`SELECT max(ts) AS t FROM events WHERE user_id = ? AND ts <= ? AND type IN ('purchase', 'order_completed', 'checkout_completed')`)
    .get(userId, asOf) as { t: number | null };
  const tod = TIME_BUCKETS.map((b) => get(`tod_${b}_share`) ?? 0);
  const best = tod.indexOf(Math.max(...tod));
  return {
    events_30d: get('n_all_30d'),
    purchase_count: get('purchase_count'),
    monetary_total: r('monetary_total', 6),
    monetary_mean: get('purchase_count') ? r('monetary_mean', 4) : null,
    last_purchase_at: last.t !== null ? new Date(last.t).toISOString() : null,
    sessions: get('sessions'),
    session_length_mean_ms: r('session_length_mean_ms', 2),
    dwell_mean_ms: r('dwell_mean_ms', 2),
    ctr: r('ctr', 2),
    top_category: typeof top?.c === 'string' ? top.c : null,
    preferred_time_of_day: (get('events_total') ?? 0) > 0 ? (TIME_BUCKETS[best] ?? null) : null,
    weekend_share: (get('events_total') ?? 0) > 0 ? r('weekend_share', 2) : null,
  };
}

export interface ComputedTraitsResult {
  written: number;
  closed: number;
  profileVersion: number | null;
}

/** Refreshes one user's computed traits (the per-user refresh job calls this). */
export function updateComputedTraits(db: Db, userId: number, opts: { now?: number; asOf?: number } = {}): ComputedTraitsResult {
  const now = opts.now ?? Date.now();
  const values = computedTraitValues(db, userId, opts.asOf ?? now);
  return db.sqlite.transaction((): ComputedTraitsResult => {
    const current = new Map(currentTraitRows(db, userId, 'computed').filter((r) => r.producer === FEATURE_PRODUCER).map((r) => [r.key, r]));
    let written = 0;
    let closed = 0;
    for (const [key, value] of Object.entries(values)) {
      const prev = current.get(key);
      if (value === null) {
        if (prev) {
          closeTrait(db, prev.id, now, null);
          closed++;
        }
        continue;
      }
      if (prev && prev.value === JSON.stringify(value) && prev.version === FEATURE_VERSION) continue;
      const id = insertTrait(db, { userId, key, value, kind: 'computed', confidence: 1, evidence: [], producer: FEATURE_PRODUCER, version: FEATURE_VERSION, validFrom: now });
      if (prev) {
        closeTrait(db, prev.id, now, id);
        closed++;
      }
      written++;
    }
    const profileVersion = written || closed ? bumpProfileVersion(db, userId, now) : null;
    return { written, closed, profileVersion };
  })();
}
