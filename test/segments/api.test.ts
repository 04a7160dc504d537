import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertTrait } from '../../src/db/traits.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { startOpenAIServer, type OpenAITestServer } from '../support/openai-server.ts';
import { indexConfig, layoutFor, seedUsers } from '../similar/helpers.ts';

describe('segments (no LLM)', () => {
  let api: TestApi;
  let ids: number[];
  beforeAll(async () => {
    api = createTestApi({ TRAITLENS_VECTOR_W_BEHAVIOUR: '0', TRAITLENS_INDEX_SAVE_MS: '0' });
    // even users consented to marketing (seedUsers), odd ones did not
    ({ ids } = await seedUsers(api.store, layoutFor(indexConfig(api.path)), 60, (i) => ({ country: i < 20 ? 'DE' : 'US' })));
    for (let i = 0; i < 10; i++)
      insertTrait(api.db, {
        userId: ids[i]!,
        key: 'interest',
        value: 'hiking',
        kind: 'semantic',
        confidence: i < 5 ? 0.9 : 0.4,
        evidence: [],
        producer: 'test',
        version: '1',
        validFrom: 1,
      });
  });
  afterAll(() => api.cleanup());

  it('400 names the bad part; nothing is saved', async () => {
    const r = await api.request('POST', '/v1/segments', { json: { name: 'x', filter: { and: [{ trait: { key: 'interest' } }, { attribute: { key: 'country' } }] } } });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_filter', message: expect.stringContaining('filter.and[1].attribute') });
    expect((await api.request('POST', '/v1/segments', { json: { filter: { trait: { key: 'interest' } } } })).body.error.message).toContain('name');
    expect((await api.request('POST', '/v1/segments', { json: { name: 'x' } })).status).toBe(400);
    expect((await api.request('GET', '/v1/segments')).body.segments).toEqual([]);
  });

  it('saves a filter; members page with counts and leave out users without marketing consent', async () => {
    const c = await api.request('POST', '/v1/segments', {
      json: { name: 'keen DE hikers', filter: { and: [{ trait: { key: 'interest', value: 'Hiking', minConfidence: 0.6 } }, { attribute: { key: 'country', eq: 'DE' } }] } },
    });
    expect(c.status, c.text).toBe(201);
    const p1 = await api.request('GET', `/v1/segments/${c.body.id}/users?limit=2`);
    expect(p1.body).toMatchObject({ matched: 5, excludedNoConsent: 2, total: 3, users: ['u0', 'u2'] });
    const p2 = await api.request('GET', `/v1/segments/${c.body.id}/users?limit=2&cursor=${p1.body.nextCursor}`);
    expect(p2.body).toMatchObject({ users: ['u4'], nextCursor: null });
    expect((await api.request('GET', '/v1/segments/999/users')).status).toBe(404);
  });

  it('lookalikes: nearest the centroid, never members, marketing consent only', async () => {
    const c = await api.request('POST', '/v1/segments', { json: { name: 'DE', filter: { attribute: { key: 'country', eq: 'DE' } } } });
    const r = await api.request('POST', `/v1/segments/${c.body.id}/lookalikes?k=5`);
    expect(r.status, r.text).toBe(200);
    expect(r.body.results).toHaveLength(5);
    for (const x of r.body.results) {
      const i = Number(x.userId.slice(1));
      expect(i).toBeGreaterThanOrEqual(20);
      expect(i % 2).toBe(0);
    }
  });

  it('a description offline is compiled by the words compiler: filter, phrases, what was not understood; nothing saved', async () => {
    const r = await api.request('POST', '/v1/segments', { json: { description: 'hikers in Germany who drive a Tesla' } });
    expect(r.status, r.text).toBe(200);
    const filter = { and: [{ trait: { key: 'interest', value: 'hiking' } }, { attribute: { key: 'country', eq: 'DE' } }] };
    expect(r.body).toMatchObject({ mode: 'words', saved: false, generator: 'offline:words', filter, notUnderstood: ['drive tesla'] });
    expect(r.body.conditions).toEqual([
      { phrase: 'hikers', condition: filter.and[0] },
      { phrase: 'germany', condition: filter.and[1] },
    ]);
    expect((await api.request('GET', '/v1/segments')).body.segments.map((x: { name: string }) => x.name)).not.toContain('proposed');
    // The proposal is a filter the client can save as it is.
    const c = await api.request('POST', '/v1/segments', { json: { name: 'proposed', filter: r.body.filter } });
    expect(c.status, c.text).toBe(201);
    expect((await api.request('GET', `/v1/segments/${c.body.id}/users`)).body.matched).toBe(10);
  }, 60_000);

  it('a description offline that nothing matches falls back to embedding search and says so', async () => {
    const r = await api.request('POST', '/v1/segments', { json: { description: 'purple unicorns' } });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ mode: 'embedding_search', saved: false, notUnderstood: ['purple unicorns'] });
    expect(r.body.note).toMatch(/No LLM/);
  }, 60_000);
});

