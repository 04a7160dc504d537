/**
 * Behavioural features from the events as of a cut-off. One streaming pass over (user_id, ts, id)-
 * ordered pages from the feature store, with the few JSON fields pulled out by the database. The
 * cut-off is enforced twice: in the store's WHERE clause, and again per row here, so a future query
 * change cannot leak events after `asOf` into training data.
 */
import { UnprocessableError, ValidationError } from '../core/errors.ts';
import type { FeatureEvent, FeatureStore } from '../db/stores/features.ts';
import {
  DAY_MS,
  featureDefs,
  FEATURE_VERSION,
  PURCHASE_TYPES,
  SESSION_GAP_MS,
  WINDOWS_DAYS,
  type FeatureDef,
  type FeatureSchema,
  type FittedPropertyFeature,
  type PropertyFeature,
} from './definitions.ts';

export interface FeatureRows {
  asOf: number;
  defs: FeatureDef[];
  userIds: number[];
  /** raw values, null where a user has no value (filled later by the missing-value policy) */
  rows: (number | null)[][];
}

/**
 * One user's events up to a cut-off, read once and shared by every consumer of a refresh (computed
 * traits, each model's scoring, sequences): `keys` are the property keys extracted as p0, p1, …
 */
export interface UserEvents {
  userId: number;
  asOf: number;
  keys: readonly string[];
  events: readonly FeatureEvent[];
}

/** The amount fallbacks, as SQL's coalesce(amount, revenue, total, value) would pick. */
export const moneyOf = (e: FeatureEvent): unknown => e.amount ?? e.revenue ?? e.total ?? e.value ?? null;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Per-user running state: O(types × windows + categories) memory, whatever the event count. */
class Acc {
  n = 0;
  first = 0;
  last = 0;
  lastPurchase: number | null = null;
  firstPurchase: number | null = null;
  /** purchase-history extras: purchases 90–180 and 180–365 days before the cut-off, spend <90 and 90–180 days */
  purch90to180 = 0;
  purch180to365 = 0;
  monetary90 = 0;
  monetary90to180 = 0;
  purchases = 0;
  purchaseDays = new Set<number>();
  monetary = 0;
  monetaryN = 0;
  dwellSum = 0;
  dwellN = 0;
  clicks = 0;
  impressions = 0;
  sessions = 0;
  sessionStart = 0;
  sessionLast = 0;
  sessionLenSum = 0;
  gapSum = 0;
  gapSq = 0;
  gapN = 0;
  activeDays = new Set<number>();
  tod = [0, 0, 0, 0];
  weekend = 0;
  catN = 0;
  cats = new Map<string, number>();
  /** non-string category values (numbers): they only decide whether a top category exists */
  otherCats: Map<unknown, number> | null = null;
  /** counts[w][typeIndex]; the last type slot is "all" */
  counts: Float64Array[];
  props: { sum: number; n: number; last: number | null; max: number | null; hot: Map<string, number> }[];

  constructor(nTypes: number, nProps: number) {
    this.counts = WINDOWS_DAYS.map(() => new Float64Array(nTypes + 1));
    this.props = Array.from({ length: nProps }, () => ({ sum: 0, n: 0, last: null, max: null, hot: new Map<string, number>() }));
  }
}

function closeSession(a: Acc): void {
  if (a.n === 0) return;
  a.sessions++;
  a.sessionLenSum += a.sessionLast - a.sessionStart;
}

