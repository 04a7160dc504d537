import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.ts';
import { llmBudgetStatus } from '../../src/providers/budget.ts';
import { pipelineFor } from '../support/runtime.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { startOpenAIServer, type ChatHandler, type OpenAITestServer } from '../support/openai-server.ts';

let llm: OpenAITestServer;
let api: TestApi;
beforeAll(async () => {
  llm = await startOpenAIServer();
});
afterAll(() => llm.close());
beforeEach(() => {
  llm.reset();
  api = createTestApi();
});
afterEach(() => api.cleanup());

/** Answers every extraction with one grounded op per "I love X" signal. */
const healthy: ChatHandler = (body) => {
  const prompt = String(body.messages?.at(-1)?.content ?? '');
  const ops = [...prompt.matchAll(/id (\d+) \([a-z_]+\): "I love (\w+)/g)].map((m) => ({
    op: 'add',
    key: 'interest',
    value: m[2]!,
    confidence: 0.9,
    evidence: [{ eventId: Number(m[1]), quote: `I love ${m[2]}` }],
  }));
  return { type: 'answer', data: { operations: ops }, usage: { prompt_tokens: 400, completion_tokens: 100 } };
};

const USERS = Array.from({ length: 8 }, (_, i) => `user${i}`);
const HOBBIES = ['hiking', 'cooking', 'photography', 'chess', 'gardening', 'cycling', 'swimming', 'painting'];
async function ingest() {
  const r = await api.request('POST', '/v1/events', {
    key: api.keys['events:write'],
    json: USERS.map((u, i) => ({ userId: u, type: 'chat_message', text: `I love ${HOBBIES[i]}`, eventId: `${u}-1` })),
  });
  expect(r.body.accepted).toBe(USERS.length);
}
const jobsBy = () =>
  Object.fromEntries((api.db.sqlite.prepare('SELECT status, count(*) AS n FROM jobs GROUP BY status').all() as { status: string; n: number }[]).map((r) => [r.status, r.n]));
const interests = () => (api.db.sqlite.prepare("SELECT count(*) AS n FROM traits WHERE key = 'interest' AND producer = 'openai:test-model'").get() as { n: number }).n;

const config = (env: Record<string, string> = {}) =>
  loadConfig({
    OPENAI_BASE_URL: llm.baseURL,
    OPENAI_CHAT_MODEL: 'test-model',
    OPENAI_EMBEDDING_MODEL: 'test-embedding',
    OPENAI_MAX_RETRIES: '1',
    OPENAI_RETRY_BASE_MS: '1',
    OPENAI_RETRY_MAX_MS: '5',
    OPENAI_TIMEOUT_MS: '1000',
    OPENAI_BREAKER_THRESHOLD: '3',
    OPENAI_BREAKER_COOLDOWN_MS: '100',
    ...env,
  });