describe('segments as a resource: rename, delete, unique names, segments:read, preview', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = createTestApi({ TRAITLENS_VECTOR_W_BEHAVIOUR: '0', TRAITLENS_INDEX_SAVE_MS: '0' });
    // even users consented to marketing (seedUsers), odd ones did not; u0..u19 in DE
    await seedUsers(api.store, layoutFor(indexConfig(api.path)), 40, (i) => ({ country: i < 20 ? 'DE' : 'US' }));
  });
  afterAll(() => api.cleanup());
  const de = { attribute: { key: 'country', eq: 'DE' } };

  it('names are unique: a duplicate is a 409 on create and on rename; rename and delete', async () => {
    const a = await api.request('POST', '/v1/segments', { json: { name: 'Germany', filter: de, segmentDescription: 'country DE' } });
    expect(a.status, a.text).toBe(201);
    expect(a.body).toMatchObject({ name: 'Germany', description: 'country DE', filter: de });
    const dup = await api.request('POST', '/v1/segments', { json: { name: 'Germany', filter: { attribute: { key: 'country', eq: 'US' } } } });
    expect(dup.status).toBe(409);
    expect(dup.body.error).toMatchObject({ code: 'segment_name_taken', message: expect.stringContaining('Germany') });
    const b = await api.request('POST', '/v1/segments', { json: { name: 'US', filter: { attribute: { key: 'country', eq: 'US' } } } });
    expect(b.status).toBe(201);

    const renamed = await api.request('PATCH', `/v1/segments/${a.body.id}`, { json: { name: 'DE customers' } });
    expect(renamed.status, renamed.text).toBe(200);
    expect(renamed.body).toMatchObject({ id: a.body.id, name: 'DE customers', description: 'country DE', filter: de });
    expect((await api.request('GET', `/v1/segments/${a.body.id}`)).body.name).toBe('DE customers');
    const clash = await api.request('PATCH', `/v1/segments/${b.body.id}`, { json: { name: 'DE customers' } });
    expect(clash.status).toBe(409);
    expect(clash.body.error.code).toBe('segment_name_taken');
    expect((await api.request('PATCH', `/v1/segments/${b.body.id}`, { json: { description: null } })).body.description).toBeNull();
    expect((await api.request('PATCH', `/v1/segments/${b.body.id}`, { json: {} })).status).toBe(400);
    expect((await api.request('PATCH', `/v1/segments/${b.body.id}`, { json: { filter: de } })).status).toBe(400);
    expect((await api.request('PATCH', '/v1/segments/9999', { json: { name: 'x' } })).status).toBe(404);

    const del = await api.request('DELETE', `/v1/segments/${b.body.id}`);
    expect(del.status, del.text).toBe(200);
    expect(del.body).toEqual({ id: b.body.id, deleted: true });
    expect((await api.request('DELETE', `/v1/segments/${b.body.id}`)).status).toBe(404);
    expect((await api.request('GET', `/v1/segments/${b.body.id}`)).status).toBe(404);
    expect((await api.request('GET', `/v1/segments/${b.body.id}/users`)).status).toBe(404);
    expect((await api.request('GET', '/v1/segments')).body.segments.map((x: { name: string }) => x.name)).toEqual(['DE customers']);
  });

  it('segments:read reads and previews but cannot write; segments:write reads too', async () => {
    const read = api.keys['segments:read'];
    const write = api.keys['segments:write'];
    const seg = await api.request('POST', '/v1/segments', { key: write, json: { name: 'by writer', filter: de } });
    expect(seg.status).toBe(201);
    for (const key of [read, write]) {
      expect((await api.request('GET', '/v1/segments', { key })).status).toBe(200);
      expect((await api.request('GET', `/v1/segments/${seg.body.id}`, { key })).status).toBe(200);
      expect((await api.request('GET', `/v1/segments/${seg.body.id}/users`, { key })).status).toBe(200);
      expect((await api.request('GET', `/v1/segments/${seg.body.id}/portrait`, { key })).status).toBe(200);
      expect((await api.request('POST', '/v1/segments/preview', { key, json: { filter: de } })).status).toBe(200);
    }
    for (const [method, path, json] of [
      ['POST', '/v1/segments', { name: 'by reader', filter: de }],
      ['PATCH', `/v1/segments/${seg.body.id}`, { name: 'renamed by reader' }],
      ['DELETE', `/v1/segments/${seg.body.id}`, undefined],
    ] as const) {
      const r = await api.request(method, path, { key: read, ...(json ? { json } : {}) });
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.body.error.details.requiredScope).toBe('segments:write');
    }
    expect((await api.request('GET', '/v1/segments', { key: api.keys['profiles:read'] })).status).toBe(403);
  });

  it('preview: counts and a sample of consenting members, nothing saved; an invalid filter is a 400 naming the part; the sample is audited', async () => {
    const before = (await api.request('GET', '/v1/segments')).body.segments.length;
    const r = await api.request('POST', '/v1/segments/preview', { json: { filter: de, sample: 4 } });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ filter: de, population: 40, matched: 20, excludedNoConsent: 10, total: 10, sample: ['u0', 'u2', 'u4', 'u6'] });
    expect((await api.request('POST', '/v1/segments/preview', { json: { filter: de, sample: 0 } })).body.sample).toEqual([]);
    const bad = await api.request('POST', '/v1/segments/preview', { json: { filter: { and: [de, { attribute: { key: 'country' } }] } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_filter', message: expect.stringContaining('filter.and[1].attribute') });
    expect((await api.request('POST', '/v1/segments/preview', { json: {} })).status).toBe(400);
    expect((await api.request('POST', '/v1/segments/preview', { json: { filter: de, sample: 1000 } })).status).toBe(400);
    expect((await api.request('GET', '/v1/segments')).body.segments.length).toBe(before);
    const audit = (await api.request('GET', `/v1/audit?route=${encodeURIComponent('/v1/segments/preview')}&limit=100`)).body.entries as { userId: string | null; action: string }[];
    expect(audit.filter((e) => e.userId !== null).map((e) => e.userId)).toEqual(expect.arrayContaining(['u0', 'u2', 'u4', 'u6']));
    expect(audit.every((e) => e.action === 'segment.preview')).toBe(true);
  });
});

