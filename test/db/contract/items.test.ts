import { expect, it } from 'vitest';
import type { Store } from '../../../src/db/store.ts';
import type { Interaction } from '../../../src/db/stores/items.ts';
import { cleanBatch } from '../../../src/ingest/ingest.ts';
import { describeStores } from '../../support/backends.ts';

const T = 1_780_000_000_000;
const NOW = T + 86_400_000;
const PROPS = ['item', 'product_id', 'sku'] as const;

async function write(store: Store, raw: unknown[]): Promise<void> {
  const b = cleanBatch(raw, { now: NOW });
  expect(b.rejected).toEqual([]);
  await store.events.writeBatch(b.pending, [], b.receivedAt);
}

async function all(it: AsyncIterable<Interaction[]>): Promise<{ pages: number; rows: Interaction[] }> {
  const rows: Interaction[] = [];
  let pages = 0;
  for await (const p of it) {
    pages++;
    rows.push(...p);
  }
  return { pages, rows };
}

async function userId(store: Store, ext: string): Promise<number> {
  return (await store.users.require(ext)).id;
}

describeStores('items', (ctx) => {
  it('imports, replaces, gets, lists and counts catalogue entries', async () => {
    const s = ctx.store.items;
    expect(await s.count()).toBe(0);
    expect(await s.get('A1')).toBeUndefined();
    const n = await s.upsert(
      [
        { id: 'A1', title: 'Red Mug', category: 'kitchen', price: 4.5, attributes: { colour: 'red' } },
        { id: 'B2', title: 'Blue Lamp' },
        { id: 'A1', title: 'Red Mug, large', price: 5.25 },
      ],
      'import',
      100,
    );
    expect(n).toBe(2);
    expect(await s.get('A1')).toEqual({ id: 'A1', title: 'Red Mug, large', category: null, price: 5.25, attributes: {}, source: 'import', createdAt: 100, updatedAt: 100 });
    // learned never overwrites an entry; it adds unknown ids only
    expect(await s.upsert([{ id: 'A1', title: 'x' }, { id: 'C3' }], 'learned', 200)).toBe(1);
    expect((await s.get('A1'))?.title).toBe('Red Mug, large');
    expect(await s.get('C3')).toMatchObject({ id: 'C3', title: null, source: 'learned', createdAt: 200 });
    // an import replaces a learned entry and keeps its creation time
    await s.upsert([{ id: 'C3', title: 'Green_Cup 100%', category: 'kitchen', price: 2, attributes: { size: 'S', tags: ['a'] } }], 'import', 300);
    expect(await s.get('C3')).toEqual({
      id: 'C3',
      title: 'Green_Cup 100%',
      category: 'kitchen',
      price: 2,
      attributes: { size: 'S', tags: ['a'] },
      source: 'import',
      createdAt: 200,
      updatedAt: 300,
    });
    expect(await s.count()).toBe(3);
    const many = await s.getMany(['C3', 'nope', 'A1', 'C3', ...Array.from({ length: 70 }, (_, i) => `x${i}`)]);
    expect([...many.keys()].sort()).toEqual(['A1', 'C3']);
    expect(many.get('A1')?.title).toBe('Red Mug, large');
    expect((await s.getMany([])).size).toBe(0);
    expect((await s.list({ limit: 10 })).map((r) => r.id)).toEqual(['A1', 'B2', 'C3']);
    expect((await s.list({ limit: 2 })).map((r) => r.id)).toEqual(['A1', 'B2']);
    expect((await s.list({ limit: 2, after: 'B2' })).map((r) => r.id)).toEqual(['C3']);
    expect((await s.list({ limit: 10, q: 'LAMP' })).map((r) => r.id)).toEqual(['B2']);
    expect((await s.list({ limit: 10, q: 'a1' })).map((r) => r.id)).toEqual(['A1']);
    // LIKE wildcards in the query are literal
    expect((await s.list({ limit: 10, q: '_cup 100%' })).map((r) => r.id)).toEqual(['C3']);
    expect((await s.list({ limit: 10, q: '%' })).map((r) => r.id)).toEqual(['C3']);
  });

  it('reads interactions from the configured item properties with weights, filters and consent', async () => {
    const st = ctx.store;
    await write(st, [
      { userId: 'ann', type: 'purchase', timestamp: T + 3, properties: { item: 'A1', quantity: 2 } },
      { userId: 'ann', type: 'purchase', timestamp: T + 1, properties: { product_id: 'B2', item: '' } },
      { userId: 'bob', type: 'view', timestamp: T + 2, properties: { sku: 12345 } },
      { userId: 'bob', type: 'purchase', timestamp: T + 4, properties: { item: 'A1', quantity: 0 } },
      { userId: 'bob', type: 'purchase', timestamp: T + 5, properties: { item: 'A1' } },
      { userId: 'cy', type: 'purchase', timestamp: T + 6, properties: { other: 'x' } },
      { userId: 'cy', type: 'purchase', timestamp: T + 7, properties: { item: 'C3', quantity: 0.5 } },
    ]);
    const ann = await userId(st, 'ann');
    const bob = await userId(st, 'bob');
    const cy = await userId(st, 'cy');
    const { rows, pages } = await all(st.items.interactions({ itemProperties: PROPS, weightProperty: 'quantity' }));
    expect(pages).toBe(1);
    expect(rows).toEqual([
      { userId: ann, item: 'B2', type: 'purchase', ts: T + 1, weight: 1 },
      { userId: bob, item: '12345', type: 'view', ts: T + 2, weight: 1 },
      { userId: ann, item: 'A1', type: 'purchase', ts: T + 3, weight: 2 },
      // T+4: quantity 0 is no interaction (ingestion rejects negative quantities: send cancellations as their own event type)
      { userId: bob, item: 'A1', type: 'purchase', ts: T + 5, weight: 1 },
      { userId: cy, item: 'C3', type: 'purchase', ts: T + 7, weight: 0.5 },
    ]);
    // without a weight property every interaction weighs 1, the zero one included
    expect((await all(st.items.interactions({ itemProperties: ['item'] }))).rows.map((r) => [r.item, r.weight])).toEqual([
      ['A1', 1],
      ['A1', 1],
      ['A1', 1],
      ['C3', 1],
    ]);
    const filtered = await all(st.items.interactions({ itemProperties: PROPS, types: ['purchase'], since: T + 2, until: T + 7, userIds: [ann, bob] }));
    expect(filtered.rows.map((r) => r.ts)).toEqual([T + 3, T + 4, T + 5]);
    expect((await all(st.items.interactions({ itemProperties: PROPS, userIds: [] }))).rows).toEqual([]);

    await st.users.setAttributes('bob', {}, { profiling: false }, NOW);
    const consented = await all(st.items.interactions({ itemProperties: PROPS, consent: { flag: 'profiling', defaults: ['profiling'] } }));
    expect(new Set(consented.rows.map((r) => r.userId))).toEqual(new Set([ann, cy]));
    const optIn = await all(st.items.interactions({ itemProperties: PROPS, consent: { flag: 'profiling', defaults: [] } }));
    expect(optIn.rows).toEqual([]);

    expect(await st.items.userItems(ann, { itemProperties: PROPS, weightProperty: 'quantity' })).toEqual([
      { item: 'A1', n: 1, weight: 2, lastTs: T + 3 },
      { item: 'B2', n: 1, weight: 1, lastTs: T + 1 },
    ]);
    expect(await st.items.userItems(bob, { itemProperties: PROPS, weightProperty: 'quantity', types: ['purchase'] })).toEqual([{ item: 'A1', n: 1, weight: 1, lastTs: T + 5 }]);
    expect(await st.items.userItems(bob, { itemProperties: PROPS, until: T + 3 })).toEqual([{ item: '12345', n: 1, weight: 1, lastTs: T + 2 }]);

    expect(await st.items.popular({ itemProperties: PROPS, weightProperty: 'quantity', limit: 2 })).toEqual([
      { item: 'A1', n: 2, users: 2 },
      { item: '12345', n: 1, users: 1 },
    ]);

    // learning adds the ids seen in events and leaves imported entries alone
    await st.items.upsert([{ id: 'A1', title: 'Red Mug' }], 'import', 1);
    expect(await st.items.learn({ itemProperties: PROPS }, 50)).toBe(3);
    expect(await st.items.learn({ itemProperties: PROPS }, 60)).toBe(0);
    expect((await st.items.list({ limit: 10 })).map((r) => [r.id, r.source, r.title])).toEqual([
      ['12345', 'learned', null],
      ['A1', 'import', 'Red Mug'],
      ['B2', 'learned', null],
      ['C3', 'learned', null],
    ]);

    expect(await st.items.countInteractions({ itemProperties: PROPS })).toBe(6);
    const last = await st.items.maxEventId();
    expect(last).toBeGreaterThan(0);
    expect(await st.items.countInteractions({ itemProperties: PROPS, throughEventId: last })).toBe(6);
    expect(await st.items.countInteractions({ itemProperties: PROPS, afterEventId: last })).toBe(0);
    await write(st, [{ userId: 'cy', type: 'purchase', timestamp: T + 8, properties: { item: 'C3' } }]);
    expect(await st.items.countInteractions({ itemProperties: PROPS, afterEventId: last })).toBe(1);
    expect((await all(st.items.interactions({ itemProperties: PROPS, throughEventId: last }))).rows).toHaveLength(6);
  });

  it('hands interactions out in pages, in (ts, id) order', async () => {
    const st = ctx.store;
    const raw = Array.from({ length: 250 }, (_, i) => ({ userId: `u${i % 7}`, type: 'purchase', timestamp: T + ((i * 7919) % 101), properties: { item: `I${i % 50}` } }));
    await write(st, raw);
    const { rows, pages } = await all(st.items.interactions({ itemProperties: ['item'], pageSize: 100 }));
    expect(pages).toBe(3);
    expect(rows).toHaveLength(250);
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.ts).toBeGreaterThanOrEqual(rows[i - 1]!.ts);
  });

  it('saves item embeddings as versions with one active', async () => {
    const s = ctx.store.items;
    expect(await ctx.store.items.maxEventId()).toBe(0);
    expect(await s.activeEmbeddings()).toBeUndefined();
    expect(await s.activeEmbeddingsVersion()).toBeUndefined();
    const model = (version: string, createdAt: number, v0: number) => ({
      version,
      dim: 2,
      card: { method: 'item2vec', items: 3 },
      items: ['A1', 'B2', 'C3'],
      vectors: new Float32Array([v0, 0.5, -1, 0.25, 0, 1]),
      createdAt,
    });
    await s.saveEmbeddings(model('v1', 10, 1));
    expect(await s.activeEmbeddings()).toEqual(model('v1', 10, 1));
    await s.saveEmbeddings(model('v2', 20, 2));
    expect(await s.activeEmbeddingsVersion()).toEqual({ version: 'v2', createdAt: 20 });
    expect((await s.activeEmbeddings())?.vectors[0]).toBe(2);
    for (let i = 3; i <= 7; i++) await s.saveEmbeddings(model(`v${i}`, i * 10, i));
    expect(await s.activeEmbeddingsVersion()).toEqual({ version: 'v7', createdAt: 70 });
    await expect(s.saveEmbeddings({ ...model('bad', 80, 1), vectors: new Float32Array(5) })).rejects.toThrow(/5 values for 3 items/);
    expect(await s.activeEmbeddingsVersion()).toEqual({ version: 'v7', createdAt: 70 });
    // re-saving an older version makes it active again
    await s.saveEmbeddings(model('v6', 90, 6));
    expect(await s.activeEmbeddingsVersion()).toEqual({ version: 'v6', createdAt: 90 });
  });
});
