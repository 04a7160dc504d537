import { expect, it } from 'vitest';
import type { Store } from '../../../src/db/store.ts';
import type { FeatureEvent, FeatureScan } from '../../../src/db/stores/features.ts';
import type { PendingRejection } from '../../../src/db/stores/events.ts';
import { cleanBatch } from '../../../src/ingest/ingest.ts';
import { describeStores } from '../../support/backends.ts';
import { seedTraits } from '../../support/traits.ts';

const T = 1_780_000_000_000;
const H = 3_600_000;
const NOW = T + 100 * H;

/** Cleans raw events as ingestion does and writes them through the event store. */
async function write(store: Store, raw: Record<string, unknown>[]): Promise<number[]> {
  const b = cleanBatch(raw, { now: NOW });
  expect(b.rejected).toEqual([]);
  const out = await store.events.writeBatch(b.pending, [] as PendingRejection[], b.receivedAt);
  return out.sort((x, y) => x.index - y.index).map((o) => (o.status === 'accepted' ? o.id : -1));
}

const uid = async (s: Store, ext: string) => (await s.users.require(ext)).id;

async function scanAll(s: Store, scan: FeatureScan): Promise<{ pages: FeatureEvent[][]; rows: FeatureEvent[] }> {
  const pages: FeatureEvent[][] = [];
  for await (const p of s.features.scanEvents(scan)) pages.push(p);
  return { pages, rows: pages.flat() };
}