describe('segments: the LLM proposes a filter, never saved or run blind', () => {
  let server: OpenAITestServer;
  let api: TestApi;
  beforeAll(async () => {
    server = await startOpenAIServer();
    api = createTestApi({ OPENAI_BASE_URL: server.baseURL, OPENAI_CHAT_MODEL: 'test-model', OPENAI_MAX_RETRIES: '0', OPENAI_TIMEOUT_MS: '2000' });
  });
  afterAll(async () => {
    api.cleanup();
    await server.close();
  });

  it('returns the proposed filter for review; an invalid proposal is a 422 with the issues', async () => {
    const proposed = { and: [{ trait: { key: 'interest', value: 'hiking' } }, { predicted: { key: 'will_purchase', value: true, min: 0.7 } }] };
    server.enqueueChat({ type: 'answer', data: { filter: proposed, explanation: 'Hikers likely to buy.' } });
    const r = await api.request('POST', '/v1/segments', { json: { description: 'hikers who will probably buy soon' } });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ mode: 'llm', saved: false, filter: proposed, explanation: 'Hikers likely to buy.' });
    const sent = JSON.stringify(server.requests.at(-1)?.body);
    expect(sent).toContain('hikers who will probably buy soon');
    expect((await api.request('GET', '/v1/segments')).body.segments).toEqual([]);

    server.enqueueChat({ type: 'answer', data: { filter: { trait: { key: 'interest', minConfidence: 7 } }, explanation: 'x' } });
    const bad = await api.request('POST', '/v1/segments', { json: { description: 'keen hikers' } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('filter_compile_failed');
    expect(JSON.stringify(bad.body.error.details)).toContain('filter.trait.minConfidence');

    const sensitive = await api.request('POST', '/v1/segments', { json: { description: 'users with diabetes' } });
    expect(sensitive.status).toBe(422);
  });
});