describe('LLM outage', () => {
  it('the endpoint answers 503s and drops connections for a while: jobs wait (none parked), then all complete', async () => {
    await ingest();
    let down = true;
    llm.chatHandler = (body, req) => (down ? (req.at % 2 ? { type: 'status', status: 503 } : { type: 'reset' }) : healthy(body, req));
    const worker = pipelineFor(api.db, config()).createWorker({ baseDelayMs: 5, maxDelayMs: 50, maxAttempts: 3, pollMs: 10 });
    // Far more rounds than maxAttempts: before the fix an open circuit breaker parked every job.
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      await worker.runOnce();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(llm.chatRequests().length).toBeGreaterThan(3);
    expect(jobsBy().parked ?? 0).toBe(0);
    expect(jobsBy().done ?? 0).toBe(0);
    down = false;
    worker.start();
    const deadline = Date.now() + 10_000;
    while ((jobsBy().done ?? 0) < USERS.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await worker.stop();
    expect(jobsBy()).toEqual({ done: USERS.length });
    expect(interests()).toBe(USERS.length);
  }, 30_000);

  it('the endpoint is closed (connection refused), then comes back: every job completes', async () => {
    await ingest();
    const dead = await startOpenAIServer();
    const deadURL = dead.baseURL;
    await dead.close();
    // Same database and jobs; first a pipeline pointed at the closed port, then at the live one.
    const w1 = pipelineFor(api.db, config({ OPENAI_BASE_URL: deadURL })).createWorker({ baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 2 });
    for (let i = 0; i < 10; i++) {
      await w1.runOnce();
      api.db.sqlite.prepare("UPDATE jobs SET run_after = 0 WHERE status = 'pending'").run();
    }
    expect(jobsBy()).toEqual({ pending: USERS.length });
    expect((api.db.sqlite.prepare('SELECT max(attempts) AS n FROM jobs').get() as { n: number }).n).toBeLessThanOrEqual(1);
    llm.chatHandler = healthy;
    api.db.sqlite.prepare("UPDATE jobs SET run_after = 0 WHERE status = 'pending'").run();
    const t = await pipelineFor(api.db, config()).createWorker({ baseDelayMs: 5 }).drain();
    expect(t.done).toBe(USERS.length);
    expect(interests()).toBe(USERS.length);
  });
});

describe('daily LLM token budget', () => {
  it('when spent, jobs wait until the UTC reset (not parked, attempts kept), /v1/stats says paused; the next day they complete', async () => {
    api.cleanup();
    api = createTestApi({ TRAITLENS_LLM_DAILY_TOKENS: '1000' });
    await ingest();
    llm.chatHandler = healthy;
    // 500 tokens per call: a budget of 1,000 lets two users through today.
    const pipeline = pipelineFor(api.db, config({ TRAITLENS_LLM_DAILY_TOKENS: '1000', OPENAI_CONCURRENCY: '1' }));
    const worker = pipeline.createWorker({ concurrency: 1, maxAttempts: 2 });
    for (let i = 0; i < 12; i++) await worker.runOnce();
    expect(llm.chatRequests()).toHaveLength(2);
    expect(interests()).toBe(2);
    const jobs = api.db.sqlite.prepare("SELECT status, attempts, run_after, last_error FROM jobs WHERE status <> 'done'").all() as {
      status: string;
      attempts: number;
      run_after: number;
      last_error: string;
    }[];
    expect(jobs).toHaveLength(USERS.length - 2);
    const reset = Math.floor(Date.now() / 86_400_000) * 86_400_000 + 86_400_000;
    for (const j of jobs) {
      expect(j.status).toBe('pending');
      expect(j.attempts).toBe(0);
      expect(j.run_after).toBeGreaterThanOrEqual(reset);
      expect(j.last_error).toMatch(/budget/);
    }
    const stats = (await api.request('GET', '/v1/stats')).body;
    expect(stats.llmBudget).toEqual({ dailyTokens: 1000, usedToday: 1000, remaining: 0, paused: true, resetsAt: new Date(reset).toISOString() });
    expect(stats.jobs).toMatchObject({ pending: USERS.length - 2, parked: 0 });
    expect((await llmBudgetStatus(api.store.llm, 0)).paused).toBe(false);
    // The next day: move today's usage into yesterday and the waiting jobs' time forward.
    api.db.sqlite.prepare('UPDATE llm_calls SET at = at - 86400000').run();
    api.db.sqlite.prepare("UPDATE jobs SET run_after = 0 WHERE status = 'pending'").run();
    for (let i = 0; i < 12 && interests() < USERS.length; i++) await worker.runOnce();
    // 1,000 more tokens: two more users. Nothing is lost, only paced.
    expect(interests()).toBe(4);
    expect(jobsBy().parked ?? 0).toBe(0);
  });
});

describe('every LLM operation goes through the one metered chat model', () => {
  const apiEnv = (env: Record<string, string> = {}) => ({
    OPENAI_BASE_URL: llm.baseURL,
    OPENAI_CHAT_MODEL: 'test-model',
    OPENAI_EMBEDDING_MODEL: 'test-embedding',
    OPENAI_MAX_RETRIES: '0',
    OPENAI_TIMEOUT_MS: '1000',
    ...env,
  });
  const usage = async () => Object.fromEntries((await api.store.stats.llmUsage()).calls.map((c) => [`${c.purpose}:${c.status}`, Number(c.n)]));
  const compile = (description: string) => api.request('POST', '/v1/segments', { key: api.keys['segments:write'], json: { description } });
  const summary = (user: string) => api.request('GET', `/v1/users/${user}/summary`, { key: api.keys['summaries:read'] });

  it('summaries and segment compiling spend the daily budget: once it is spent, a compile is refused (503) and a summary falls back to the template without a call', async () => {
    api.cleanup();
    api = createTestApi(apiEnv({ TRAITLENS_LLM_DAILY_TOKENS: '1000' }));
    await ingest();
    // One compile answered with 1,000 tokens spends the whole day's budget.
    llm.enqueueChat({
      type: 'answer',
      data: { filter: { trait: { key: 'interest', value: 'hiking' } }, explanation: 'people who like hiking' },
      usage: { prompt_tokens: 900, completion_tokens: 100 },
    });
    const first = await compile('people who like hiking');
    expect(first.status).toBe(200);
    expect(first.body.mode).toBe('llm');
    const refused = await compile('people who like chess');
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('llm_budget_exhausted');
    // retry when the budget resets (next UTC midnight)
    const untilReset = Math.floor(Date.now() / 86_400_000) * 86_400_000 + 86_400_000 - Date.now();
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(Math.floor(untilReset / 1000) - 60);
    const s = await summary('user0');
    expect(s.status).toBe(200);
    expect(s.body.generator).not.toMatch(/^llm:/);
    expect(s.body.fallbackReason).toMatch(/LlmBudgetExhausted/);
    expect(llm.chatRequests()).toHaveLength(1);
    expect(await usage()).toEqual({ 'segment_filter:ok': 1 });
    expect((await api.request('GET', '/v1/stats')).body.llmBudget).toMatchObject({ usedToday: 1000, remaining: 0, paused: true });
  });

  it('a summary within the budget is made by the model and its tokens count against the budget', async () => {
    api.cleanup();
    api = createTestApi(apiEnv({ TRAITLENS_LLM_DAILY_TOKENS: '1000' }));
    await ingest();
    llm.enqueueChat({ type: 'answer', data: { summary: 'An active customer.', facts: [1] }, usage: { prompt_tokens: 700, completion_tokens: 300 } });
    const s = await summary('user0');
    expect(s.body.generator).toMatch(/^llm:/);
    expect(await usage()).toEqual({ 'summary:ok': 1 });
    // The budget is spent by the summary: extraction waits for the reset like everything else.
    expect((await compile('people who like chess')).status).toBe(503);
    expect(llm.chatRequests()).toHaveLength(1);
  });

  it('failed calls are recorded for every operation (summary, segment compile, extraction), with the tokens they spent', async () => {
    api.cleanup();
    api = createTestApi(apiEnv());
    await ingest();
    llm.enqueueChat({ type: 'status', status: 500 });
    const s = await summary('user0');
    expect(s.status).toBe(200);
    expect(s.body.fallbackReason).toMatch(/failed/);
    llm.enqueueChat({ type: 'status', status: 500 });
    expect((await compile('people who like hiking')).status).toBeGreaterThanOrEqual(500);
    // A malformed answer, re-asked once and malformed again: both attempts' tokens were spent.
    llm.enqueueChat(
      { type: 'content', text: 'not json', usage: { prompt_tokens: 50, completion_tokens: 5 } },
      { type: 'content', text: 'still not json', usage: { prompt_tokens: 60, completion_tokens: 6 } },
    );
    const pipeline = pipelineFor(api.db, config());
    await expect(pipeline.refreshUser((await api.store.users.require('user0')).id)).rejects.toThrow();
    expect(await usage()).toEqual({ 'summary:error': 1, 'segment_filter:error': 1, 'extract_traits:error': 1 });
    expect(await api.store.llm.tokensUsedSince(0)).toBe(121);
  });
});
