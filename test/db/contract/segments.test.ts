import { expect, it } from 'vitest';
import { allOf, compileFilter, consentCondition, parseFilter, type Filter } from '../../../src/db/filters.ts';
import type { Store } from '../../../src/db/store.ts';
import type { Json } from '../../../src/core/types.ts';
import { cleanBatch } from '../../../src/ingest/ingest.ts';
import { describeStores } from '../../support/backends.ts';

const people: { ref: string; attrs: Record<string, Json>; marketing?: boolean }[] = [
  { ref: 'ann', attrs: { country: 'DE', age: 31, vip: true, 'plan-tier': 'pro' }, marketing: true },
  { ref: 'bob', attrs: { country: 'FR', age: 45, vip: false }, marketing: false },
  { ref: 'cy', attrs: { country: 'DE', age: '31' } },
  { ref: 'dee', attrs: { country: 'US' }, marketing: true },
];

async function seed(store: Store): Promise<Record<string, number>> {
  const ids: Record<string, number> = {};
  for (const p of people) ids[p.ref] = (await store.users.setAttributes(p.ref, p.attrs, p.marketing === undefined ? undefined : { marketing: p.marketing }, 1)).id;
  await store.traits.replaceTraits(
    'semantic',
    'test',
    [
      { userId: ids.ann!, key: 'interest', value: 'Hiking', confidence: 0.9, version: '1' },
      { userId: ids.bob!, key: 'interest', value: 'hiking', confidence: 0.4, version: '1' },
      { userId: ids.cy!, key: 'diet', value: 'vegan', confidence: 0.8, version: '1' },
    ],
    { now: 10 },
  );
  await store.traits.replaceTraits(
    'computed',
    'test',
    [
      { userId: ids.ann!, key: 'purchase_count', value: 5, confidence: 1, version: '1' },
      { userId: ids.bob!, key: 'purchase_count', value: 1, confidence: 1, version: '1' },
      { userId: ids.dee!, key: 'purchase_count', value: 'n/a', confidence: 1, version: '1' },
    ],
    { now: 10 },
  );
  await store.traits.replaceTraits(
    'predicted',
    'test',
    [
      { userId: ids.ann!, key: 'will_purchase', value: true, confidence: 0.8, version: '1' },
      { userId: ids.bob!, key: 'will_purchase', value: false, confidence: 0.9, version: '1' },
    ],
    { now: 10 },
  );
  return ids;
}