function add(a: Acc, e: FeatureEvent, asOf: number, typeIndex: Map<string, number>, nTypes: number, props: readonly PropertyFeature[], propCols: readonly string[]): void {
  if (e.ts > asOf) throw new UnprocessableError(`feature leakage guard: event at ${e.ts} is after the cut-off ${asOf}`);
  if (a.n === 0) {
    a.first = e.ts;
    a.sessionStart = e.ts;
  } else {
    const gap = e.ts - a.last;
    a.gapSum += gap;
    a.gapSq += gap * gap;
    a.gapN++;
    if (gap > SESSION_GAP_MS || e.type === 'session_start') {
      closeSession(a);
      a.sessionStart = e.ts;
    }
  }
  a.sessionLast = e.ts;
  a.n++;
  a.last = e.ts;
  const age = asOf - e.ts;
  const ti = typeIndex.get(e.type);
  for (let w = 0; w < WINDOWS_DAYS.length; w++) {
    if (age < (WINDOWS_DAYS[w] as number) * DAY_MS) {
      const c = a.counts[w] as Float64Array;
      c[nTypes]!++;
      if (ti !== undefined) c[ti]!++;
    }
  }
  const day = Math.floor(e.ts / DAY_MS);
  a.activeDays.add(day);
  const d = new Date(e.ts);
  a.tod[Math.floor(d.getUTCHours() / 6)]!++;
  const wd = d.getUTCDay();
  if (wd === 0 || wd === 6) a.weekend++;
  if (PURCHASE_TYPES.has(e.type)) {
    a.purchases++;
    a.purchaseDays.add(day);
    a.lastPurchase = e.ts;
    a.firstPurchase ??= e.ts;
    const ageDays = age / DAY_MS;
    if (ageDays >= 90 && ageDays < 180) a.purch90to180++;
    else if (ageDays >= 180 && ageDays < 365) a.purch180to365++;
    const price = num(e.price);
    const value = price !== null ? price * (num(e.quantity) ?? 1) : num(moneyOf(e));
    if (value !== null) {
      a.monetary += value;
      a.monetaryN++;
      if (ageDays < 90) a.monetary90 += value;
      else if (ageDays < 180) a.monetary90to180 += value;
    }
  }
  const dwell = num(e.dwellMs);
  if (dwell !== null) {
    a.dwellSum += dwell;
    a.dwellN++;
  }
  if (e.type === 'click') a.clicks++;
  else if (e.type === 'impression') a.impressions++;
  if (typeof e.category === 'string' && e.category !== '') {
    a.catN++;
    a.cats.set(e.category, (a.cats.get(e.category) ?? 0) + 1);
  } else if (e.category !== null && e.category !== undefined && e.category !== '') {
    a.otherCats ??= new Map();
    a.otherCats.set(e.category, (a.otherCats.get(e.category) ?? 0) + 1);
  }
  for (let i = 0; i < props.length; i++) {
    const p = props[i] as PropertyFeature;
    if (p.event !== undefined && p.event !== e.type) continue;
    const raw = e[propCols[i] as `p${number}`];
    const st = a.props[i]!;
    if (p.agg === 'onehot') {
      if (raw === null || raw === undefined) continue;
      const k = String(raw);
      st.hot.set(k, (st.hot.get(k) ?? 0) + 1);
      st.n++;
      continue;
    }
    const v = num(raw);
    if (v === null) continue;
    st.sum += v;
    st.n++;
    st.last = v;
    st.max = st.max === null ? v : Math.max(st.max, v);
  }
}

