/**
 * The most useful behavioural features as `computed` traits, so they show in the profile with
 * history. A value is written only when it changed (values are rounded so float noise and a clock
 * moving forward do not churn history), the old row is closed, and the profile version bumped.
 */
import type { Json, Trait, TraitKind } from '../core/types.ts';
import type { FeatureStore } from '../db/stores/features.ts';
import type { ReplacementRow, TraitStore } from '../db/stores/traits.ts';
import { loadUserEvents, summariseUser, type UserEvents } from './compute.ts';
import { FEATURE_PRODUCER, FEATURE_VERSION, TIME_BUCKETS, type FeatureSchema } from './definitions.ts';

const round = (x: number, digits = 3) => Number(x.toPrecision(digits));

/** Columns-free schema: computed traits need no population-fitted columns. */
export const baseSchema = (asOf: number): FeatureSchema => ({ version: FEATURE_VERSION, asOf, eventTypes: [], categories: [], properties: [] });

/** Trait key → value for one user from its events (null: the user has no value; any stored one is closed). */
export function computedTraitValuesFrom(ev: UserEvents): Record<string, Json> {
  const s = summariseUser(ev, baseSchema(ev.asOf));
  const f = s.values;
  const get = (k: string) => f[k] ?? null;
  const r = (k: string, digits?: number) => {
    const v = get(k);
    return v === null ? null : round(v, digits);
  };
  const tod = TIME_BUCKETS.map((b) => get(`tod_${b}_share`) ?? 0);
  const best = tod.indexOf(Math.max(...tod));
  return {
    events_30d: get('n_all_30d'),
    purchase_count: get('purchase_count'),
    monetary_total: r('monetary_total', 6),
    monetary_mean: get('purchase_count') ? r('monetary_mean', 4) : null,
    last_purchase_at: s.lastPurchaseAt !== null ? new Date(s.lastPurchaseAt).toISOString() : null,
    sessions: get('sessions'),
    session_length_mean_ms: r('session_length_mean_ms', 2),
    dwell_mean_ms: r('dwell_mean_ms', 2),
    ctr: r('ctr', 2),
    top_category: s.topCategory,
    preferred_time_of_day: (get('events_total') ?? 0) > 0 ? (TIME_BUCKETS[best] ?? null) : null,
    weekend_share: (get('events_total') ?? 0) > 0 ? r('weekend_share', 2) : null,
  };
}

/** Trait key → value for one user as of `asOf`. */
export async function computedTraitValues(features: FeatureStore, userId: number, asOf: number): Promise<Record<string, Json>> {
  return computedTraitValuesFrom(await loadUserEvents(features, userId, asOf));
}

/**
 * Whether `replaceTraits(kind, producer, rows, { confidenceTolerance })` would write nothing, judged
 * from the user's current traits already read (`current`, as `TraitStore.current` orders them): the
 * same rule row by row (a null value with no current row, or the same version, value and confidence
 * within the tolerance). A refresh with nothing new then needs no write transaction at all.
 */
export function replacementUnchanged(current: readonly Trait[], kind: TraitKind, producer: string, rows: readonly ReplacementRow[], tolerance = 0): boolean {
  return rows.every((r) => {
    // currentOn's order is (kind, key, confidence DESC, id): its first row for the key is the one compared.
    const prev = current.find((t) => t.kind === kind && t.key === r.key && t.producer === producer);
    if (r.value === null) return !prev;
    return !!prev && prev.version === r.version && JSON.stringify(prev.value) === JSON.stringify(r.value) && Math.abs(prev.confidence - r.confidence) <= tolerance;
  });
}

export interface ComputedTraitsResult {
  written: number;
  closed: number;
  profileVersion: number | null;
}

/**
 * Refreshes one user's computed traits (the per-user refresh job calls this). `events`: the user's
 * events as of the cut-off, when the caller has read them already.
 */
export async function updateComputedTraits(
  store: { features: FeatureStore; traits: TraitStore },
  userId: number,
  opts: { now?: number; asOf?: number; events?: UserEvents; current?: readonly Trait[] } = {},
): Promise<ComputedTraitsResult> {
  const now = opts.now ?? Date.now();
  const values = opts.events ? computedTraitValuesFrom(opts.events) : await computedTraitValues(store.features, userId, opts.asOf ?? now);
  const rows = Object.entries(values).map(([key, value]) => ({ userId, key, value, confidence: 1, version: FEATURE_VERSION }));
  // `current`: the user's current traits read by the caller; nothing changed means no transaction.
  if (opts.current && replacementUnchanged(opts.current, 'computed', FEATURE_PRODUCER, rows)) return { written: 0, closed: 0, profileVersion: null };
  const r = await store.traits.replaceTraits('computed', FEATURE_PRODUCER, rows, { now });
  return { written: r.written, closed: r.closed, profileVersion: r.profileVersions.get(userId) ?? null };
}