describeStores('segments', (ctx) => {
  it('inserts, gets and lists saved segments', async () => {
    const s = ctx.store.segments;
    const a = await s.insert({ name: 'DE', description: null, filter: '{"attribute":{"key":"country","eq":"DE"}}' }, 100);
    const b = await s.insert({ name: 'hikers', description: 'like hiking', filter: '{"trait":{"key":"interest"}}' }, 200);
    expect(a).toEqual({ id: a.id, name: 'DE', description: null, filter: '{"attribute":{"key":"country","eq":"DE"}}', createdAt: 100, updatedAt: 100 });
    expect(b.id).toBeGreaterThan(a.id);
    expect(await s.get(b.id)).toEqual(b);
    expect(await s.get(999_999)).toBeNull();
    expect(await s.list()).toEqual([a, b]);
  });

  it('selects, counts and samples users by a compiled filter, the same on every backend', async () => {
    const ids = await seed(ctx.store);
    const s = ctx.store.segments;
    const names = Object.fromEntries(Object.entries(ids).map(([k, v]) => [v, k]));
    const sel = async (f: Filter) => (await s.selectUserIds(compileFilter(parseFilter(f), ctx.store.dialect))).map((id) => names[id]);
    expect(await sel({ attribute: { key: 'country', eq: 'DE' } })).toEqual(['ann', 'cy']);
    // JSON types are kept: the number 31 is not the string "31"
    expect(await sel({ attribute: { key: 'age', eq: 31 } })).toEqual(['ann']);
    expect(await sel({ attribute: { key: 'age', eq: '31' } })).toEqual(['cy']);
    expect(await sel({ attribute: { key: 'vip', eq: true } })).toEqual(['ann']);
    expect(await sel({ attribute: { key: 'plan-tier', in: ['pro', 'free'] } })).toEqual(['ann']);
    expect(await sel({ attribute: { key: 'vip', exists: true } })).toEqual(['ann', 'bob']);
    expect(await sel({ attribute: { key: 'age', exists: false } })).toEqual(['dee']);
    expect(await sel({ trait: { key: 'interest', value: 'hiking' } })).toEqual(['ann', 'bob']);
    expect(await sel({ trait: { key: 'interest', value: 'hiking', minConfidence: 0.6, kind: 'semantic' } })).toEqual(['ann']);
    expect(await sel({ feature: { key: 'purchase_count', gte: 3 } })).toEqual(['ann']);
    expect(await sel({ feature: { key: 'purchase_count', eq: 1 } })).toEqual(['bob']);
    expect(await sel({ predicted: { key: 'will_purchase', min: 0.7 } })).toEqual(['ann']);
    expect(await sel({ predicted: { key: 'will_purchase', max: 0.2 } })).toEqual(['bob']);
    expect(await sel({ or: [{ trait: { key: 'diet', value: 'vegan' } }, { not: { attribute: { key: 'country', in: ['DE', 'FR'] } } }] })).toEqual(['cy', 'dee']);

    const de = compileFilter(parseFilter({ attribute: { key: 'country', eq: 'DE' } }), ctx.store.dialect);
    expect(await s.count(de)).toBe(2);
    expect(await s.count(null)).toBe(4);
    expect(await s.selectUserIds(null)).toEqual(Object.values(ids).sort((a, b) => a - b));
    const all = await s.selectUserIds(null);
    expect(await s.sample(null, 2)).toEqual(all.slice(0, 2));
    expect(await s.sample(null, 2, all[1])).toEqual(all.slice(2, 4));
    expect(await s.sample(de, 10, ids.ann)).toEqual([ids.cy]);
  });

  it('the consent condition: a stored flag wins, a missing one takes the default', async () => {
    const ids = await seed(ctx.store);
    const s = ctx.store.segments;
    const byDefault = async (defaults: ('marketing' | 'profiling')[]) => s.selectUserIds(consentCondition('marketing', defaults, ctx.store.dialect));
    expect(await byDefault([])).toEqual([ids.ann, ids.dee]);
    expect(await byDefault(['marketing'])).toEqual([ids.ann, ids.cy, ids.dee]);
    const de = compileFilter(parseFilter({ attribute: { key: 'country', eq: 'DE' } }), ctx.store.dialect);
    expect(await s.selectUserIds(allOf([de, consentCondition('marketing', [], ctx.store.dialect)]))).toEqual([ids.ann]);
  });
});

const DAY = 86_400_000;
const NOW = 1_790_000_000_000;