function finish(a: Acc, asOf: number, schema: FeatureSchema, nTypes: number): (number | null)[] {
  closeSession(a);
  const out: (number | null)[] = [];
  for (let w = 0; w < WINDOWS_DAYS.length; w++) {
    const c = a.counts[w] as Float64Array;
    out.push(c[nTypes] as number);
    for (let t = 0; t < nTypes; t++) out.push(c[t] as number);
  }
  const has = a.n > 0;
  const tenureDays = has ? (asOf - a.first) / DAY_MS : 0;
  const pDays = [...a.purchaseDays].sort((x, y) => x - y);
  out.push(
    a.n,
    has ? a.n / Math.max(1, tenureDays) : 0,
    a.activeDays.size,
    has ? (asOf - a.last) / DAY_MS : null,
    has ? tenureDays : null,
    a.lastPurchase !== null ? (asOf - a.lastPurchase) / DAY_MS : null,
    a.purchases,
    pDays.length,
    a.monetary,
    a.monetaryN ? a.monetary / a.monetaryN : 0,
    pDays.length > 1 ? ((pDays[pDays.length - 1] as number) - (pDays[0] as number)) / (pDays.length - 1) : null,
    a.dwellN ? a.dwellSum / a.dwellN : null,
    a.dwellN ? a.dwellSum : null,
    a.impressions ? a.clicks / a.impressions : null,
    a.sessions,
    a.sessions ? a.sessionLenSum / a.sessions : null,
    a.sessions ? a.n / a.sessions : null,
  );
  if (a.gapN) {
    const mean = a.gapSum / a.gapN;
    const variance = Math.max(0, a.gapSq / a.gapN - mean * mean);
    out.push(mean / 3_600_000, Math.sqrt(variance) / 3_600_000);
  } else out.push(null, null);
  for (const b of a.tod) out.push(has ? b / a.n : 0);
  out.push(has ? a.weekend / a.n : 0);
  if (schema.categories.length) {
    let known = 0;
    for (const c of schema.categories) {
      const k = a.cats.get(c) ?? 0;
      known += k;
      out.push(a.catN ? k / a.catN : 0);
    }
    out.push(a.catN ? (a.catN - known) / a.catN : 0);
  }
  const propStart = out.length;
  schema.properties.forEach((p, i) => {
    const st = a.props[i]!;
    if (p.agg === 'onehot') {
      let known = 0;
      for (const v of p.values ?? []) {
        const k = st.hot.get(v) ?? 0;
        known += k;
        out.push(st.n ? k / st.n : 0);
      }
      out.push(st.n ? (st.n - known) / st.n : 0);
      return;
    }
    if (st.n === 0) return void out.push(p.type === 'count' || p.type === 'monetary' ? 0 : null);
    out.push(p.agg === 'last' ? st.last : p.agg === 'max' ? st.max : p.agg === 'sum' ? st.sum : st.sum / st.n);
  });
  if (schema.purchaseHistory) out.push(...purchaseHistory(a, asOf, pDays, tenureDays));
  return schema.propertiesOnly ? out.slice(propStart) : out;
}

/** The PURCHASE_HISTORY_DEFS values; `pDays` are the distinct purchase days, ascending. */
function purchaseHistory(a: Acc, asOf: number, pDays: readonly number[], tenureDays: number): (number | null)[] {
  const gaps: number[] = [];
  for (let i = 1; i < pDays.length; i++) gaps.push((pDays[i] as number) - (pDays[i - 1] as number));
  const meanGap = gaps.length ? gaps.reduce((x, y) => x + y, 0) / gaps.length : null;
  const stdGap = gaps.length > 1 && meanGap !== null ? Math.sqrt(gaps.reduce((x, g) => x + (g - meanGap) ** 2, 0) / gaps.length) : null;
  const sinceLast = a.lastPurchase !== null ? (asOf - a.lastPurchase) / DAY_MS : null;
  const T = a.firstPurchase !== null ? (asOf - a.firstPurchase) / DAY_MS : null;
  return [
    a.purch90to180,
    a.purch180to365,
    a.monetary90,
    a.monetary90to180,
    pDays.length > 1 ? ((pDays.length - 1) * 7) / Math.max(7, tenureDays) : 0,
    a.lastPurchase !== null && a.n > 0 && tenureDays > 0 ? (a.lastPurchase - a.first) / DAY_MS / tenureDays : null,
    T,
    stdGap,
    gaps.length ? (gaps[gaps.length - 1] as number) : null,
    sinceLast !== null && meanGap !== null && meanGap > 0 ? sinceLast / meanGap : null,
  ];
}

function checkAsOf(asOf: number): void {
  if (!Number.isFinite(asOf)) throw new ValidationError('asOf must be a finite epoch-millisecond time', { asOf });
}

