import { expect, it } from 'vitest';
import { allOf, compileFilter, consentCondition, parseFilter, type Filter } from '../../../src/db/filters.ts';
import type { Store } from '../../../src/db/store.ts';
import type { Json } from '../../../src/core/types.ts';
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
