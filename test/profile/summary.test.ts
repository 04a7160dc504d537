import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lifecycleStage } from '../../src/core/lifecycle.ts';
import type { TraitKind } from '../../src/core/types.ts';
import { bumpProfileVersion, insertTrait } from '../../src/db/traits.ts';
import { ingestBatch } from '../../src/ingest/ingest.ts';
import { echoesInstructions, profileFacts, templateSummary, ungroundedTerms } from '../../src/profile/summary.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { startOpenAIServer, type ChatRequestBody, type OpenAITestServer } from '../support/openai-server.ts';

const DAY = 86_400_000;
const RAW = 'I love hiking in the alps, mail me at hiker@example.com';
/** ann's events: 45 and 40 days before the test runs, so her lifecycle stage is `lapsing` (31 to 90 days). */
const T = Date.now() - 45 * DAY;
/** issue #15's free-form facts (kind `fact`, key `fact:…`), planted as rows */
const FACT = 'fact' as string as TraitKind;

async function seed(api: TestApi) {
  await api.store.users.setAttributes('ann', { country: 'DE', plan: 'pro', email: 'ann@example.com' }, { marketing: true });
  await api.store.users.setAttributes('bob', { country: 'FR' }, { marketing: false });
  const r = await ingestBatch(api.store.events, [
    { userId: 'ann', type: 'chat_message', text: RAW, timestamp: T, eventId: 'e1', source: 'web' },
    { userId: 'ann', type: 'page_view', properties: { url: '/p/1' }, timestamp: T + 1000, source: 'web' },
    { userId: 'ann', type: 'support_ticket', text: 'my package never arrived', timestamp: T + 2000, source: 'zendesk' },
    { userId: 'ann', type: 'purchase', properties: { product_id: 'p1', price: 20 }, timestamp: T + 5 * DAY, source: 'ios' },
    { userId: 'bob', type: 'chat_message', text: 'I am a vegan chef', timestamp: T },
  ]);
  const ann = (await api.store.users.require('ann')).id;
  const bob = (await api.store.users.require('bob')).id;
  const ev = r.results[0]!.status === 'accepted' ? (r.results[0] as { id: number }).id : 0;
  const t = (userId: number, key: string, value: string | number | boolean, kind: TraitKind, confidence: number, validFrom = 1) =>
    insertTrait(api.db, {
      userId,
      key,
      value,
      kind,
      confidence,
      evidence: kind === 'semantic' ? [{ eventId: ev, quote: 'I love hiking' }] : [],
      producer: 'test',
      version: '1',
      validFrom,
    });
  t(ann, 'interest', 'hiking', 'semantic', 0.9);
  t(ann, 'pet', 'cat', 'semantic', 0.5);
  t(ann, 'preferred_channel', 'email', 'semantic', 0.8);
  t(ann, 'support_issue', 'late_delivery', 'semantic', 0.9);
  t(ann, 'brand_sentiment', 'negative', 'semantic', 0.8);
  t(ann, 'purchase_count', 1, 'computed', 1);
  t(ann, 'monetary_total', 20, 'computed', 1);
  t(ann, 'preferred_time_of_day', 'evening', 'computed', 1);
  t(ann, 'will_purchase', true, 'predicted', 0.81);
  t(ann, 'churn_90d', false, 'predicted', 0.9);
  t(ann, 'fact:reads_books', 'reads about 20 books a year', FACT, 0.8, 2);
  t(ann, 'fact:package', 'had a package that never arrived', FACT, 0.9, 3);
  t(ann, 'fact:church', 'goes to church every sunday', FACT, 0.9, 4);
  t(bob, 'diet', 'vegan', 'semantic', 0.9);
  t(bob, 'occupation', 'chef', 'semantic', 0.9);
  bumpProfileVersion(api.db, ann, Date.now());
}