/** The property keys a schema reads from events (the store extracts them as p0, p1, …). */
export function propertyKeys(schemas: readonly FeatureSchema[]): string[] {
  return [
    ...new Set(schemas.flatMap((s) => [...s.properties.map((p) => p.key), ...(s.items ? [s.items.property, ...(s.items.valueProperty ? [s.items.valueProperty] : [])] : [])])),
  ];
}

/** Each schema property's column in events scanned with `keys`. */
function propColumns(schema: FeatureSchema, keys: readonly string[]): string[] {
  return schema.properties.map((p) => {
    const i = keys.indexOf(p.key);
    if (i < 0) throw new ValidationError(`events were read without property "${p.key}"`, { key: p.key });
    return `p${i}`;
  });
}

/** Folds one user's events (already in (ts, id) order) into its running state. */
function foldUser(events: Iterable<FeatureEvent>, asOf: number, schema: FeatureSchema, cols: readonly string[]): Acc {
  const typeIndex = new Map(schema.eventTypes.map((t, i) => [t, i]));
  const a = new Acc(schema.eventTypes.length, schema.properties.length);
  for (const e of events) add(a, e, asOf, typeIndex, schema.eventTypes.length, schema.properties, cols);
  return a;
}

/**
 * Features for every user with at least one event at or before `asOf` (or only `userIds`), in
 * user id order. `schema` fixes the columns (from `fitFeatureSchema`, or a trained model's).
 */
export async function computeFeatureRows(features: FeatureStore, opts: { asOf: number; schema: FeatureSchema; userIds?: readonly number[] }): Promise<FeatureRows> {
  checkAsOf(opts.asOf);
  const { asOf, schema } = opts;
  const defs = featureDefs(schema);
  const typeIndex = new Map(schema.eventTypes.map((t, i) => [t, i]));
  const nTypes = schema.eventTypes.length;
  const keys = propertyKeys([schema]);
  const cols = propColumns(schema, keys);
  const userIds: number[] = [];
  const rows: (number | null)[][] = [];
  let cur = -1;
  let a: Acc | null = null;
  const scan = features.scanEvents({ asOf, props: keys, ...(opts.userIds ? { userIds: opts.userIds } : {}) });
  for await (const page of scan) {
    for (const e of page) {
      if (e.userId !== cur) {
        if (a) {
          userIds.push(cur);
          rows.push(finish(a, asOf, schema, nTypes));
        }
        cur = e.userId;
        a = new Acc(nTypes, schema.properties.length);
      }
      add(a as Acc, e, asOf, typeIndex, nTypes, schema.properties, cols);
    }
  }
  if (a) {
    userIds.push(cur);
    rows.push(finish(a, asOf, schema, nTypes));
  }
  return { asOf, defs, userIds, rows };
}

/**
 * One user's events up to `asOf` with every property key `schemas` need, read once so a refresh
 * computes computed traits, each model's features and sequences without reading them again.
 */
export async function loadUserEvents(
  features: FeatureStore,
  userId: number,
  asOf: number,
  schemas: readonly FeatureSchema[] = [],
  /** more property keys to extract (after the schemas' own), e.g. the item block's interaction keys */
  extraKeys: readonly string[] = [],
): Promise<UserEvents> {
  checkAsOf(asOf);
  const keys = [...new Set([...propertyKeys(schemas), ...extraKeys])];
  const events: FeatureEvent[] = [];
  for await (const page of features.scanEvents({ asOf, props: keys, userIds: [userId] })) for (const e of page) events.push(e);
  return { userId, asOf, keys, events };
}

/** One user's events folded under one schema: the finished row and the state computed traits read beside it. */
interface Folded {
  defs: FeatureDef[];
  row: (number | null)[];
  acc: Acc;
}

/**
 * The folds already made of each user's events, by schema: a refresh's consumers that use the same
 * schema (computed traits and the profile's behaviour block both use the base schema) share one
 * fold instead of each folding the events again. Keyed by the events object a refresh read once
 * (immutable), so it lives as long as that object.
 */
