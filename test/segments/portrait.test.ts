import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { insertTrait } from '../../src/db/traits.ts';
import { ingestBatch } from '../../src/ingest/ingest.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { startOpenAIServer, type ChatRequestBody, type OpenAITestServer } from '../support/openai-server.ts';

const DAY = 86_400_000;
const DE = { attribute: { key: 'country', eq: 'DE' } };

/**
 * 60 users: u0..u19 in DE (the segment), u20..u59 in US; even ones consented to marketing.
 * - interest hiking: u0..u9 (10 of 20 in the segment, 10 of 60 overall: lift 3)
 * - diet vegetarian: u0..u7 and u40, u41 (8 of 20 vs 10 of 60: lift 2.4)
 * - interest camping: u0..u5 (6 of 20 vs 6 of 60: lift 3)
 * - pet dog: u0..u3 only (4 members: under the minimum group of 5, never shown)
 * - interest church (a sensitive category) and first_name (a contact attribute): never shown
 * - monetary_total: 100 + i in DE, 10 in US; will_purchase: true at 0.8 in DE, at 0.3 in US
 * - events: DE users first seen 100 days ago, last 5 days ago (active), with item tent for u0..u11
 */
async function seed(api: TestApi) {
  const now = Date.now();
  const ids: number[] = [];
  for (let i = 0; i < 60; i++)
    ids.push(
      (await api.store.users.setAttributes(`u${i}`, i < 20 ? { country: 'DE', first_name: 'Anna' } : { country: 'US' }, i % 2 === 0 ? { marketing: true } : { marketing: false }))
        .id,
    );
  const t = (i: number, key: string, value: string | number | boolean, kind: 'semantic' | 'computed' | 'predicted', confidence: number) =>
    insertTrait(api.db, { userId: ids[i]!, key, value, kind, confidence, evidence: [], producer: 'test', version: '1', validFrom: 1 });
  for (let i = 0; i < 10; i++) t(i, 'interest', 'hiking', 'semantic', 0.9);
  for (let i = 0; i < 6; i++) t(i, 'interest', 'camping', 'semantic', 0.7);
  for (const i of [0, 1, 2, 3, 4, 5, 6, 7, 40, 41]) t(i, 'diet', 'vegetarian', 'semantic', 0.8);
  for (let i = 0; i < 4; i++) t(i, 'pet', 'dog', 'semantic', 0.9);
  for (let i = 0; i < 20; i++) t(i, 'interest', 'church', 'semantic', 0.9);
  for (let i = 0; i < 60; i++) {
    t(i, 'monetary_total', i < 20 ? 100 + i : 10, 'computed', 1);
    t(i, 'will_purchase', true, 'predicted', i < 20 ? 0.8 : 0.3);
  }
  const events = [];
  for (let i = 0; i < 20; i++) {
    events.push({ userId: `u${i}`, type: 'page_view', timestamp: now - 100 * DAY });
    events.push({ userId: `u${i}`, type: 'product_view', properties: { product_id: i < 12 ? 'tent' : 'stove' }, timestamp: now - 5 * DAY });
  }
  for (let i = 20; i < 30; i++) events.push({ userId: `u${i}`, type: 'product_view', properties: { product_id: 'tent' }, timestamp: now - 200 * DAY });
  const r = await ingestBatch(api.store.events, events);
  expect(r.accepted).toBe(events.length);
}