const paragraphsOf = (s: string) => s.split('\n\n');
/** Support history: never in a marketing summary or its facts. */
const SUPPORT_WORDS = ['late delivery', 'late_delivery', 'support', 'negative', 'never arrived', 'zendesk', 'tone'];

describe('template summaries (no LLM)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = createTestApi();
    await seed(api);
  });
  afterAll(() => api.cleanup());

  it('support: open problems first, then recent activity, then who they are; every fact and nothing the profile lacks', async () => {
    const r = await api.request('GET', '/v1/users/ann/summary?audience=support');
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ userId: 'ann', audience: 'support', generator: 'template.v3', cached: false, profileVersion: 1 });
    const s: string = r.body.summary;
    const [problems, recent, about, predictions] = paragraphsOf(s);
    expect(paragraphsOf(s)).toHaveLength(4);
    expect(problems).toBe('Open support topics: late delivery. Their tone towards us is negative. They told us: had a package that never arrived; reads about 20 books a year.');
    expect(recent).toMatch(/^Lifecycle stage: lapsing \(last active 40 days ago; lapsing means last active 31 to 90 days ago\)\./);
    expect(recent).toContain('Recent activity: 4 events (1 chat message, 1 page view, 1 purchase, 1 support ticket)');
    expect(recent).toContain('Purchases and activity: 1 purchase and 20 spent in total.');
    expect(recent).toContain('Their last 4 events came through web 50%, ios 25% and zendesk 25%.');
    expect(about).toContain('Declared: country: DE and plan: pro.');
    expect(about).toContain('they are into hiking and prefer to be contacted by email');
    expect(about).toMatch(/Probably, they have a cat/);
    expect(predictions).toBe('Models predict that churn 90d is false (90% probability of false) and will purchase is true (81% probability of true).');
    // no PII, no raw text, no other user, no sensitive fact
    for (const v of ['ann@example.com', 'hiker@example.com', 'alps', 'vegan', 'chef', 'FR', 'church']) expect(s).not.toContain(v);
    expect(JSON.stringify(r.body.facts)).not.toContain('church');
    expect(ungroundedTerms(s, r.body.facts)).toEqual([]);
    const facts = await profileFacts(api.store, await api.store.users.require('ann'), 'support');
    expect(r.body.facts).toEqual(facts.facts);
    expect(templateSummary({ profileVersion: 0, facts: [] }, 'support')).toMatch(/not enough data/);
    const again = await api.request('GET', '/v1/users/ann/summary');
    expect(again.body.cached).toBe(true);
  });

  it('marketing: interests and life stage, preferences and habits, lifecycle and value, propensities; no support history', async () => {
    const r = await api.request('GET', '/v1/users/ann/summary?audience=marketing');
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ audience: 'marketing', generator: 'template.v3' });
    const s: string = r.body.summary;
    const [who, habits, value, propensities] = paragraphsOf(s);
    expect(paragraphsOf(s)).toHaveLength(4);
    expect(who).toBe(
      'From what they wrote, they are into hiking. Probably, they have a cat. Declared: country: DE and plan: pro. About themselves they said: reads about 20 books a year.',
    );
    expect(habits).toBe('They prefer to be contacted by email. Habits: mostly active in the evening. Their last 3 events came through web 67% and ios 33%.');
    expect(value).toMatch(/^Lifecycle stage: lapsing \(last active 40 days ago; lapsing means last active 31 to 90 days ago\)\. Value: 1 purchase and 20 spent in total\./);
    expect(value).toContain('Activity: 3 events (1 chat message, 1 page view, 1 purchase)');
    expect(propensities).toBe('Propensities: models predict that churn 90d is false (90% probability of false) and will purchase is true (81% probability of true).');
    for (const w of SUPPORT_WORDS) {
      expect(s.toLowerCase()).not.toContain(w);
      expect(JSON.stringify(r.body.facts).toLowerCase()).not.toContain(w);
    }
    for (const v of ['ann@example.com', 'church', 'vegan']) expect(s).not.toContain(v);
  });

  it('the lifecycle stage follows the clock: new, active, lapsing, churned', () => {
    const now = 1_800_000_000_000;
    expect(lifecycleStage(now - 10 * DAY, now - 1 * DAY, now)).toBe('new');
    expect(lifecycleStage(now - 100 * DAY, now - 30 * DAY, now)).toBe('active');
    expect(lifecycleStage(now - 100 * DAY, now - 31 * DAY, now)).toBe('lapsing');
    expect(lifecycleStage(now - 100 * DAY, now - 90 * DAY, now)).toBe('lapsing');
    expect(lifecycleStage(now - 400 * DAY, now - 91 * DAY, now)).toBe('churned');
    expect(lifecycleStage(null, null, now)).toBe('unknown');
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
    server.enqueueChat({ type: 'answer', data: { summary: 'The customer has an open late delivery topic.\n\nThey like hiking and may have a cat.', facts: [3, 4, 5] } });
    const r = await api.request('GET', '/v1/users/ann/summary');
    expect(r.status, r.text).toBe(200);
    expect(r.body.generator).toBe('llm:openai:test-model:summary.v2');
    expect(paragraphsOf(r.body.summary)).toEqual(['The customer has an open late delivery topic.', 'They like hiking and may have a cat.']);
    const [p] = prompts();
    expect(p).toContain('interest: hiking');
    expect(p).toContain('support issue: late_delivery');
    expect(p).toContain('model prediction: will purchase = true, probability 81%');
    expect(p).toContain('Open problems');
    for (const bad of ['ann@example.com', 'hiker@example.com', 'alps', RAW, 'vegan', 'chef', 'church']) expect(p).not.toContain(bad);
    const again = await api.request('GET', '/v1/users/ann/summary');
    expect(again.body).toMatchObject({ cached: true, generator: 'llm:openai:test-model:summary.v2' });
    expect(prompts()).toHaveLength(1);
  });

  it('marketing: the prompt asks for the marketing topics and holds no support history', async () => {
    const answer = 'The customer is into hiking.\n\nThey prefer email and are active in the evening.\n\nThey are lapsing; a model gives will purchase true at 81% probability.';
    server.enqueueChat({ type: 'answer', data: { summary: answer, facts: [1, 2] } });
    const r = await api.request('GET', '/v1/users/ann/summary?audience=marketing');
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ generator: 'llm:openai:test-model:summary.v2', summary: answer });
    const [p] = prompts();
    expect(p).toContain('marketing team');
    expect(p).toContain('Propensities');
    expect(p).toContain('lifecycle stage: lapsing');
    expect(p).toContain('reads about 20 books a year');
    for (const w of ['late_delivery', 'support issue', 'brand sentiment', 'never arrived', 'zendesk', 'support ticket']) expect(p).not.toContain(w);
  });

  it('falls back to the template when the answer is not grounded or mentions a sensitive category', async () => {
    const ann = (await api.store.users.require('ann')).id;
    bumpProfileVersion(api.db, ann, Date.now());
    server.enqueueChat({ type: 'answer', data: { summary: 'The customer is 34 years old and likes hiking.', facts: [3] } });
    const r = await api.request('GET', '/v1/users/ann/summary?audience=marketing');
    expect(r.body.generator).toBe('template.v3');
    expect(r.body.fallbackReason).toMatch(/numbers not in the profile: 34/);
    expect(r.body.summary).not.toContain('34');
    expect(paragraphsOf(r.body.summary).length).toBeGreaterThanOrEqual(3);
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
    expect(r.body.generator).toBe('template.v3');
    expect(r.body.fallbackReason).toBe('repeated its instructions');
    const system = String(((server.requests.at(-1)?.body as ChatRequestBody | undefined)?.messages ?? []).find((m) => m.role === 'system')?.content ?? '');
    expect(system.length).toBeGreaterThan(100);
    expect(echoesInstructions(r.body.summary, system)).toBe(false);
  });
});