const folds = new WeakMap<UserEvents, Map<string, Folded>>();

function foldedOf(ev: UserEvents, schema: FeatureSchema): Folded {
  let byKey = folds.get(ev);
  if (!byKey) folds.set(ev, (byKey = new Map()));
  const key = JSON.stringify(schema);
  let f = byKey.get(key);
  if (!f) {
    const acc = foldUser(ev.events, ev.asOf, schema, propColumns(schema, ev.keys));
    f = { defs: featureDefs(schema), row: finish(acc, ev.asOf, schema, schema.eventTypes.length), acc };
    byKey.set(key, f);
  }
  return f;
}

/** `computeFeatureRows` for one user from events already read (no row when the user has none). */
export function featureRowsFromEvents(ev: UserEvents, schema: FeatureSchema): FeatureRows {
  if (!ev.events.length) return { asOf: ev.asOf, defs: featureDefs(schema), userIds: [], rows: [] };
  const f = foldedOf(ev, schema);
  // copies: a caller may change what it is given; the fold stays as computed
  return { asOf: ev.asOf, defs: f.defs.slice(), userIds: [ev.userId], rows: [f.row.slice()] };
}

export interface UserFeatureSummary {
  /** the full feature vector by name (raw, null = missing); empty values when no events */
  values: Record<string, number | null>;
  /** time of the latest purchase-type event, null without one */
  lastPurchaseAt: number | null;
  /** the most frequent non-empty string `category` (ties: smallest), null when a non-string value is as frequent */
  topCategory: string | null;
}

/** What computed traits read: one user's feature vector plus the two values beside it. */
export function summariseUser(ev: UserEvents, schema: FeatureSchema): UserFeatureSummary {
  const { acc: a, defs, row } = foldedOf(ev, schema);
  let topCategory: string | null = null;
  let best = 0;
  for (const [c, k] of a.cats) if (k > best || (k === best && topCategory !== null && c < topCategory)) [topCategory, best] = [c, k];
  // The SQL this replaces ordered values by count, then numbers before text: a number as frequent wins, and is no category name.
  if (a.otherCats) for (const k of a.otherCats.values()) if (k >= best) topCategory = null;
  return { values: Object.fromEntries(defs.map((d, i) => [d.name, row[i] ?? null])), lastPurchaseAt: a.lastPurchase, topCategory };
}

/** One user's full feature vector by name (raw, null = missing); empty values when no events. */
export async function computeUserFeatures(features: FeatureStore, userId: number, opts: { asOf: number; schema: FeatureSchema }): Promise<Record<string, number | null>> {
  return summariseUser(await loadUserEvents(features, userId, opts.asOf, [opts.schema]), opts.schema).values;
}

/**
 * Chooses the population-dependent columns: the most frequent event types and categories (and
 * one-hot values of property features), counting only events at or before `asOf`.
 */
export async function fitFeatureSchema(
  features: FeatureStore,
  opts: { asOf: number; maxEventTypes?: number; topCategories?: number; properties?: readonly PropertyFeature[] },
): Promise<FeatureSchema> {
  checkAsOf(opts.asOf);
  const types = await features.topEventTypes(opts.asOf, opts.maxEventTypes ?? 10);
  const cats = await features.topCategories(opts.asOf, opts.topCategories ?? 8);
  const properties: FittedPropertyFeature[] = [];
  for (const p of opts.properties ?? []) {
    if (p.agg !== 'onehot') properties.push({ ...p });
    else properties.push({ ...p, values: await features.topPropertyValues(p.key, { asOf: opts.asOf, limit: p.top, ...(p.event ? { eventType: p.event } : {}) }) });
  }
  return {
    version: FEATURE_VERSION,
    asOf: opts.asOf,
    eventTypes: types.map((t) => t.value),
    categories: cats.filter((c) => typeof c.value === 'string').map((c) => c.value as string),
    properties,
  };
}
