import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { computeFeatureRows, computeUserFeatures, featureRowsFromEvents, fitFeatureSchema, loadUserEvents, summariseUser } from '../../src/features/compute.ts';
import { featureDefs, type FeatureSchema } from '../../src/features/definitions.ts';
import { fitPreprocessor, transformRows } from '../../src/features/matrix.ts';
import { computeSequences, sequenceDim } from '../../src/features/sequence.ts';
import { baseSchema, updateComputedTraits } from '../../src/features/traits.ts';
import { listCurrentTraits, traitHistory } from '../../src/db/traits.ts';
import { createTempDb, type TempDb } from '../support/temp-db.ts';
import { ingest, userId } from './helpers.ts';

const T = (s: string) => Date.parse(s);
const ASOF = T('2024-01-10T00:00:00Z');
const H = 3_600_000;
const D = 24 * H;

const U1 = [
  { userId: 'u1', type: 'page_view', timestamp: '2024-01-01T10:00:00Z', properties: { dwell_ms: 1000, category: 'books' } },
  { userId: 'u1', type: 'impression', timestamp: '2024-01-01T10:10:00Z', properties: { item_id: 'a' } },
  { userId: 'u1', type: 'click', timestamp: '2024-01-01T10:11:00Z', properties: { item_id: 'a' } },
  { userId: 'u1', type: 'purchase', timestamp: '2024-01-01T10:20:00Z', properties: { price: 10, quantity: 2, category: 'books' } },
  { userId: 'u1', type: 'page_view', timestamp: '2024-01-06T20:00:00Z', properties: { dwell_ms: 3000, category: 'games' } },
  { userId: 'u1', type: 'impression', timestamp: '2024-01-09T08:00:00Z', properties: { item_id: 'b' } },
];
/** After the cut-off: must never reach the features. */
const FUTURE = [
  { userId: 'u1', type: 'purchase', timestamp: '2024-01-10T00:00:01Z', properties: { price: 1000, quantity: 5, category: 'games' } },
  { userId: 'u1', type: 'click', timestamp: '2024-01-12T00:00:00Z', properties: { item_id: 'b' } },
  { userId: 'u2', type: 'purchase', timestamp: '2024-02-01T00:00:00Z', properties: { price: 5, category: 'books' } },
];

let t: TempDb;
beforeEach(() => {
  t = createTempDb();
});
afterEach(() => t.cleanup());

function schemaAt(asOf: number): Promise<FeatureSchema> {
  return fitFeatureSchema(t.store.features, { asOf, maxEventTypes: 4, topCategories: 2 });
}

