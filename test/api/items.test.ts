import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestBatch } from '../../src/ingest/ingest.ts';
import { trainStoreItemEmbeddings } from '../../src/pipeline/item-embeddings.ts';
import { initBackend } from '../../src/predict/backend.ts';
import { createTestApi, type ApiResponse, type TestApi } from '../support/api.ts';
import { openApiValidator } from '../support/openapi.ts';

// Two product families bought by two kinds of people who also write about them: kitchen items
// (k1..k8) by cooks, garden items (g1..g8) by gardeners. Each user buys two baskets of three items
// of their family (six of eight), so every user has family items left to recommend.
const DAY = 86_400_000;
const T = Date.now() - 30 * DAY;
const FAM = { k: 'I love cooking and baking bread in my kitchen', g: 'I love gardening and growing roses in my garden' } as const;
const USERS = 10;

function events(): unknown[] {
  const out: unknown[] = [];
  for (const f of ['k', 'g'] as const)
    for (let u = 0; u < USERS; u++) {
      const userId = `${f}u${u}`;
      out.push({ userId, type: 'chat_message', text: FAM[f], timestamp: T + u });
      for (let b = 0; b < 2; b++)
        for (let k = 0; k < 3; k++)
          out.push({ userId, type: 'purchase', timestamp: T + DAY * (1 + b) + u * 60_000 + k, properties: { item: `${f}${1 + ((u + b * 3 + k) % 8)}`, quantity: 1 + k } });
    }
  // A user without profiling consent who buys one item a lot: it must count for nothing.
  for (let i = 0; i < 30; i++) out.push({ userId: 'private', type: 'purchase', timestamp: T + DAY + i * 1000, properties: { item: 'secret', quantity: 5 } });
  out.push({ userId: 'private', type: 'purchase', timestamp: T + DAY * 2, properties: { item: 'k1' } });
  return out;
}

let api: TestApi;
let validator: ReturnType<typeof openApiValidator>;

/** Validates a response body against the route's documented 200 schema (the OpenAPI document). */
function expectDocumented(method: string, path: string, res: ApiResponse, status = 200): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  const r = validator.check(method, path, status, res.body);
  expect(r.documented, `${method} ${path} ${status} documented`).toBe(true);
  expect(r.errors).toEqual([]);
}

beforeAll(async () => {
  await initBackend({ log: () => {} });
  api = createTestApi({ TRAITLENS_ITEM_WEIGHT_PROPERTY: 'quantity', TRAITLENS_ITEM_DIM: '8' });
  await ingestBatch(api.store.events, events());
  await api.store.users.setAttributes('private', {}, { profiling: false });
  await api.store.users.setAttributes('newcomer', { country: 'DE' }, undefined);
  await api.runtime.pipeline.createWorker().drain();
  await api.runtime.profiles.index.open();
  validator = openApiValidator((await api.request('GET', '/openapi.json', { key: null })).body);
}, 120_000);
afterAll(() => api?.cleanup());