describeStores('features', (ctx) => {
  it('the cut-off is respected: scans, counts, labels windows and the data span', async () => {
    const s = ctx.store;
    await write(s, [
      { userId: 'a', type: 'page_view', timestamp: T, properties: { category: 'books' } },
      { userId: 'a', type: 'purchase', timestamp: T + H, properties: { category: 'games', price: 5 } },
      { userId: 'a', type: 'purchase', timestamp: T + 2 * H, properties: { category: 'toys', price: 7 } }, // after the cut-off
      { userId: 'b', type: 'page_view', timestamp: T + 3 * H, properties: { category: 'music' } }, // after the cut-off
      { userId: 'c', type: 'click', timestamp: T + H, properties: {} },
    ]);
    const asOf = T + H; // inclusive
    const { rows } = await scanAll(s, { asOf });
    expect(rows.map((r) => r.ts).every((ts) => ts <= asOf)).toBe(true);
    expect(rows.map((r) => [r.userId, r.type])).toEqual([
      [await uid(s, 'a'), 'page_view'],
      [await uid(s, 'a'), 'purchase'],
      [await uid(s, 'c'), 'click'],
    ]);
    expect(await s.features.topEventTypes(asOf, 10)).toEqual([
      { value: 'click', n: 1 },
      { value: 'page_view', n: 1 },
      { value: 'purchase', n: 1 },
    ]);
    expect(await s.features.topEventTypes(T + 3 * H, 1)).toEqual([{ value: 'page_view', n: 2 }]);
    expect((await s.features.topCategories(asOf, 10)).map((c) => c.value)).toEqual(['books', 'games']);
    // Labels read (from, to]: the event at the cut-off itself is not in the future.
    expect(await s.features.activeUsers(asOf, T + 3 * H)).toEqual(new Set([await uid(s, 'a'), await uid(s, 'b')]));
    expect(await s.features.activeUsers(asOf, T + 3 * H, ['purchase'])).toEqual(new Set([await uid(s, 'a')]));
    expect(await s.features.activeUsers(T + 3 * H, T + 9 * H)).toEqual(new Set());
    expect(await s.features.firstCategories(asOf, T + 9 * H)).toEqual(
      new Map<number, unknown>([
        [await uid(s, 'a'), 'toys'],
        [await uid(s, 'b'), 'music'],
      ]),
    );
    expect(await s.features.dataSpan()).toEqual({ first: T, last: T + 3 * H, events: 5 });
    expect(await s.features.maxEventTs()).toBe(T + 3 * H);
  });

  it('extracts properties with their JSON types: numbers, text, booleans as 1/0, objects as JSON, missing as null', async () => {
    const s = ctx.store;
    await write(s, [
      {
        userId: 'p',
        type: 'purchase',
        timestamp: T,
        properties: { price: 12.5, quantity: 2, revenue: 30, dwell_ms: 1500, category: 'books', member: true, tier: 'gold', meta: { a: 1 } },
      },
      { userId: 'p', type: 'order_completed', timestamp: T + 1, properties: { total: 9, value: 4, member: false } },
    ]);
    const { rows } = await scanAll(s, { asOf: T + H, props: ['tier', 'member', 'meta', 'absent'] });
    expect(rows).toHaveLength(2);
    const [a, b] = rows as [FeatureEvent, FeatureEvent];
    expect(a).toMatchObject({ type: 'purchase', ts: T, price: 12.5, quantity: 2, amount: null, revenue: 30, total: null, value: null, dwellMs: 1500, category: 'books' });
    expect([a.p0, a.p1, a.p3]).toEqual(['gold', 1, null]);
    expect(JSON.parse(String(a.p2))).toEqual({ a: 1 });
    expect(b).toMatchObject({ price: null, quantity: null, amount: null, revenue: null, total: 9, value: 4, dwellMs: null, category: null });
    expect([b.p0, b.p1]).toEqual([null, 0]);
    expect(await s.features.topPropertyValues('tier', { asOf: T + H, limit: 5 })).toEqual(['gold']);
    expect(await s.features.topPropertyValues('tier', { asOf: T + H, limit: 5, eventType: 'order_completed' })).toEqual([]);
    expect(await s.features.topPropertyValues('total', { asOf: T + H, limit: 5 })).toEqual(['9']);
  });

  it('pages cover every row once, in (user_id, ts, id) order, for all users and for a set of users', async () => {
    const s = ctx.store;
    const raw: Record<string, unknown>[] = [];
    // Equal timestamps inside a user: the id breaks the tie, and the keyset must not skip or repeat them.
    for (let u = 0; u < 5; u++) for (let k = 0; k < 7; k++) raw.push({ userId: `u${u}`, type: 'view', timestamp: T + Math.floor(k / 3) * H, eventId: `u${u}-${k}` });
    raw.push({ userId: 'u0', type: 'view', timestamp: T + 50 * H, eventId: 'late' });
    const ids = await write(s, raw);
    const asOf = T + 10 * H;
    const { pages, rows } = await scanAll(s, { asOf, pageSize: 4 });
    expect(pages.every((p) => p.length > 0 && p.length <= 4)).toBe(true);
    expect(rows).toHaveLength(35);
    expect(new Set(rows.map((r) => r.id)).size).toBe(35);
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(ids.slice(0, 35)));
    const key = (r: FeatureEvent) => [r.userId, r.ts, r.id] as const;
    for (let i = 1; i < rows.length; i++) {
      const [pu, pt, pi] = key(rows[i - 1] as FeatureEvent);
      const [cu, ct, ci] = key(rows[i] as FeatureEvent);
      expect(cu > pu || (cu === pu && (ct > pt || (ct === pt && ci > pi)))).toBe(true);
    }
    // One page size that divides the rows exactly ends without an empty page.
    expect((await scanAll(s, { asOf, pageSize: 5 })).pages.map((p) => p.length)).toEqual([5, 5, 5, 5, 5, 5, 5]);
    // A set of users (unordered, repeated): only theirs, each row once, in user order.
    const want = [await uid(s, 'u3'), await uid(s, 'u1'), await uid(s, 'u3')];
    const some = await scanAll(s, { asOf, userIds: want, pageSize: 3 });
    expect(some.rows).toHaveLength(14);
    expect(new Set(some.rows.map((r) => r.id)).size).toBe(14);
    expect([...new Set(some.rows.map((r) => r.userId))]).toEqual([...new Set(want)].sort((x, y) => x - y));
    expect((await scanAll(s, { asOf, userIds: [] })).rows).toEqual([]);
    // One user paged inside runs of equal timestamps: every row once, the late one beyond the cut-off never.
    const one = await scanAll(s, { asOf, userIds: [await uid(s, 'u0')], pageSize: 2 });
    expect(one.pages.map((p) => p.length)).toEqual([2, 2, 2, 1]);
    expect(one.rows.map((r) => r.id)).toEqual(rows.filter((r) => r.userId === one.rows[0]?.userId).map((r) => r.id));
    expect(new Set(one.rows.map((r) => r.id))).toEqual(new Set(ids.slice(0, 7)));
  });

  it('reads declared attributes, consents and external ids', async () => {
    const s = ctx.store;
    await write(s, [
      { userId: 'x', type: 'view', timestamp: T },
      { userId: 'y', type: 'view', timestamp: T },
      { userId: 'z', type: 'view', timestamp: T },
      { anonymousId: 'anon-1', type: 'view', timestamp: T },
    ]);
    await s.users.setAttributes('x', { plan: 'pro', 'odd key': 3, vip: true }, { profiling: false }, NOW);
    await s.users.setAttributes('y', { plan: 'pro' }, undefined, NOW);
    await s.users.setAttributes('z', { plan: 'free', vip: false }, undefined, NOW);
    expect(await s.features.attributeValues('plan', 5)).toEqual([
      { value: 'pro', n: 2 },
      { value: 'free', n: 1 },
    ]);
    expect(await s.features.attributeValues('plan', 1)).toEqual([{ value: 'pro', n: 2 }]);
    const [x, y, z] = [await uid(s, 'x'), await uid(s, 'y'), await uid(s, 'z')];
    expect(await s.features.attributeOf('odd key', [x, y])).toEqual(new Map([[x, 3]]));
    expect(await s.features.attributeOf('vip', [x, y, z])).toEqual(
      new Map([
        [x, 1],
        [z, 0],
      ]),
    );
    const consents = await s.features.userConsents();
    expect(consents.map((c) => c.id)).toEqual([...consents.map((c) => c.id)].sort((a, b) => a - b));
    expect(JSON.parse(consents.find((c) => c.id === x)?.consent ?? '{}')).toMatchObject({ profiling: false });
    expect(consents.find((c) => c.id === y)?.consent).toBeNull();
    const ext = await s.features.externalIds();
    expect(ext).toHaveLength(4);
    expect(ext.filter((e) => e.externalId === null)).toHaveLength(1);
    expect(ext.find((e) => e.id === x)?.externalId).toBe('x');
  });

  it('what eval and demo read: LLM call totals, evidence, event texts, the richest known user', async () => {
    const s = ctx.store;
    const base = { userId: null, operation: 'extract_traits', model: 'm', promptVersion: '1', latencyMs: 5 };
    expect(await s.features.llmCallTotals()).toEqual({ calls: 0, ok: 0, promptTokens: 0, completionTokens: 0 });
    await s.llm.recordCall({ ...base, at: T, promptTokens: 10, completionTokens: 3, status: 'ok' });
    await s.llm.recordCall({ ...base, at: T + 1, promptTokens: 7, completionTokens: 0, status: 'error', error: 'boom' });
    expect(await s.features.llmCallTotals()).toEqual({ calls: 2, ok: 1, promptTokens: 17, completionTokens: 3 });

    const [e1, e2] = await write(s, [
      { userId: 'k', type: 'chat_message', timestamp: T, text: 'I love hiking' },
      { userId: 'k', type: 'page_view', timestamp: T + 1 },
      { userId: 'm', type: 'chat_message', timestamp: T + 2, text: 'cats' },
    ]);
    expect(await s.features.eventTexts([e1 as number, e2 as number, 99_999])).toEqual(new Map([[e1 as number, 'I love hiking']]));
    expect(await s.features.richestKnownUser()).toBeNull();
    await seedTraits(s, await uid(s, 'k'), [
      { key: 'interest', value: 'hiking', evidence: [{ eventId: e1 as number, quote: 'hiking' }] },
      { key: 'pet', value: 'dog' },
    ]);
    await seedTraits(s, await uid(s, 'm'), [{ key: 'pet', value: 'cat' }]);
    expect(await s.features.richestKnownUser()).toBe('k');
    const evidence = (await s.features.semanticEvidence()).map((e) => JSON.parse(e) as unknown);
    expect(evidence).toHaveLength(3);
    expect(evidence).toContainEqual([{ eventId: e1, quote: 'hiking' }]);
  });
});
