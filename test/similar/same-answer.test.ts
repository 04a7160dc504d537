import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertTrait } from '../../src/db/traits.ts';
import { blockCosine, cosine, type VectorLayout } from '../../src/profile/vector.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { indexConfig, layoutFor, seedUsers } from './helpers.ts';

/**
 * The whole /similar answer against one computed from first principles: with ef above the number
 * of users the HNSW search is exhaustive, so the neighbours must be exactly the top k by cosine of
 * the stored vectors, never the user itself nor an erased user, with the block cosines of the stored
 * vectors and the traits both hold. Guards every change to the query path (the index search, the
 * over-fetch, the sync before a query, the reads that explain a match).
 */
let api: TestApi;
let ids: number[];
let layout: VectorLayout;
const N = 300;
const round = (x: number) => Math.round(x * 10_000) / 10_000;

beforeAll(async () => {
  api = createTestApi({ TRAITLENS_VECTOR_W_BEHAVIOUR: '0', TRAITLENS_INDEX_SAVE_MS: '0', TRAITLENS_HNSW_EF: '400' });
  layout = layoutFor(indexConfig(api.path));
  ({ ids } = await seedUsers(api.store, layout, N));
  const trait = (i: number, key: string, value: string | number, confidence: number, kind: 'semantic' | 'declared' | 'computed' = 'semantic') =>
    insertTrait(api.db, { userId: ids[i]!, key, value, kind, confidence, evidence: [], producer: 'test', version: '1', validFrom: 1 });
  for (let i = 0; i < N; i++) {
    trait(i, 'interest', i % 3 === 0 ? 'hiking' : 'chess', 0.5 + (i % 5) / 10);
    if (i % 4 === 0) trait(i, 'diet', 'Vegan', 0.8, 'declared');
    trait(i, 'orders_90d', i % 2, 1, 'computed');
  }
}, 60_000);
afterAll(() => api.cleanup());

type Answer = {
  userId: string;
  similarity: number;
  blocks: Record<string, number | null>;
  sharedTraits: { key: string; value: unknown; kind: string; confidence: [number, number] }[];
};

/** Over the users that still have a vector (an erased user has none). */
const expected = async (from: number, k: number): Promise<Answer[]> => {
  const rows = await api.store.profiles.getMany(ids);
  const traits = await api.store.traits.currentOfMany(ids);
  const me = rows.get(ids[from]!)!.vector;
  const mine = (traits.get(ids[from]!) ?? []).filter((t) => t.kind !== 'computed');
  return ids
    .flatMap((id, i) => (rows.has(id) && i !== from ? [{ i, id, s: cosine(me, rows.get(id)!.vector) }] : []))
    .sort((a, b) => b.s - a.s)
    .slice(0, k)
    .map((x) => ({
      userId: `u${x.i}`,
      similarity: round(x.s),
      blocks: Object.fromEntries(layout.blocks.map((b) => [b.name, round(blockCosine(layout, b.name, me, rows.get(x.id)!.vector) as number)])),
      sharedTraits: (traits.get(x.id) ?? [])
        .flatMap((t) => {
          const m = mine.find((o) => o.key === t.key && JSON.stringify(o.value).toLowerCase() === JSON.stringify(t.value).toLowerCase());
          return m ? [{ key: t.key, value: t.value, kind: t.kind, confidence: [m.confidence, t.confidence] as [number, number] }] : [];
        })
        .sort((a, b) => b.confidence[0] * b.confidence[1] - a.confidence[0] * a.confidence[1]),
    }));
};

const check = (got: Answer[], want: Answer[]) => {
  expect(got.map((r) => r.userId)).toEqual(want.map((r) => r.userId));
  for (const [j, r] of got.entries()) {
    const w = want[j]!;
    // the index computes the cosine in float32: the 4th decimal may differ by one
    expect(Math.abs(r.similarity - w.similarity), r.userId).toBeLessThanOrEqual(1.5e-4);
    expect(r.blocks).toEqual(w.blocks);
    expect(r.sharedTraits).toEqual(w.sharedTraits);
  }
};

describe('GET /v1/users/:id/similar gives the exact answer', () => {
  it('the top k by cosine with block cosines and shared traits, never the user itself; an erased neighbour is gone', async () => {
    for (const [from, k] of [
      [0, 10],
      [7, 1],
      [42, 25],
    ] as const) {
      const r = await api.request('GET', `/v1/users/u${from}/similar?k=${k}`);
      expect(r.status, r.text).toBe(200);
      check(r.body.results, await expected(from, k));
    }
    // Erase u0's nearest and third-nearest neighbours: the answer is the exact one without them.
    const before = await expected(0, 10);
    const gone = new Set([Number(before[0]!.userId.slice(1)), Number(before[2]!.userId.slice(1))]);
    for (const i of gone) expect((await api.request('DELETE', `/v1/users/u${i}`)).status).toBe(200);
    for (const i of gone) expect(await api.store.profiles.get(ids[i]!)).toBeNull();
    const r = await api.request('GET', '/v1/users/u0/similar?k=10');
    expect(r.status, r.text).toBe(200);
    check(r.body.results, await expected(0, 10));
    for (const i of gone) expect(r.body.results.map((x: Answer) => x.userId)).not.toContain(`u${i}`);
  });

  it('a vector written just before the query is what the query sees (the sync before a query)', async () => {
    const moved = (await api.store.profiles.get(ids[5]!))!.vector;
    // u9 takes u5's direction: it must be u5's nearest neighbour at once.
    await api.store.profiles.upsert({ userId: ids[9]!, version: layout.version, vector: moved, blocks: { text: true, traits: true }, profileVersion: 9, updatedAt: Date.now() });
    const r = await api.request('GET', '/v1/users/u5/similar?k=3');
    expect(r.status, r.text).toBe(200);
    expect(r.body.results[0]).toMatchObject({ userId: 'u9', similarity: 1 });
    check(r.body.results, await expected(5, 3));
  });
});
