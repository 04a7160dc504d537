/**
 * The data-quality policy: which properties are numeric and their valid ranges, which properties
 * each event type is expected to carry (a missing one is counted in stats), and how feature
 * extraction fills a missing value. docs/data-quality.md explains each choice.
 */

export interface NumericRule {
  min?: number;
  max?: number;
  /** clamp: keep the event with the value moved into range (warning); reject: reject the event. */
  outOfRange: 'clamp' | 'reject';
}

const DAY_MS = 86_400_000;

/** A lookup table without a prototype: a property named "constructor" must not find Object's. */
export function dict<T>(entries: Record<string, T>): Readonly<Record<string, T>> {
  return Object.freeze(Object.assign(Object.create(null) as Record<string, T>, entries));
}

export const NUMERIC_PROPERTIES: Readonly<Record<string, NumericRule>> = dict<NumericRule>({
  price: { outOfRange: 'reject' },
  amount: { outOfRange: 'reject' },
  revenue: { outOfRange: 'reject' },
  value: { outOfRange: 'reject' },
  total: { outOfRange: 'reject' },
  discount: { outOfRange: 'reject' },
  quantity: { min: 0, max: 1_000_000, outOfRange: 'reject' },
  dwell_ms: { min: 0, max: DAY_MS, outOfRange: 'clamp' },
  dwell_seconds: { min: 0, max: DAY_MS / 1000, outOfRange: 'clamp' },
  duration_ms: { min: 0, max: DAY_MS, outOfRange: 'clamp' },
  duration_seconds: { min: 0, max: DAY_MS / 1000, outOfRange: 'clamp' },
  position: { min: 0, outOfRange: 'reject' },
  rating: { min: 0, max: 10, outOfRange: 'reject' },
});

/** Properties an event type should carry; each absence is counted as `missing` in stats. */
export const EXPECTED_PROPERTIES: Readonly<Record<string, readonly string[]>> = dict<readonly string[]>({
  purchase: ['price', 'category'],
  page_view: ['dwell_ms'],
  product_view: ['product_id', 'category'],
  add_to_cart: ['product_id'],
  impression: ['item_id'],
  click: ['item_id'],
});

export type FeatureType = 'count' | 'monetary' | 'duration' | 'rate' | 'recency' | 'share' | 'interval';
export type MissingPolicy = 'zero' | 'mean' | 'median' | 'flag';

/**
 * How each feature type is filled when a user has no value for it:
 * - counts and shares: no events means zero, which is the truth, not a guess;
 * - monetary: a user who never bought spent zero;
 * - durations (dwell, session length): the population median (robust to a few very long tabs),
 *   plus an is-missing flag so a model can tell "typical" from "unknown";
 * - rates (click-through): undefined without impressions, so the population mean plus a flag;
 * - recency and inter-event intervals: no event means "longer than the window": filled with the
 *   window length and flagged.
 */
export const MISSING_VALUE_POLICY: Readonly<Record<FeatureType, MissingPolicy>> = {
  count: 'zero',
  share: 'zero',
  monetary: 'zero',
  duration: 'median',
  rate: 'mean',
  recency: 'flag',
  interval: 'flag',
};

/** Policies that also emit an `is_missing` indicator feature. */
export const FLAGGED_POLICIES: ReadonlySet<FeatureType> = new Set<FeatureType>(['duration', 'rate', 'recency', 'interval']);

export interface FilledColumn {
  values: number[];
  /** 1 where the value was missing, when the feature type is flagged */
  missing: number[] | null;
  /** the statistic used to fill, saved with a model so scoring fills the same way */
  fill: number;
}

/**
 * Fills one feature column by its type's policy. `fallback` is the fill for `flag` policies
 * (e.g. the window length for recency) and for an all-missing column. A saved `fill` from training
 * can be passed to reuse the training statistic at scoring time.
 */
export function fillMissing(column: ReadonlyArray<number | null | undefined>, type: FeatureType, opts: { fallback?: number; fill?: number } = {}): FilledColumn {
  const present = column.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const policy = MISSING_VALUE_POLICY[type];
  let fill: number;
  if (opts.fill !== undefined) fill = opts.fill;
  else if (policy === 'zero') fill = 0;
  else if (policy === 'flag') fill = opts.fallback ?? 0;
  else if (present.length === 0) fill = opts.fallback ?? 0;
  else if (policy === 'mean') fill = present.reduce((a, b) => a + b, 0) / present.length;
  else fill = median(present);
  const flagged = FLAGGED_POLICIES.has(type);
  const values: number[] = [];
  const missing: number[] | null = flagged ? [] : null;
  for (const v of column) {
    const isMissing = !(typeof v === 'number' && Number.isFinite(v));
    values.push(isMissing ? fill : (v as number));
    missing?.push(isMissing ? 1 : 0);
  }
  return { values, missing, fill };
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
