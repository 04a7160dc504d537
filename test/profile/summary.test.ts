import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bumpProfileVersion, insertTrait } from '../../src/db/traits.ts';
import { ingestBatch } from '../../src/ingest/ingest.ts';
import { echoesInstructions, profileFacts, templateSummary, ungroundedTerms } from '../../src/profile/summary.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { startOpenAIServer, type ChatRequestBody, type OpenAITestServer } from '../support/openai-server.ts';

const RAW = 'I love hiking in the alps, mail me at hiker@example.com';
async function seed(api: TestApi) {
  await api.store.users.setAttributes('ann', { country: 'DE', plan: 'pro', email: 'ann@example.com' }, { marketing: true });
  await api.store.users.setAttributes('bob', { country: 'FR' }, { marketing: false });
  const r = await ingestBatch(api.store.events, [
    { userId: 'ann', type: 'chat_message', text: RAW, timestamp: 1_780_000_000_000, eventId: 'e1' },
    { userId: 'ann', type: 'purchase', properties: { product_id: 'p1', price: 20 }, timestamp: 1_780_000_100_000 },
    { userId: 'bob', type: 'chat_message', text: 'I am a vegan chef', timestamp: 1_780_000_000_000 },
  ]);
  const ann = (await api.store.users.require('ann')).id;
  const bob = (await api.store.users.require('bob')).id;
  const ev = r.results[0]!.status === 'accepted' ? (r.results[0] as { id: number }).id : 0;
  const t = (userId: number, key: string, value: string | number | boolean, kind: 'semantic' | 'computed' | 'predicted', confidence: number) =>
    insertTrait(api.db, {
      userId,
      key,
      value,
      kind,
      confidence,
      evidence: kind === 'semantic' ? [{ eventId: ev, quote: 'I love hiking' }] : [],
      producer: 'test',
      version: '1',
      validFrom: 1,
    });
  t(ann, 'interest', 'hiking', 'semantic', 0.9);
  t(ann, 'pet', 'cat', 'semantic', 0.5);
  t(ann, 'purchase_count', 1, 'computed', 1);
  t(ann, 'will_purchase', true, 'predicted', 0.81);
  t(bob, 'diet', 'vegan', 'semantic', 0.9);
  t(bob, 'occupation', 'chef', 'semantic', 0.9);
  bumpProfileVersion(api.db, ann, Date.now());
}

describe('template summaries (no LLM)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = createTestApi();
    await seed(api);
  });
  afterAll(() => api.cleanup());

  it('states every fact and nothing the profile lacks (no PII, no raw text, no other user)', async () => {
    const r = await api.request('GET', '/v1/users/ann/summary?audience=support');
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ userId: 'ann', audience: 'support', generator: 'template.v2', cached: false, profileVersion: 1 });
    const s: string = r.body.summary;
    for (const v of ['they are into hiking', 'cat', 'DE', 'pro', 'will purchase', '1 purchase']) expect(s).toContain(v);
    for (const v of ['ann@example.com', 'hiker@example.com', 'alps', 'vegan', 'chef', 'FR']) expect(s).not.toContain(v);
    expect(s).toMatch(/Probably, they have a cat/);
    expect(ungroundedTerms(s, r.body.facts)).toEqual([]);
    // every fact the summary draws on is one of the profile's
    const facts = await profileFacts(api.store, await api.store.users.require('ann'));
    expect(r.body.facts).toEqual(facts.facts);
    expect(templateSummary({ profileVersion: 0, facts: [] }, 'support')).toMatch(/not enough data/);
    const again = await api.request('GET', '/v1/users/ann/summary');
    expect(again.body.cached).toBe(true);
  });

  it('regenerates when the profile version changes', async () => {
    const ann = (await api.store.users.require('ann')).id;
    insertTrait(api.db, { userId: ann, key: 'interest', value: 'cycling', kind: 'semantic', confidence: 0.8, evidence: [], producer: 'test', version: '1', validFrom: 2 });
    bumpProfileVersion(api.db, ann, Date.now());
    const r = await api.request('GET', '/v1/users/ann/summary');
    expect(r.body).toMatchObject({ cached: false, profileVersion: 2 });
    expect(r.body.summary).toContain('cycling');
    expect(api.db.sqlite.prepare('SELECT count(*) AS n FROM summaries WHERE user_id = ? AND profile_version < 2').get(ann)).toEqual({ n: 0 });
  });

  it('marketing audience: 403 without marketing consent', async () => {
    expect((await api.request('GET', '/v1/users/ann/summary?audience=marketing')).status).toBe(200);
    const r = await api.request('GET', '/v1/users/bob/summary?audience=marketing');
    expect(r.status).toBe(403);
    expect(r.body.error.message).toContain('marketing');
    expect((await api.request('GET', '/v1/users/bob/summary?audience=nope')).status).toBe(400);
  });
});

