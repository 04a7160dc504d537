import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LlmBudgetExhaustedError } from '../../src/providers/budget.ts';
import { ProviderBadResponseError, ProviderServerError } from '../../src/providers/errors.ts';
import { OpenAIChatModel } from '../../src/providers/openai-chat.ts';
import type { ChatModel } from '../../src/providers/types.ts';
import { wrapProviders } from '../../src/providers/usage.ts';
import { OfflineEmbedder } from '../../src/providers/offline-embedder.ts';
import { startOpenAIServer, type OpenAITestServer } from '../support/openai-server.ts';
import { createTempDb, type TempDb } from '../support/temp-db.ts';

let server: OpenAITestServer;
let t: TempDb;
beforeAll(async () => {
  server = await startOpenAIServer();
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  t = createTempDb();
});
afterEach(() => t.cleanup());

const DAY = 86_400_000;
const NOON = 20_000 * DAY + DAY / 2;
const schema = z.object({ ok: z.boolean() });
const chatModel = () =>
  new OpenAIChatModel({
    baseURL: server.baseURL,
    model: 'test-model',
    timeoutMs: 2000,
    method: 'jsonSchema',
    tokensPerMinute: 0,
    maxRetries: 0,
    concurrency: 2,
    breakerThreshold: 50,
    breakerCooldownMs: 1000,
  });
const embedder = new OfflineEmbedder({ cacheDir: '/nonexistent-never-loaded' });
const ask = (chat: ChatModel, operation = 'summary') =>
  chat.extractStructured({ system: 's', user: 'u', schema, schemaName: 'answer', usage: { operation, promptVersion: 'p.v1' } });
const usage = async () => (await t.store.stats.llmUsage()).calls.map((c) => [c.purpose, c.status, Number(c.n)]);

describe('wrapProviders: the one place chat calls are budgeted and recorded', () => {
  it('refuses calls once the day’s tokens are spent, and lets them through again after the UTC reset', async () => {
    let now = NOON;
    const { chat } = wrapProviders({ chat: chatModel(), embedder }, { ledger: t.store.llm, dailyTokens: 500, clock: () => now });
    server.chatHandler = () => ({ type: 'answer', data: { ok: true }, usage: { prompt_tokens: 400, completion_tokens: 100 } });
    expect((await ask(chat!)).data).toEqual({ ok: true });
    const err = await ask(chat!).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmBudgetExhaustedError);
    expect(err).toMatchObject({ deferred: true, retryAfterMs: DAY / 2, resumesAt: NOON + DAY / 2 });
    expect(server.chatRequests()).toHaveLength(1);
    now = NOON + DAY / 2; // midnight UTC
    await ask(chat!);
    expect(server.chatRequests()).toHaveLength(2);
    expect(await t.store.llm.tokensUsedSince(NOON + DAY / 2)).toBe(500);
  });

  it('records failures with their error and the tokens they spent, and rethrows the provider’s error', async () => {
    const { chat } = wrapProviders({ chat: chatModel(), embedder }, { ledger: t.store.llm, dailyTokens: 0 });
    server.enqueueChat({ type: 'status', status: 503 });
    await expect(ask(chat!, 'segment_filter')).rejects.toBeInstanceOf(ProviderServerError);
    // a malformed answer, re-asked once: both attempts' tokens were spent
    server.enqueueChat(
      { type: 'content', text: 'nope', usage: { prompt_tokens: 30, completion_tokens: 3 } },
      { type: 'content', text: 'nope', usage: { prompt_tokens: 40, completion_tokens: 4 } },
    );
    await expect(ask(chat!, 'summary')).rejects.toBeInstanceOf(ProviderBadResponseError);
    expect(await usage()).toEqual([
      ['segment_filter', 'error', 1],
      ['summary', 'error', 1],
    ]);
    expect(await t.store.llm.tokensUsedSince(0)).toBe(77);
  });

  it('a ledger that fails does not hide the provider’s error; wrapping twice records once', async () => {
    // a database that is gone: recording the failure fails too
    const gone = createTempDb();
    gone.cleanup();
    const { chat } = wrapProviders({ chat: chatModel(), embedder }, { ledger: gone.store.llm, dailyTokens: 0 });
    await expect(
      gone.store.llm.recordCall({ at: 1, userId: null, operation: 'x', model: 'm', promptVersion: 'v', promptTokens: 0, completionTokens: 0, latencyMs: 0, status: 'ok' }),
    ).rejects.toThrow();
    server.enqueueChat({ type: 'status', status: 503 });
    await expect(ask(chat!)).rejects.toBeInstanceOf(ProviderServerError);

    const once = wrapProviders({ chat: chatModel(), embedder }, { ledger: t.store.llm, dailyTokens: 0 });
    const twice = wrapProviders(once, { ledger: t.store.llm, dailyTokens: 0 });
    expect(twice.chat).toBe(once.chat);
    server.chatHandler = () => ({ type: 'answer', data: { ok: true }, usage: { prompt_tokens: 1, completion_tokens: 1 } });
    await ask(twice.chat!);
    expect(await usage()).toEqual([['summary', 'ok', 1]]);
    expect(wrapProviders({ chat: null, embedder }, { ledger: t.store.llm, dailyTokens: 0 }).chat).toBeNull();
  });
});
