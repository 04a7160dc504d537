import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.ts';
import type { Store } from '../../src/db/store.ts';
import { ingestBatch } from '../../src/ingest/ingest.ts';
import { profileFacts } from '../../src/profile/summary.ts';
import { approxTokens, capFacts, EXTRACT_FACT_LIMITS, SUMMARY_FACT_LIMITS } from '../../src/traits/fact-context.ts';
import { describeStores } from '../support/backends.ts';
import { startOpenAIServer, type ChatRequestBody, type OpenAITestServer } from '../support/openai-server.ts';
import { pipelineFor } from '../support/runtime.ts';

/** Issue #15: facts in an LLM prompt are capped by count and tokens, most relevant and most recent first. */
describe('capFacts', () => {
  type F = { s: string; at: number; c: number };
  const line = (f: F) => f.s;
  const facts: F[] = Array.from({ length: 30 }, (_, i) => ({ s: `fact number ${i} about nothing in particular`, at: i, c: 0.7 }));

  it('keeps at most maxFacts, the newest first, and says how many it dropped', () => {
    const r = capFacts(facts, { limits: { maxFacts: 5, maxTokens: 10_000 }, line, recency: (f) => f.at });
    expect(r.kept.map((f) => f.at)).toEqual([29, 28, 27, 26, 25]);
    expect(r.dropped).toBe(25);
  });

  it('keeps within the token budget, skipping a fact that does not fit for a shorter one after it', () => {
    const long = { s: 'x'.repeat(400), at: 100, c: 0.9 };
    const r = capFacts([long, ...facts], { limits: { maxFacts: 50, maxTokens: 40 }, line, recency: (f) => f.at });
    expect(r.kept).not.toContain(long);
    expect(r.tokens).toBeLessThanOrEqual(40);
    expect(r.kept.reduce((a, f) => a + approxTokens(f.s), 0)).toBe(r.tokens);
    expect(r.kept.length).toBe(Math.floor(40 / approxTokens(facts[0]!.s)));
  });

  it('ranks facts sharing words with the text at hand before newer ones; confidence breaks ties; otherwise the caller order holds', () => {
    const old = { s: 'bakes sourdough bread every weekend', at: 0, c: 0.5 };
    const r = capFacts([...facts, old], { limits: { maxFacts: 3, maxTokens: 1000 }, line, query: 'my sourdough starter died again', recency: (f) => f.at });
    expect(r.kept[0]).toBe(old);
    expect(r.kept.slice(1).map((f) => f.at)).toEqual([29, 28]);
    const tie = [
      { s: 'a', at: 1, c: 0.5 },
      { s: 'b', at: 1, c: 0.9 },
    ];
    expect(capFacts(tie, { limits: { maxFacts: 1, maxTokens: 100 }, line, recency: (f) => f.at, confidence: (f) => f.c }).kept[0]!.s).toBe('b');
    expect(capFacts(tie, { limits: { maxFacts: 1, maxTokens: 100 }, line }).kept[0]!.s).toBe('a');
  });
});

let server: OpenAITestServer;
beforeAll(async () => {
  server = await startOpenAIServer();
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  server.chatHandler = undefined;
});

const config = () =>
  loadConfig({
    OPENAI_BASE_URL: server.baseURL,
    OPENAI_CHAT_MODEL: 'test-model',
    OPENAI_EMBEDDING_MODEL: 'test-embedding',
    OPENAI_RETRY_BASE_MS: '1',
    OPENAI_RETRY_MAX_MS: '5',
    OPENAI_MAX_RETRIES: '1',
    OPENAI_TIMEOUT_MS: '2000',
  });

/** 60 facts written at times 1..60 (fact 1 oldest), plus the user's typed trait. */
async function manyFacts(store: Store, ref: string): Promise<number> {
  const userId = (await store.users.setAttributes(ref, { country: 'DE' }, undefined, 1)).id;
  for (let i = 1; i <= 60; i++) {
    const statement = i === 1 ? 'bakes sourdough bread every weekend' : `collected stamp series number ${i} as a child`;
    await store.traits.replaceTraits('fact', 'test', [{ userId, key: `fact:f${i}`, value: statement, confidence: 0.7, version: '1' }], { now: i });
  }
  await store.traits.replaceTraits('semantic', 'test', [{ userId, key: 'interest', value: 'hiking', confidence: 0.8, version: '1' }], { now: 1 });
  return userId;
}

describeStores('facts in the LLM context are capped', (ctx) => {
  it('the extractor prompt holds every typed trait and at most 20 facts within 400 tokens: the related one and the newest', async () => {
    const userId = await manyFacts(ctx.store, 'ann');
    await ingestBatch(ctx.store.events, [{ userId: 'ann', type: 'chat_message', text: 'my sourdough starter died again', timestamp: 1_780_000_000_000 }]);
    let prompt = '';
    server.chatHandler = (body: ChatRequestBody) => {
      prompt = String(body.messages?.at(-1)?.content ?? '');
      return { type: 'answer', data: { operations: [], facts: [] } };
    };
    await pipelineFor(ctx.store, config()).refreshUser(userId);
    const factLines = prompt.split('\n').filter((l) => l.startsWith('- fact:'));
    expect(factLines.length).toBe(EXTRACT_FACT_LIMITS.maxFacts);
    expect(factLines.reduce((a, l) => a + approxTokens(l), 0)).toBeLessThanOrEqual(EXTRACT_FACT_LIMITS.maxTokens);
    expect(prompt).toContain('- interest = "hiking"');
    // the oldest fact is in because it shares words with the message; then the newest (60, 59, …)
    expect(factLines[0]).toContain('fact:f1 = "bakes sourdough bread every weekend"');
    expect(factLines[1]).toContain('fact:f60 =');
    expect(prompt).not.toContain('fact:f2 =');
    expect(prompt).toContain('(40 older or less related facts not shown)');
  });

  it('the summary states at most 5 facts within its token budget', async () => {
    const userId = await manyFacts(ctx.store, 'bob');
    const user = await ctx.store.users.require('bob');
    expect(user.id).toBe(userId);
    const pf = await profileFacts(ctx.store, user, 'support');
    const rows = pf.facts.filter((f) => f.source === 'fact');
    expect(rows.length).toBe(SUMMARY_FACT_LIMITS.maxFacts);
    expect(rows.reduce((a, f) => a + approxTokens(f.text), 0)).toBeLessThanOrEqual(SUMMARY_FACT_LIMITS.maxTokens);
    // support: the newest first
    expect(rows[0]!.key).toBe('fact:f60');
  });
});