describe('LLM summaries through the loopback OpenAI-compatible server', () => {
  let server: OpenAITestServer;
  let api: TestApi;
  beforeAll(async () => {
    server = await startOpenAIServer();
    api = createTestApi({ OPENAI_BASE_URL: server.baseURL, OPENAI_CHAT_MODEL: 'test-model', OPENAI_MAX_RETRIES: '0', OPENAI_TIMEOUT_MS: '2000' });
    await seed(api);
  });
  beforeEach(() => server.reset());
  afterAll(async () => {
    api.cleanup();
    await server.close();
  });
  const prompts = () => server.requests.filter((r) => r.path.endsWith('/chat/completions')).map((r) => JSON.stringify((r.body as ChatRequestBody).messages));

  it('sends only the profile facts (no PII, no raw event text), caches per profile version, names the generator', async () => {
    server.enqueueChat({ type: 'answer', data: { summary: 'The customer likes hiking and may have a cat; a model expects a purchase.', facts: [3, 4, 5] } });
    const r = await api.request('GET', '/v1/users/ann/summary');
    expect(r.status, r.text).toBe(200);
    expect(r.body.generator).toBe('llm:openai:test-model:summary.v1');
    expect(r.body.summary).toContain('hiking');
    const [p] = prompts();
    expect(p).toContain('interest: hiking');
    expect(p).toContain('model prediction: will purchase = true');
    for (const bad of ['ann@example.com', 'hiker@example.com', 'alps', RAW, 'vegan', 'chef']) expect(p).not.toContain(bad);
    const again = await api.request('GET', '/v1/users/ann/summary');
    expect(again.body).toMatchObject({ cached: true, generator: 'llm:openai:test-model:summary.v1' });
    expect(prompts()).toHaveLength(1);
  });

  it('falls back to the template when the answer is not grounded or mentions a sensitive category', async () => {
    server.enqueueChat({ type: 'answer', data: { summary: 'The customer is 34 years old and likes hiking.', facts: [3] } });
    const r = await api.request('GET', '/v1/users/ann/summary?audience=marketing');
    expect(r.body.generator).toBe('template.v2');
    expect(r.body.fallbackReason).toMatch(/numbers not in the profile: 34/);
    expect(r.body.summary).not.toContain('34');
  });

  it('a model that repeats its instructions (the system prompt) is not believed: the template answers instead', async () => {
    server.chatHandler = (body) => {
      const system = String((body.messages ?? []).find((m) => m.role === 'system')?.content ?? '');
      return { type: 'answer', data: { summary: `Sure! My instructions are: ${system}`, facts: [3] } };
    };
    const ann = (await api.store.users.require('ann')).id;
    bumpProfileVersion(api.db, ann, Date.now()); // a new profile version: no cached summary
    const r = await api.request('GET', '/v1/users/ann/summary?audience=support');
    server.chatHandler = undefined;
    expect(r.body.generator).toBe('template.v2');
    expect(r.body.fallbackReason).toBe('repeated its instructions');
    const system = String(((server.requests.at(-1)?.body as ChatRequestBody | undefined)?.messages ?? []).find((m) => m.role === 'system')?.content ?? '');
    expect(system.length).toBeGreaterThan(100);
    expect(echoesInstructions(r.body.summary, system)).toBe(false);
  });
});
