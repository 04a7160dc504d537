/**
 * Which behavioural features exist and how each is filled when missing. The column set depends on
 * the population (its most common event types and categories), so it is "fitted" once into a
 * FeatureSchema and saved with every model: scoring must build exactly the training columns.
 */
import { z } from 'zod';
import type { FeatureType } from '../core/data-quality.ts';

/** Bumped whenever a feature's definition changes: computed traits and model cards carry it. */
export const FEATURE_VERSION = '1';
export const FEATURE_PRODUCER = 'features';

export const DAY_MS = 86_400_000;
export const WINDOWS_DAYS = [7, 30, 90] as const;
/** "Longer than any window": the fill for recency/interval features of users without the event. */
export const RECENCY_FALLBACK_DAYS = 365;
export const SESSION_GAP_MS = 30 * 60_000;
export const PURCHASE_TYPES: ReadonlySet<string> = new Set(['purchase', 'order_completed', 'checkout_completed']);
export const TIME_BUCKETS = ['night', 'morning', 'afternoon', 'evening'] as const;

const propName = z.string().regex(/^[a-z][a-z0-9_]*$/, 'property and event names are snake_case (as cleaning stores them)');

/** An extra feature from one event property (e.g. Online Shoppers' page_values on session_start). */
export const propertyFeatureSchema = z.strictObject({
  event: propName.optional().describe('only events of this type; default: any'),
  key: propName,
  /** numeric aggregates, or `onehot` over the property's most common string values */
  agg: z.enum(['last', 'mean', 'sum', 'max', 'onehot']),
  /** the missing-value policy class of a numeric aggregate */
  type: z.enum(['count', 'monetary', 'duration', 'rate', 'recency', 'share', 'interval']).default('rate'),
  /** onehot: how many distinct values become columns (the rest share `other`) */
  top: z.number().int().min(1).max(50).default(12),
});
export type PropertyFeature = z.infer<typeof propertyFeatureSchema>;

export interface FittedPropertyFeature extends PropertyFeature {
  /** onehot: the fitted values, in column order */
  values?: string[];
}

export interface FeatureSchema {
  version: string;
  /** fitted as of this time (epoch ms) */
  asOf: number;
  eventTypes: string[];
  categories: string[];
  properties: FittedPropertyFeature[];
  /**
   * Repeat-purchase columns (longer purchase windows, spend trend, inter-purchase gaps, BG/NBD-style
   * recency/frequency/age ratios), appended last. Opt-in per model spec, so the default column set,
   * which the user vector and saved models depend on, is unchanged.
   */
  purchaseHistory?: boolean;
  /**
   * Only the property columns (and purchase-history ones): for data whose events are a carrier for
   * the client's own per-user features (Online Shoppers' sessions), where times are synthetic.
   */
  propertiesOnly?: boolean;
  /**
   * Item-aware models (features/items.ts): the event property naming the item (and its event type
   * and weight property). Adds no aggregate columns; it makes event reads carry those keys.
   */
  items?: { property: string; event?: string; valueProperty?: string };
}

export interface FeatureDef {
  name: string;
  type: FeatureType;
  /** fill for `flag` policies and all-missing columns */
  fallback: number;
  /** heavy-tailed magnitudes are modelled on log1p scale */
  log: boolean;
}

const def = (name: string, type: FeatureType, log = false, fallback = 0): FeatureDef => ({ name, type, fallback, log });

export function safeColumn(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 40) || 'x'
  );
}

/** Repeat-purchase columns, in the order `finish` (compute.ts) emits them. */
export const PURCHASE_HISTORY_DEFS: readonly FeatureDef[] = [
  def('purchases_90_180d', 'count', true),
  def('purchases_180_365d', 'count', true),
  def('monetary_90d', 'monetary', true),
  def('monetary_90_180d', 'monetary', true),
  // Frequency per week of tenure, and the BG/NBD-style recency ratio t_x / T (last purchase's
  // position in the customer's lifetime: near 1 = bought lately relative to how long they have been around).
  def('repeat_purchases_per_week', 'count', true),
  def('purchase_recency_ratio', 'share'),
  def('days_since_first_purchase', 'recency', true, RECENCY_FALLBACK_DAYS),
  def('purchase_interval_std_days', 'interval', true, RECENCY_FALLBACK_DAYS),
  def('purchase_interval_last_days', 'interval', true, RECENCY_FALLBACK_DAYS),
  // Time since the last purchase in units of the customer's own mean gap: > 1 = overdue.
  def('purchase_overdue_ratio', 'interval', true, 0),
];

/** The full feature vector's columns, in order, for a schema. */
export function featureDefs(schema: FeatureSchema): FeatureDef[] {
  const defs: FeatureDef[] = [];
  for (const w of WINDOWS_DAYS) {
    defs.push(def(`n_all_${w}d`, 'count', true));
    for (const t of schema.eventTypes) defs.push(def(`n_${safeColumn(t)}_${w}d`, 'count', true));
  }
  defs.push(
    def('events_total', 'count', true),
    def('events_per_day', 'count', true),
    def('active_days', 'count', true),
    def('days_since_last_event', 'recency', true, RECENCY_FALLBACK_DAYS),
    def('days_since_first_event', 'recency', true, RECENCY_FALLBACK_DAYS),
    def('days_since_last_purchase', 'recency', true, RECENCY_FALLBACK_DAYS),
    def('purchase_count', 'count', true),
    def('purchase_days', 'count', true),
    def('monetary_total', 'monetary', true),
    def('monetary_mean', 'monetary', true),
    def('purchase_interval_mean_days', 'interval', true, RECENCY_FALLBACK_DAYS),
    def('dwell_mean_ms', 'duration', true),
    def('dwell_total_ms', 'duration', true),
    def('ctr', 'rate'),
    def('sessions', 'count', true),
    def('session_length_mean_ms', 'duration', true),
    def('events_per_session', 'rate', true),
    def('interevent_mean_hours', 'interval', true, RECENCY_FALLBACK_DAYS * 24),
    def('interevent_std_hours', 'interval', true, RECENCY_FALLBACK_DAYS * 24),
  );
  for (const b of TIME_BUCKETS) defs.push(def(`tod_${b}_share`, 'share'));
  defs.push(def('weekend_share', 'share'));
  for (const c of schema.categories) defs.push(def(`cat_${safeColumn(c)}_share`, 'share'));
  if (schema.categories.length) defs.push(def('cat_other_share', 'share'));
  const propStart = defs.length;
  for (const p of schema.properties) {
    const base = `p_${p.event ? `${p.event}_` : ''}${p.key}`;
    if (p.agg === 'onehot') {
      for (const v of p.values ?? []) defs.push(def(`${base}_${safeColumn(v)}`, 'share'));
      defs.push(def(`${base}_other`, 'share'));
    } else defs.push(def(`${base}_${p.agg}`, p.type, p.type !== 'rate' && p.type !== 'share', p.type === 'recency' || p.type === 'interval' ? RECENCY_FALLBACK_DAYS : 0));
  }
  if (schema.purchaseHistory) defs.push(...PURCHASE_HISTORY_DEFS);
  return schema.propertiesOnly ? defs.slice(propStart) : defs;
}