describe('segment portrait (no LLM)', () => {
  let api: TestApi;
  let id: number;
  beforeAll(async () => {
    api = createTestApi();
    await seed(api);
    id = (await api.request('POST', '/v1/segments', { json: { name: 'Germany', filter: DE } })).body.id;
  });
  afterAll(() => api.cleanup());

  it('size, share, over-represented traits with lift and share, lifecycle, behaviour, predictions and items', async () => {
    const r = await api.request('GET', `/v1/segments/${id}/portrait`);
    expect(r.status, r.text).toBe(200);
    const p = r.body;
    expect(p).toMatchObject({ segmentId: id, name: 'Germany', size: 20, population: 60, share: 0.333, marketingConsent: { members: 10, share: 0.5 }, minGroupSize: 5 });
    const over = p.overRepresented.map((o: { key: string; value: unknown; lift: number; segmentShare: number; populationShare: number; inFilter: boolean }) => [
      o.key,
      o.value,
      o.lift,
      o.segmentShare,
      o.populationShare,
      o.inFilter,
    ]);
    expect(over).toEqual([
      ['country', 'DE', 3, 1, 0.333, true],
      ['interest', 'hiking', 3, 0.5, 0.167, false],
      ['interest', 'camping', 3, 0.3, 0.1, false],
      ['diet', 'vegetarian', 2.4, 0.4, 0.167, false],
    ]);
    // never shown: a group under 5 members, a sensitive category, a contact attribute
    const all = JSON.stringify(p);
    for (const bad of ['dog', 'church', 'first_name', 'Anna']) expect(all).not.toContain(bad);

    expect(p.lifecycle).toEqual([
      { stage: 'active', meaning: 'active within the last 30 days', members: 20, segmentShare: 1, populationShare: 0.333 },
      { stage: 'churned', meaning: 'no activity for more than 90 days', members: 0, segmentShare: 0, populationShare: 0.167 },
      { stage: 'unknown', meaning: 'no activity recorded yet', members: 0, segmentShare: 0, populationShare: 0.5 },
    ]);
    const spend = p.behaviour.find((b: { metric: string }) => b.metric === 'monetary_total');
    expect(spend).toEqual({
      metric: 'monetary_total',
      label: 'spend (total)',
      segment: { n: 20, p25: 104.75, median: 109.5, p75: 114.25 },
      population: { n: 60, p25: 10, median: 10, p75: 104.25 },
    });
    const recency = p.behaviour.find((b: { metric: string }) => b.metric === 'days_since_last_event');
    expect(recency.segment.n).toBe(20);
    expect(recency.segment.median).toBeCloseTo(5, 1);
    expect(recency.population.n).toBe(30);

    expect(p.predictions).toHaveLength(1);
    const m = p.predictions[0];
    expect(m).toMatchObject({ key: 'will_purchase', of: 'true', segmentAtLeastHalf: 1, populationAtLeastHalf: 0.333 });
    expect(m.histogram).toHaveLength(10);
    expect(m.histogram[8]).toEqual({ from: 0.8, to: 0.9, segment: 20, population: 20 });
    expect(m.histogram[3]).toEqual({ from: 0.3, to: 0.4, segment: 0, population: 40 });
    expect(m.histogram.reduce((a: number, b: { population: number }) => a + b.population, 0)).toBe(60);

    expect(p.items).toEqual([
      { item: 'tent', title: null, members: 12, segmentShare: 0.6, lift: 1.64 },
      { item: 'stove', title: null, members: 8, segmentShare: 0.4, lift: 3 },
    ]);

    expect(p.generator).toBe('template.v1');
    const paras = (p.description as string).split('\n\n');
    expect(paras[0]).toBe('"Germany" holds 20 of 60 users (33%); 10 of them (50%) consented to marketing.');
    expect(paras[1]).toBe(
      'Compared with everyone, they stand out for interest hiking (50% vs 17%, 3.0 times as common), interest camping (30% vs 10%, 3.0 times as common) and diet vegetarian (40% vs 17%, 2.4 times as common).',
    );
    expect(paras[2]).toContain('By lifecycle stage they are 100% active (33% overall).');
    expect(paras[2]).toContain('spend (total) 109.5 (overall 10)');
    expect(paras[3]).toContain('100% have at least 50% probability of will purchase being true (overall 33%)');
    expect(paras[3]).toContain('Top items: tent (12 members) and stove (8 members).');
  });

  it('inFilter marks the key and value the filter tests, not every value of that key', async () => {
    const h = await api.request('POST', '/v1/segments', { json: { name: 'hikers', filter: { trait: { key: 'interest', value: 'Hiking' } } } });
    const p = (await api.request('GET', `/v1/segments/${h.body.id}/portrait`)).body;
    const row = (value: string) => p.overRepresented.find((o: { key: string; value: unknown }) => o.key === 'interest' && o.value === value);
    expect(row('hiking')).toMatchObject({ members: 10, segmentShare: 1, lift: 6, inFilter: true });
    expect(row('camping')).toMatchObject({ members: 6, segmentShare: 0.6, lift: 6, inFilter: false });
    expect(p.description).toContain('interest camping (60% vs 10%, 6.0 times as common)');
    expect(p.description).not.toContain('interest hiking');
  });

  it('an empty segment has a portrait too; a missing one is a 404', async () => {
    const e = await api.request('POST', '/v1/segments', { json: { name: 'nobody', filter: { attribute: { key: 'country', eq: 'XX' } } } });
    const r = await api.request('GET', `/v1/segments/${e.body.id}/portrait`);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ size: 0, population: 60, share: 0, overRepresented: [], items: [], description: 'No user matches "nobody" yet (60 users in all).' });
    expect((await api.request('GET', '/v1/segments/9999/portrait')).status).toBe(404);
  });
});

describe('segment portrait: the LLM describes it from the aggregates only', () => {
  let server: OpenAITestServer;
  let api: TestApi;
  let id: number;
  beforeAll(async () => {
    server = await startOpenAIServer();
    api = createTestApi({ OPENAI_BASE_URL: server.baseURL, OPENAI_CHAT_MODEL: 'test-model', OPENAI_MAX_RETRIES: '0', OPENAI_TIMEOUT_MS: '2000' });
    await seed(api);
    id = (await api.request('POST', '/v1/segments', { json: { name: 'Germany', filter: DE } })).body.id;
  });
  beforeEach(() => server.reset());
  afterAll(async () => {
    api.cleanup();
    await server.close();
  });
  const prompt = () => JSON.stringify((server.requests.filter((r) => r.path.endsWith('/chat/completions')).at(-1)?.body as ChatRequestBody | undefined)?.messages);

  it('uses a grounded answer; the prompt holds aggregates, no user ids', async () => {
    const text = 'Germany is 33% of all users.\n\nHiking is 3.0 times as common as overall.';
    server.enqueueChat({ type: 'answer', data: { description: text, facts: [1, 2] } });
    const r = await api.request('GET', `/v1/segments/${id}/portrait`);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ description: text, generator: 'llm:openai:test-model:segment-portrait.v1' });
    const p = prompt();
    expect(p).toContain('interest hiking: 50% of the segment vs 17% of everyone (3.0 times as common)');
    expect(p).toContain('median spend (total): 109.5 in the segment vs 10 overall');
    for (const bad of ['u0', 'u1"', 'church', 'dog', 'Anna']) expect(p).not.toContain(bad);
  });

  it('an answer with invented numbers is replaced by the template, saying why', async () => {
    server.enqueueChat({ type: 'answer', data: { description: 'They spend 4000 on average.', facts: [1] } });
    const r = await api.request('GET', `/v1/segments/${id}/portrait`);
    expect(r.body).toMatchObject({ generator: 'template.v1', fallbackReason: 'stated numbers not in the portrait: 4000' });
    expect(r.body.description).toMatch(/^"Germany" holds 20 of 60 users/);
  });
});
