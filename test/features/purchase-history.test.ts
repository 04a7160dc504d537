import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { computeFeatureRows, computeUserFeatures, fitFeatureSchema } from '../../src/features/compute.ts';
import { featureDefs, PURCHASE_HISTORY_DEFS, type FeatureSchema } from '../../src/features/definitions.ts';
import { createTempDb, type TempDb } from '../support/temp-db.ts';
import { ingest, userId } from './helpers.ts';

const D = 86_400_000;
const ASOF = Date.parse('2024-12-31T00:00:00Z');
const at = (daysBefore: number) => ASOF - daysBefore * D;

let t: TempDb;
beforeEach(() => {
  t = createTempDb();
});
afterEach(() => t.cleanup());

const buy = (u: string, daysBefore: number, price: number) => ({ userId: u, type: 'purchase', timestamp: at(daysBefore), properties: { price, quantity: 1 } });

describe('purchase-history features (opt-in)', () => {
  it('are absent by default and appended last when asked for', async () => {
    const base = await fitFeatureSchema(t.store.features, { asOf: ASOF });
    const plain = featureDefs(base).map((d) => d.name);
    const extended = featureDefs({ ...base, purchaseHistory: true }).map((d) => d.name);
    expect(plain).not.toContain('purchase_recency_ratio');
    expect(extended.slice(0, plain.length)).toEqual(plain);
    expect(extended.slice(plain.length)).toEqual(PURCHASE_HISTORY_DEFS.map((d) => d.name));
  });

  it('computes exact values: windows, spend trend, gaps, recency ratio, overdue ratio', async () => {
    // Purchase days 300, 200, 120, 60 and 20 days before the cut-off; a page view 10 days before.
    ingest(t.db, [buy('u1', 300, 5), buy('u1', 200, 10), buy('u1', 120, 20), buy('u1', 60, 40), buy('u1', 20, 80), { userId: 'u1', type: 'page_view', timestamp: at(10) }]);
    const schema: FeatureSchema = { ...(await fitFeatureSchema(t.store.features, { asOf: ASOF })), purchaseHistory: true };
    const f = await computeUserFeatures(t.store.features, userId(t.db, 'u1'), { asOf: ASOF, schema });
    expect(f.purchases_90_180d).toBe(1);
    expect(f.purchases_180_365d).toBe(2);
    expect(f.monetary_90d).toBe(120);
    expect(f.monetary_90_180d).toBe(20);
    // 4 repeat purchase days over 300 days of tenure = 4 per 300/7 weeks.
    expect(f.repeat_purchases_per_week).toBeCloseTo((4 * 7) / 300, 10);
    // Last purchase 280 days into a 300-day lifetime.
    expect(f.purchase_recency_ratio).toBeCloseTo(280 / 300, 10);
    expect(f.days_since_first_purchase).toBeCloseTo(300, 10);
    const gaps = [100, 80, 60, 40];
    const mean = 70;
    expect(f.purchase_interval_std_days).toBeCloseTo(Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / 4), 10);
    expect(f.purchase_interval_last_days).toBe(40);
    expect(f.purchase_overdue_ratio).toBeCloseTo(20 / mean, 10);
  });

  it('users without purchases get nulls where undefined, zeros for counts', async () => {
    ingest(t.db, [{ userId: 'u2', type: 'page_view', timestamp: at(5) }]);
    const schema: FeatureSchema = { ...(await fitFeatureSchema(t.store.features, { asOf: ASOF })), purchaseHistory: true };
    const f = await computeUserFeatures(t.store.features, userId(t.db, 'u2'), { asOf: ASOF, schema });
    expect(f).toMatchObject({
      purchases_90_180d: 0,
      monetary_90d: 0,
      repeat_purchases_per_week: 0,
      purchase_recency_ratio: null,
      days_since_first_purchase: null,
      purchase_interval_last_days: null,
      purchase_overdue_ratio: null,
    });
  });

  it('propertiesOnly keeps just the property columns (and purchase history)', async () => {
    ingest(t.db, [{ userId: 'u3', type: 'session_start', timestamp: at(3), properties: { page_values: 12.5, visitor: 'new' } }, buy('u3', 2, 9)]);
    const schema: FeatureSchema = {
      ...(await fitFeatureSchema(t.store.features, {
        asOf: ASOF,
        properties: [
          { event: 'session_start', key: 'page_values', agg: 'last', type: 'monetary', top: 12 },
          { event: 'session_start', key: 'visitor', agg: 'onehot', type: 'share', top: 12 },
        ],
      })),
      propertiesOnly: true,
    };
    const r = await computeFeatureRows(t.store.features, { asOf: ASOF, schema });
    expect(r.defs.map((d) => d.name)).toEqual(['p_session_start_page_values_last', 'p_session_start_visitor_new', 'p_session_start_visitor_other']);
    expect(r.rows[0]).toEqual([12.5, 1, 0]);
    const both = await computeFeatureRows(t.store.features, { asOf: ASOF, schema: { ...schema, purchaseHistory: true } });
    expect(both.defs).toHaveLength(3 + PURCHASE_HISTORY_DEFS.length);
    expect(both.rows[0]).toHaveLength(both.defs.length);
  });
});
