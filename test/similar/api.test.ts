import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cosine } from '../../src/profile/vector.ts';
import { insertTrait } from '../../src/db/traits.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { indexConfig, layoutFor, seedUsers } from './helpers.ts';

let api: TestApi;
let ids: number[];
const N = 2600;
const countryOf = (i: number) => (i % 5 === 0 ? 'DE' : i % 5 === 1 ? 'FR' : 'US');
const planOf = (i: number) => (i % 10 === 0 ? 'free' : 'pro');
beforeAll(async () => {
  api = createTestApi({ TRAITLENS_VECTOR_W_BEHAVIOUR: '0', TRAITLENS_INDEX_SAVE_MS: '0' });
  const layout = layoutFor(indexConfig(api.path));
  ({ ids } = await seedUsers(api.store, layout, N, (i) => ({ country: countryOf(i), plan: planOf(i) })));
  for (const i of [0, 1, 2, 3])
    insertTrait(api.db, { userId: ids[i]!, key: 'interest', value: 'hiking', kind: 'semantic', confidence: 0.9, evidence: [], producer: 'test', version: '1', validFrom: 1 });
}, 60_000);
afterAll(() => api.cleanup());

const exactTop = async (from: number, allowed: (i: number) => boolean, k: number) => {
  const rows = await api.store.profiles.getMany(ids);
  const me = rows.get(ids[from]!)!.vector;
  return ids
    .map((id, i) => ({ i, id, s: cosine(me, rows.get(id)!.vector) }))
    .filter((x) => x.i !== from && allowed(x.i))
    .sort((a, b) => b.s - a.s)
    .slice(0, k)
    .map((x) => `u${x.i}`);
};

describe('GET /v1/users/:id/similar', () => {
  it('returns k neighbours, most similar first, with block similarities; never the user itself', async () => {
    const r = await api.request('GET', '/v1/users/u1/similar?k=10');
    expect(r.status, r.text).toBe(200);
    expect(r.body.results).toHaveLength(10);
    expect(r.body.results.map((x: { userId: string }) => x.userId)).not.toContain('u1');
    const sims = r.body.results.map((x: { similarity: number }) => x.similarity);
    expect([...sims].sort((a, b) => b - a)).toEqual(sims);
    expect(r.body.results[0].blocks).toHaveProperty('text');
    const exact = await exactTop(1, () => true, 10);
    const got = r.body.results.map((x: { userId: string }) => x.userId);
    expect(got.filter((u: string) => exact.includes(u)).length).toBeGreaterThanOrEqual(9);
  });

  it('a selective filter (exact path) and a broad one (HNSW with over-fetch) both return k matching users', async () => {
    for (const [filter, pass, plan] of [
      ['country:DE', (i: number) => countryOf(i) === 'DE', false],
      ['plan:pro', (i: number) => planOf(i) === 'pro', true],
      [
        JSON.stringify({ and: [{ attribute: { key: 'plan', eq: 'pro' } }, { not: { attribute: { key: 'country', eq: 'US' } } }] }),
        (i: number) => planOf(i) === 'pro' && countryOf(i) !== 'US',
        false,
      ],
    ] as const) {
      const r = await api.request('GET', `/v1/users/u7/similar?k=10&filter=${encodeURIComponent(filter)}`);
      expect(r.status, r.text).toBe(200);
      const got: string[] = r.body.results.map((x: { userId: string }) => x.userId);
      expect(got, filter).toHaveLength(10);
      for (const u of got) expect(pass(Number(u.slice(1))), `${filter} ${u}`).toBe(true);
      const exact = await exactTop(7, pass, 10);
      expect(got.filter((u) => exact.includes(u)).length, filter).toBeGreaterThanOrEqual(plan ? 8 : 10);
    }
  });

  it('explains matches with shared traits', async () => {
    const r = await api.request('GET', `/v1/users/u0/similar?k=3&filter=${encodeURIComponent('interest:hiking')}`);
    expect(r.status).toBe(200);
    expect(r.body.results.map((x: { userId: string }) => x.userId).sort()).toEqual(['u1', 'u2', 'u3']);
    for (const x of r.body.results) expect(x.sharedTraits).toEqual([{ key: 'interest', value: 'hiking', kind: 'semantic', confidence: [0.9, 0.9] }]);
  });

  it('rejects a bad filter with a 400 naming the part', async () => {
    const r = await api.request('GET', `/v1/users/u0/similar?filter=${encodeURIComponent('{"trait":{"key":"interest","minConfidence":2}}')}`);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_filter');
    expect(r.body.error.message).toContain('filter.trait.minConfidence');
    const r2 = await api.request('GET', '/v1/users/u0/similar?filter=nocolon');
    expect(r2.status).toBe(400);
  });

  it('answers 200 with a note for a user without a vector, 404 for an unknown user', async () => {
    await api.request('POST', '/v1/events', { json: [{ userId: 'fresh', type: 'click' }] });
    const r = await api.request('GET', '/v1/users/fresh/similar');
    expect(r.status).toBe(200);
    expect(r.body.results).toEqual([]);
    expect(r.body.note).toMatch(/no profile vector/);
    expect((await api.request('GET', '/v1/users/nobody/similar')).status).toBe(404);
  });
});