describe('the item catalogue API', () => {
  it('creates, replaces, reads and pages items', async () => {
    const put = await api.request('PUT', '/v1/items/k1', {
      key: api.keys['events:write'],
      json: { title: ' Red Mug ', category: 'kitchen', price: 4.5, attributes: { colour: 'red' } },
    });
    expectDocumented('put', '/v1/items/{id}', put);
    expect(put.body).toMatchObject({ id: 'k1', title: 'Red Mug', category: 'kitchen', price: 4.5, attributes: { colour: 'red' }, source: 'import' });
    await api.request('PUT', '/v1/items/k2', { key: api.keys['events:write'], json: { title: 'Blue Bowl' } });
    await api.request('PUT', '/v1/items/g1', { key: api.keys['events:write'], json: { title: 'Rose Seeds', category: 'garden' } });
    // a PUT replaces every field
    const again = await api.request('PUT', '/v1/items/g1', { key: api.keys['events:write'], json: { title: 'Rose Seeds, red' } });
    expect(again.body).toMatchObject({ title: 'Rose Seeds, red', category: null, price: null, attributes: {} });

    const one = await api.request('GET', '/v1/items/k1', { key: api.keys['profiles:read'] });
    expectDocumented('get', '/v1/items/{id}', one);
    expect(one.body.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);

    const p1 = await api.request('GET', '/v1/items?limit=2', { key: api.keys['profiles:read'] });
    expectDocumented('get', '/v1/items', p1);
    expect(p1.body.items.map((i: { id: string }) => i.id)).toEqual(['g1', 'k1']);
    expect(p1.body.total).toBe(3);
    expect(p1.body.nextCursor).toBe('k1');
    const p2 = await api.request('GET', `/v1/items?limit=2&after=${p1.body.nextCursor}`, { key: api.keys['profiles:read'] });
    expect(p2.body).toMatchObject({ items: [{ id: 'k2' }], nextCursor: null });
    const q = await api.request('GET', '/v1/items?q=BOWL', { key: api.keys['profiles:read'] });
    expect(q.body.items.map((i: { id: string }) => i.id)).toEqual(['k2']);
  });

  it('refuses bad input with a 400 naming the field, and the wrong key', async () => {
    const w = api.keys['events:write'];
    const neg = await api.request('PUT', '/v1/items/k3', { key: w, json: { price: -1 } });
    expect(neg.status).toBe(400);
    expect(neg.body.error.details).toEqual([expect.objectContaining({ field: 'price' })]);
    const unknown = await api.request('PUT', '/v1/items/k3', { key: w, json: { title: 'x', colour: 'red' } });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body.error)).toContain('colour');
    expect((await api.request('PUT', '/v1/items/k3', { key: w, json: { title: 5 } })).status).toBe(400);
    expect((await api.request('PUT', '/v1/items/k3', { key: w, json: { attributes: { big: 'x'.repeat(20_000) } } })).status).toBe(400);
    expect((await api.request('PUT', `/v1/items/${encodeURIComponent('bad\u202eid')}`, { key: w, json: {} })).status).toBe(400);
    expect((await api.request('PUT', '/v1/items/k3', { key: api.keys['profiles:read'], json: { title: 'x' } })).status).toBe(403);
    expect((await api.request('GET', '/v1/items', { key: null })).status).toBe(401);
    expect((await api.request('GET', '/v1/items?limit=0', { key: api.keys['profiles:read'] })).status).toBe(400);
    const missing = await api.request('GET', '/v1/items/nope', { key: api.keys['profiles:read'] });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    expect(await api.store.items.get('k3')).toBeUndefined();
  });

  it('says clearly when no item embeddings are trained yet', async () => {
    const r = await api.request('GET', '/v1/items/k1/similar', { key: api.keys['profiles:read'] });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('item_embeddings_missing');
    expect((await api.request('GET', '/v1/items/nope/similar', { key: api.keys['profiles:read'] })).status).toBe(404);
    // recommendations still work: similar users and popularity
    const rec = await api.request('GET', '/v1/users/ku0/recommendations', { key: api.keys['profiles:read'] });
    expectDocumented('get', '/v1/users/{id}/recommendations', rec);
    expect(rec.body.embeddingsVersion).toBeNull();
    expect(rec.body.note).toMatch(/no item embeddings/);
  });

  it('trains, learns the catalogue from events, and answers similar items with scores', async () => {
    const before = await api.store.items.count();
    const report = await trainStoreItemEmbeddings(api.store, api.config, { epochs: 40, learningRate: 0.05, batchSize: 16, seed: 7 });
    expect(report.users).toBe(USERS * 2); // not `private`
    // every item events name (16 + secret) is in the catalogue now
    expect(report.learned).toBe(17 - before);
    expect(await api.store.items.count()).toBe(17);
    expect((await api.store.items.get('g5'))?.source).toBe('learned');
    const model = await api.store.items.activeEmbeddings();
    expect(model?.items).not.toContain('secret');

    const r = await api.request('GET', '/v1/items/k1/similar?k=5', { key: api.keys['profiles:read'] });
    expectDocumented('get', '/v1/items/{id}/similar', r);
    expect(r.body.item).toEqual({ item: 'k1', title: 'Red Mug', category: 'kitchen' });
    expect(r.body.embeddingsVersion).toBe(report.version);
    expect(r.body.results).toHaveLength(5);
    // bought together: the nearest items are kitchen items
    expect(r.body.results.slice(0, 3).every((x: { item: string }) => x.item.startsWith('k'))).toBe(true);
    for (let i = 1; i < r.body.results.length; i++) expect(r.body.results[i].score).toBeLessThanOrEqual(r.body.results[i - 1].score);
    const learnedOnly = await api.request('GET', '/v1/items/secret/similar', { key: api.keys['profiles:read'] });
    expect(learnedOnly.status).toBe(404);
    expect(learnedOnly.body.error.message).toMatch(/no embedding/);
  }, 60_000);

  it('recommends with reasons, never what the user has, and audits the read', async () => {
    const ku0 = (await api.store.users.require('ku0')).id;
    const owned = (await api.store.items.userItems(ku0, { itemProperties: ['item'] })).map((i) => i.item);
    expect(owned).toHaveLength(6);
    const r = await api.request('GET', '/v1/users/ku0/recommendations?k=5', { key: api.keys['profiles:read'] });
    expectDocumented('get', '/v1/users/{id}/recommendations', r);
    expect(r.body).toMatchObject({ userId: 'ku0', owned: 6, excludeOwned: true });
    expect(r.body.neighbours).toBeGreaterThan(0);
    const recs: { item: string; reasons: { kind: string; item?: string; text: string }[] }[] = r.body.recommendations;
    expect(recs.length).toBeGreaterThan(0);
    for (const x of recs) expect(owned).not.toContain(x.item);
    // the two kitchen items ku0 has not bought come first, for kitchen reasons
    const unowned = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8'].filter((i) => !owned.includes(i));
    expect(
      recs
        .slice(0, 2)
        .map((x) => x.item)
        .sort(),
    ).toEqual(unowned.sort());
    const reasons = recs.slice(0, 2).flatMap((x) => x.reasons);
    const bw = reasons.find((x) => x.kind === 'bought_with');
    expect(bw?.item && owned.includes(bw.item)).toBe(true);
    expect(bw?.text).toMatch(/^bought with /);
    expect(reasons.some((x) => x.kind === 'similar_users')).toBe(true);
    // no reason names another user
    expect(JSON.stringify(r.body)).not.toMatch(/ku[1-9]|gu\d|private/);
    // the read is audited against the user
    const audit = await api.request('GET', '/v1/audit?action=recommendations.read', { key: api.keys.admin });
    expect(JSON.stringify(audit.body)).toContain('recommendations.read');

    const rebuy = await api.request('GET', '/v1/users/ku0/recommendations?k=20&excludeOwned=false', { key: api.keys['profiles:read'] });
    expect(rebuy.body.excludeOwned).toBe(false);
    const again = rebuy.body.recommendations.filter((x: { item: string }) => owned.includes(x.item));
    expect(again.length).toBeGreaterThan(0);
    expect(again[0].reasons.map((x: { kind: string }) => x.kind)).toContain('bought_before');
  });

  it('respects consent: no history used without it, and its interactions count for nobody', async () => {
    const r = await api.request('GET', '/v1/users/private/recommendations?k=30', { key: api.keys['profiles:read'] });
    expectDocumented('get', '/v1/users/{id}/recommendations', r);
    expect(r.body).toMatchObject({ owned: 0, neighbours: 0 });
    expect(r.body.note).toMatch(/no profiling consent/);
    for (const x of r.body.recommendations) expect(x.reasons.map((y: { kind: string }) => y.kind)).toEqual(['popular']);
    // `secret` (30 purchases, all by `private`) is popular with nobody
    const items = r.body.recommendations.map((x: { item: string }) => x.item);
    expect(items).not.toContain('secret');
    expect(items.length).toBeGreaterThan(0);
  });

  it('falls back to popular items for a new user', async () => {
    const r = await api.request('GET', '/v1/users/newcomer/recommendations?k=3', { key: api.keys['profiles:read'] });
    expectDocumented('get', '/v1/users/{id}/recommendations', r);
    expect(r.body.owned).toBe(0);
    expect(r.body.recommendations).toHaveLength(3);
    for (const x of r.body.recommendations) expect(x.reasons[0].kind).toBe('popular');
    expect((await api.request('GET', '/v1/users/nobody/recommendations', { key: api.keys['profiles:read'] })).status).toBe(404);
  });

  it("lists a user's top items (audited)", async () => {
    const r = await api.request('GET', '/v1/users/gu0/items?k=3', { key: api.keys['profiles:read'] });
    expectDocumented('get', '/v1/users/{id}/items', r);
    expect(r.body.items).toHaveLength(3);
    expect(r.body.items[0]).toMatchObject({ item: expect.stringMatching(/^g/), n: expect.any(Number), weight: expect.any(Number) });
    expect(r.body.items.find((x: { item: string }) => x.item === 'g1')?.title ?? 'Rose Seeds, red').toBe('Rose Seeds, red');
    for (let i = 1; i < r.body.items.length; i++) expect(r.body.items[i].weight).toBeLessThanOrEqual(r.body.items[i - 1].weight);
  });
});