describe('behavioural features', () => {
  it('computes exact values on a hand-built event set', async () => {
    ingest(t.db, U1);
    const f = await computeUserFeatures(t.store.features, userId(t.db, 'u1'), { asOf: ASOF, schema: await schemaAt(ASOF) });
    expect(f.events_total).toBe(6);
    expect(f.n_all_7d).toBe(2);
    expect(f.n_all_30d).toBe(6);
    expect(f.n_page_view_30d).toBe(2);
    expect(f.n_impression_7d).toBe(1);
    expect(f.active_days).toBe(3);
    expect(f.days_since_last_event).toBeCloseTo(16 / 24, 10);
    expect(f.days_since_first_event).toBeCloseTo(8 + 14 / 24, 10);
    expect(f.days_since_last_purchase).toBeCloseTo((ASOF - T('2024-01-01T10:20:00Z')) / D, 10);
    expect(f.events_per_day).toBeCloseTo(6 / (8 + 14 / 24), 10);
    expect(f.purchase_count).toBe(1);
    expect(f.purchase_days).toBe(1);
    expect(f.monetary_total).toBe(20);
    expect(f.monetary_mean).toBe(20);
    expect(f.purchase_interval_mean_days).toBeNull();
    expect(f.dwell_mean_ms).toBe(2000);
    expect(f.dwell_total_ms).toBe(4000);
    expect(f.ctr).toBe(0.5);
    // 30-min gap sessions: the four Jan-1 events, then Jan 6, then Jan 9.
    expect(f.sessions).toBe(3);
    expect(f.session_length_mean_ms).toBe((20 * 60_000) / 3);
    expect(f.events_per_session).toBe(2);
    const gapsH = [10 / 60, 1 / 60, 9 / 60, 129 + 40 / 60, 60];
    const mean = gapsH.reduce((a, b) => a + b) / 5;
    expect(f.interevent_mean_hours).toBeCloseTo(38, 10);
    expect(f.interevent_std_hours).toBeCloseTo(Math.sqrt(gapsH.reduce((a, g) => a + (g - mean) ** 2, 0) / 5), 8);
    expect(f.tod_morning_share).toBeCloseTo(5 / 6, 12);
    expect(f.tod_evening_share).toBeCloseTo(1 / 6, 12);
    expect(f.tod_night_share).toBe(0);
    expect(f.weekend_share).toBeCloseTo(1 / 6, 12); // 2024-01-06 is a Saturday
    expect(f.cat_books_share).toBeCloseTo(2 / 3, 12);
    expect(f.cat_games_share).toBeCloseTo(1 / 3, 12);
    expect(f.cat_other_share).toBe(0);
  });

  it('one refresh folds a user’s events once per schema: every consumer gets the whole-scan values, and changing what one got changes nothing for the next', async () => {
    ingest(t.db, [...U1, ...FUTURE]);
    const u = userId(t.db, 'u1');
    const schema = await schemaAt(ASOF);
    const whole = await computeFeatureRows(t.store.features, { asOf: ASOF, schema, userIds: [u] });
    const ev = await loadUserEvents(t.store.features, u, ASOF, [schema]);
    const a = featureRowsFromEvents(ev, schema);
    expect(a.rows).toEqual(whole.rows);
    expect(a.defs).toEqual(whole.defs);
    (a.rows[0] as (number | null)[]).fill(-1);
    a.defs.length = 0;
    const b = featureRowsFromEvents(ev, schema);
    expect(b.rows).toEqual(whole.rows);
    expect(b.defs).toEqual(whole.defs);
    // computed traits' summary and the behaviour block's rows use the same base schema: the same numbers
    const base = baseSchema(ASOF);
    const s = summariseUser(ev, base);
    const r = featureRowsFromEvents(ev, base);
    expect(r.defs.map((d, i) => [d.name, r.rows[0]?.[i] ?? null])).toEqual(Object.entries(s.values));
    const wholeBase = await computeFeatureRows(t.store.features, { asOf: ASOF, schema: base, userIds: [u] });
    expect(Object.entries(s.values)).toEqual(wholeBase.defs.map((d, i) => [d.name, wholeBase.rows[0]?.[i] ?? null]));
    expect(summariseUser(ev, base)).toEqual(s);
  });

  it('leakage guard: events after the cut-off change nothing', async () => {
    ingest(t.db, U1);
    const schema = await schemaAt(ASOF);
    const before = await computeFeatureRows(t.store.features, { asOf: ASOF, schema });
    const seqBefore = await computeSequences(t.store.features, { asOf: ASOF, schema, length: 8 });
    ingest(t.db, FUTURE);
    // The fitted columns ignore future events too.
    expect(await schemaAt(ASOF)).toEqual(schema);
    const after = await computeFeatureRows(t.store.features, { asOf: ASOF, schema });
    expect(after.userIds).toEqual(before.userIds); // u2 has no event before the cut-off
    expect(after.rows).toEqual(before.rows);
    expect(await computeSequences(t.store.features, { asOf: ASOF, schema, length: 8 })).toEqual(seqBefore);
    // Batch and single-user paths agree.
    expect((await computeFeatureRows(t.store.features, { asOf: ASOF, schema, userIds: [userId(t.db, 'u1')] })).rows).toEqual(before.rows);
    // And a later cut-off does see them.
    const later = await computeUserFeatures(t.store.features, userId(t.db, 'u1'), { asOf: T('2024-03-01T00:00:00Z'), schema });
    expect(later.monetary_total).toBe(5020);
  });

  it('sequences: last N events, left-padded, newest last', async () => {
    ingest(t.db, U1);
    const schema = await schemaAt(ASOF);
    const dim = sequenceDim(schema);
    const s = (await computeSequences(t.store.features, { asOf: ASOF, schema, length: 8 })).get(userId(t.db, 'u1'))!;
    expect(s.length).toBe(8 * dim);
    expect(Array.from(s.subarray(0, 2 * dim)).every((v) => v === 0)).toBe(true); // 6 events in 8 steps
    const lastType = schema.eventTypes.indexOf('impression');
    expect(s[7 * dim + lastType]).toBe(1);
    const short = (await computeSequences(t.store.features, { asOf: ASOF, schema, length: 3 })).get(userId(t.db, 'u1'))!;
    expect(short[2 * dim + lastType]).toBe(1);
    expect(short[0 * dim + schema.eventTypes.indexOf('purchase')]).toBe(1);
  });

  it('missing values follow the policy: median/mean fills with flags, zero for counts', async () => {
    ingest(t.db, U1);
    ingest(t.db, [{ userId: 'u3', type: 'search', timestamp: '2024-01-08T00:00:00Z', text: 'hello' }]);
    const schema = await schemaAt(ASOF);
    const r = await computeFeatureRows(t.store.features, { asOf: ASOF, schema });
    const pre = fitPreprocessor(r.defs, r.rows);
    expect(pre.inputs).toContain('ctr__missing');
    expect(pre.inputs).not.toContain('purchase_count__missing');
    const ctr = pre.columns.find((c) => c.name === 'ctr')!;
    expect(ctr.fill).toBe(0.5); // population mean of the users who have one
    const rec = pre.columns.find((c) => c.name === 'days_since_last_purchase')!;
    expect(rec.fill).toBe(365); // flag policy: the fallback window
    const x = transformRows(pre, r.defs, r.rows);
    expect(x.length).toBe(2 * pre.inputs.length);
    expect(Array.from(x).every(Number.isFinite)).toBe(true);
    expect(featureDefs(schema).length).toBe(r.defs.length);
  });

  it('computed traits: written once, rewritten only on change, with history', async () => {
    ingest(t.db, U1);
    const u = userId(t.db, 'u1');
    const now = T('2024-01-10T00:00:00Z');
    const first = await updateComputedTraits(t.store, u, { now });
    expect(first.written).toBeGreaterThan(5);
    expect(first.profileVersion).not.toBeNull();
    const traits = Object.fromEntries(listCurrentTraits(t.db, u, { kind: 'computed' }).map((x) => [x.key, x]));
    expect(traits.purchase_count?.value).toBe(1);
    expect(traits.monetary_total?.value).toBe(20);
    expect(traits.top_category?.value).toBe('books');
    expect(traits.preferred_time_of_day?.value).toBe('morning');
    expect(traits.purchase_count?.producer).toBe('features');
    expect(await updateComputedTraits(t.store, u, { now: now + 1000 })).toEqual({ written: 0, closed: 0, profileVersion: null });
    ingest(t.db, [{ userId: 'u1', type: 'purchase', timestamp: '2024-01-09T12:00:00Z', properties: { price: 5, category: 'books' } }]);
    const second = await updateComputedTraits(t.store, u, { now: now + 2000 });
    expect(second.written).toBeGreaterThan(0);
    const hist = traitHistory(t.db, u, 'purchase_count');
    expect(hist.map((h) => h.value)).toEqual([2, 1]);
    expect(hist[1]?.validTo).toBe(now + 2000);
  });
});