describeStores('segments as a resource', (ctx) => {
  it('names are unique (a ConflictError naming the name), rename and delete', async () => {
    const s = ctx.store.segments;
    const a = await s.insert({ name: 'DE', description: null, filter: '{"attribute":{"key":"country","eq":"DE"}}' }, 100);
    const b = await s.insert({ name: 'FR', description: null, filter: '{"attribute":{"key":"country","eq":"FR"}}' }, 100);
    await expect(s.insert({ name: 'DE', description: 'again', filter: '{"trait":{"key":"x"}}' }, 200)).rejects.toMatchObject({ status: 409, code: 'segment_name_taken' });
    expect(await s.list()).toHaveLength(2);
    expect(await s.update(a.id, { name: 'Germany', description: 'country DE' }, 300)).toEqual({ ...a, name: 'Germany', description: 'country DE', updatedAt: 300 });
    await expect(s.update(b.id, { name: 'Germany' }, 400)).rejects.toMatchObject({ status: 409, code: 'segment_name_taken' });
    expect((await s.get(b.id))?.name).toBe('FR');
    expect(await s.update(b.id, { description: null }, 500)).toMatchObject({ name: 'FR', description: null, updatedAt: 500 });
    expect(await s.update(999_999, { name: 'x' }, 1)).toBeNull();
    expect(await s.delete(a.id)).toBe(true);
    expect(await s.delete(a.id)).toBe(false);
    expect(await s.get(a.id)).toBeNull();
    // the freed name can be taken again
    expect((await s.insert({ name: 'Germany', description: null, filter: '{"trait":{"key":"x"}}' }, 600)).name).toBe('Germany');
  });

  it('portrait aggregates: traits, attributes, lifecycle, behaviour values, predicted histograms and items, segment vs population', async () => {
    const ids = await seed(ctx.store);
    const s = ctx.store.segments;
    const de = compileFilter(parseFilter({ attribute: { key: 'country', eq: 'DE' } }), ctx.store.dialect); // ann, cy
    // events: ann first seen 10 days ago (new), cy 200 → 50 days ago (lapsing), bob 300 → 100 days ago (churned), dee none
    const b = cleanBatch(
      [
        { userId: 'ann', type: 'purchase', properties: { product_id: 'p1', price: 5 }, timestamp: NOW - 10 * DAY },
        { userId: 'cy', type: 'product_view', properties: { product_id: 'p1' }, timestamp: NOW - 200 * DAY },
        { userId: 'cy', type: 'product_view', properties: { sku: 'p2' }, timestamp: NOW - 50 * DAY },
        { userId: 'bob', type: 'purchase', properties: { product_id: 'p1' }, timestamp: NOW - 300 * DAY },
        { userId: 'bob', type: 'click', properties: { item: 'p3' }, timestamp: NOW - 100 * DAY },
      ],
      { now: NOW },
    );
    await ctx.store.events.writeBatch(b.pending, [], NOW);

    const traits = await s.traitCounts(de, { kinds: ['semantic', 'computed'], minSegment: 1 });
    expect(traits).toContainEqual({ kind: 'semantic', key: 'interest', value: 'Hiking', segment: 1, population: 1 });
    expect(traits).toContainEqual({ kind: 'semantic', key: 'diet', value: 'vegan', segment: 1, population: 1 });
    expect(traits).toContainEqual({ kind: 'computed', key: 'purchase_count', value: 5, segment: 1, population: 1 });
    // bob's "hiking" is outside the segment: counted in the population only, and dropped below minSegment
    expect(traits.find((t) => t.value === 'hiking')).toBeUndefined();
    expect(await s.traitCounts(null, { kinds: ['semantic'], minSegment: 2 })).toEqual([]);
    expect(await s.traitCounts(de, { kinds: [], minSegment: 1 })).toEqual([]);

    const attrs = await s.attributeCounts(de, { minSegment: 1 });
    expect(attrs).toContainEqual({ key: 'country', value: 'DE', segment: 2, population: 2 });
    expect(attrs).toContainEqual({ key: 'age', value: 31, segment: 1, population: 1 });
    expect(attrs).toContainEqual({ key: 'age', value: '31', segment: 1, population: 1 });
    expect(attrs).toContainEqual({ key: 'vip', value: true, segment: 1, population: 1 });
    expect((await s.attributeCounts(de, { minSegment: 2 })).map((a) => `${a.key}=${JSON.stringify(a.value)}`)).toEqual(['country="DE"']);
    const everyone = await s.attributeCounts(null, { minSegment: 1 });
    expect(everyone).toContainEqual({ key: 'vip', value: false, segment: 1, population: 1 });

    const life = Object.fromEntries((await s.lifecycleCounts(de, NOW)).map((r) => [r.stage, [r.segment, r.population]]));
    expect(life).toEqual({ new: [1, 1], lapsing: [1, 1], churned: [0, 1], unknown: [0, 1] });

    expect(await s.numericValues(null, 'purchase_count', NOW)).toEqual([1, 5]); // dee's "n/a" is no number: left out, not 0
    expect(await s.numericValues(de, 'purchase_count', NOW)).toEqual([5]);
    expect(await s.numericValues(de, 'days_since_last_event', NOW)).toEqual([10, 50]);
    expect(await s.numericValues(null, 'monetary_total', NOW)).toEqual([]);

    const hist = await s.predictedHistograms(de, 10);
    // ann: true at 0.8 → bin 8; bob: false at 0.9 → P(true) 0.1 → bin 1 (population only)
    expect(hist).toEqual([
      { key: 'will_purchase', of: 'true', bin: 1, segment: 0, population: 1 },
      { key: 'will_purchase', of: 'true', bin: 8, segment: 1, population: 1 },
    ]);

    const items = await s.topItems(de, { limit: 10, minSegment: 1 });
    expect(items).toEqual([
      { item: 'p1', title: null, segment: 2, population: 3 },
      { item: 'p2', title: null, segment: 1, population: 1 },
    ]);
    expect(await s.topItems(de, { limit: 1, minSegment: 1 })).toHaveLength(1);
    expect(ids.dee).toBeGreaterThan(0);
  });
});
