import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.ts';
import { consentSql } from '../../src/db/stores/users.ts';
import { pipelineFor } from '../support/runtime.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { startOpenAIServer, type OpenAITestServer } from '../support/openai-server.ts';

let llm: OpenAITestServer;
let api: TestApi;
beforeAll(async () => {
  llm = await startOpenAIServer();
  // The model answers anything with one grounded op when the text has "I love hiking".
  llm.chatHandler = (body) => {
    const prompt = String(body.messages?.at(-1)?.content ?? '');
    const id = Number(/id (\d+) \([a-z_]+\): "I love hiking/.exec(prompt)?.[1] ?? 0);
    return {
      type: 'answer',
      data: { operations: id ? [{ op: 'add', key: 'interest', value: 'hiking', confidence: 0.9, evidence: [{ eventId: id, quote: 'I love hiking' }] }] : [] },
    };
  };
});
afterAll(() => llm.close());
beforeEach(() => {
  llm.requests.length = 0;
  api = createTestApi();
});
afterEach(() => api.cleanup());

const pipelineWith = (env: Record<string, string> = {}) =>
  pipelineFor(api.db, loadConfig({ OPENAI_BASE_URL: llm.baseURL, OPENAI_CHAT_MODEL: 'test-model', OPENAI_EMBEDDING_MODEL: 'test-embedding', OPENAI_MAX_RETRIES: '0', ...env }));

async function seed(user: string, consent?: Record<string, boolean>) {
  if (consent) await api.request('PUT', `/v1/users/${user}/attributes`, { key: api.keys['events:write'], json: { attributes: {}, consent } });
  const r = await api.request('POST', '/v1/events', {
    key: api.keys['events:write'],
    json: [
      { userId: user, type: 'chat_message', text: `I love hiking, says ${user}marker. I work as a nurse.`, eventId: `${user}-1` },
      { userId: user, type: 'search', text: `trail shoes ${user}marker`, eventId: `${user}-2` },
    ],
  });
  expect(r.body.accepted).toBe(2);
}
const idOf = (u: string) => (api.db.sqlite.prepare('SELECT id FROM users WHERE external_id = ?').get(u) as { id: number }).id;
const traitsOf = (u: string) =>
  api.db.sqlite.prepare('SELECT key, kind, producer FROM traits WHERE user_id = ? AND valid_to IS NULL').all(idOf(u)) as { key: string; kind: string; producer: string }[];
const sent = () => llm.requests.map((r) => r.rawBody).join('\n');

describe('consent end to end (LLM configured, loopback server recording every request)', () => {
  it('text of a user without llm_processing never reaches the model (chat or embeddings); without profiling nothing is derived', async () => {
    await seed('full');
    await seed('nollm', { llm_processing: false });
    await seed('noprof', { profiling: false });
    const t = await pipelineWith().createWorker({ baseDelayMs: 0 }).drain();
    expect(t.parked).toBe(0);
    expect(sent()).toContain('fullmarker');
    expect(llm.chatRequests().length).toBeGreaterThan(0);
    expect(llm.embeddingRequests().length).toBeGreaterThan(0);
    expect(sent()).not.toContain('nollmmarker');
    expect(sent()).not.toContain('noprofmarker');

    expect(traitsOf('full').find((x) => x.key === 'interest')?.producer).toBe('openai:test-model');
    // Offline extraction still profiles a user who allowed profiling but not LLM processing.
    expect(traitsOf('nollm').length).toBeGreaterThan(0);
    // (computed behaviour traits need no model; semantic ones must come from the offline extractor)
    expect(
      traitsOf('nollm')
        .filter((x) => x.kind === 'semantic')
        .every((x) => x.producer === 'offline-extractor'),
    ).toBe(true);
    expect(traitsOf('noprof').filter((x) => x.kind !== 'declared')).toEqual([]);
    const emb = (u: string) => api.db.sqlite.prepare('SELECT DISTINCT embedder_id AS e FROM signal_embeddings WHERE user_id = ?').all(idOf(u)) as { e: string }[];
    expect(emb('full').map((r) => r.e)).toEqual(['openai:test-embedding']);
    expect(emb('nollm').map((r) => r.e)[0]).toMatch(/^offline:/);
    expect(emb('noprof')).toEqual([]);
    expect(api.db.sqlite.prepare('SELECT count(*) AS n FROM llm_calls WHERE user_id IN (?, ?)').get(idOf('nollm'), idOf('noprof'))).toEqual({ n: 0 });
  });

  it('with TRAITLENS_DEFAULT_CONSENT=none, an undeclared user gets no LLM call and no traits; opting in later enables them', async () => {
    await seed('quiet');
    const p = pipelineWith({ TRAITLENS_DEFAULT_CONSENT: 'none' });
    await p.createWorker({ baseDelayMs: 0 }).drain();
    expect(llm.requests).toHaveLength(0);
    expect(traitsOf('quiet').filter((x) => x.kind !== 'declared')).toEqual([]);
    expect(loadConfig({ TRAITLENS_DEFAULT_CONSENT: 'none' }).TRAITLENS_DEFAULT_CONSENT).toEqual([]);
    await api.request('PUT', '/v1/users/quiet/attributes', { key: api.keys['events:write'], json: { attributes: {}, consent: { profiling: true, llm_processing: true } } });
    await api.request('POST', '/v1/users/quiet/refresh', { key: api.keys['events:write'], json: {} });
    await p.createWorker({ baseDelayMs: 0 }).drain();
    expect(sent()).toContain('quietmarker');
    expect(traitsOf('quiet').some((x) => x.key === 'interest')).toBe(true);
  });

  it('withdrawing llm_processing stops model calls for new signals', async () => {
    await seed('changer');
    const p = pipelineWith();
    await p.createWorker({ baseDelayMs: 0 }).drain();
    const before = llm.requests.length;
    await api.request('PUT', '/v1/users/changer/attributes', { key: api.keys['events:write'], json: { attributes: {}, consent: { llm_processing: false } } });
    await api.request('POST', '/v1/events', { key: api.keys['events:write'], json: [{ userId: 'changer', type: 'chat_message', text: 'I love hiking secretmarker2' }] });
    await p.createWorker({ baseDelayMs: 0 }).drain();
    expect(
      llm.requests
        .slice(before)
        .map((r) => r.rawBody)
        .join(''),
    ).not.toContain('secretmarker2');
  });
});

describe('marketing consent helpers (for summaries with audience=marketing, segments, lookalikes)', () => {
  it('filterByConsent / hasConsent / consentOf / consentSql honour declared flags over the default', async () => {
    await seed('optin', { marketing: true });
    await seed('optout', { marketing: false });
    await seed('silent');
    const ids = ['optin', 'optout', 'silent'].map(idOf);
    const defaults = ['profiling', 'llm_processing'] as const;
    const users = api.store.users;
    expect(await users.filterByConsent([...ids, 999_999], 'marketing', defaults)).toEqual([ids[0]]);
    expect(await users.filterByConsent(ids, 'marketing', ['marketing'])).toEqual([ids[0], ids[2]]);
    // Input order is kept.
    expect(await users.filterByConsent([ids[2]!, ids[0]!], 'marketing', ['marketing'])).toEqual([ids[2], ids[0]]);
    expect(await users.hasConsent(ids[0]!, 'marketing', defaults)).toBe(true);
    expect(await users.hasConsent(ids[2]!, 'marketing', defaults)).toBe(false);
    expect(await users.hasConsent(999_999, 'profiling', defaults)).toBe(false);
    expect(await users.consentOf(ids[1]!, ['marketing'])).toEqual({ profiling: false, llm_processing: false, marketing: false });
    expect(await users.consentOf(ids[2]!, defaults)).toEqual({ profiling: true, llm_processing: true, marketing: false });
    // The fragment stores use to select many users at once agrees with the helpers.
    const q = async (d: readonly ('profiling' | 'llm_processing' | 'marketing')[]) =>
      (await api.store.exec.all<{ id: string }>(`SELECT u.external_id AS id FROM users u WHERE ${consentSql(api.store.dialect, 'u', 'marketing', d)} ORDER BY u.id`)).map(
        (r) => r.id,
      );
    expect(await q(defaults)).toEqual(['optin']);
    expect(await q(['marketing'])).toEqual(['optin', 'silent']);
    expect(() => consentSql(api.store.dialect, 'u; DROP TABLE users', 'marketing', defaults)).toThrow();
  });
});
