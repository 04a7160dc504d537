import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { traitOpSchema, type Signal } from '../../src/core/traits.ts';
import { ingestBatch } from '../../src/ingest/ingest.ts';
import { OpenAIChatModel } from '../../src/providers/openai-chat.ts';
import { meterChat } from '../../src/providers/usage.ts';
import { BUILT_IN_CATALOGUE } from '../../src/traits/catalogue.ts';
import type { Extractor } from '../../src/traits/extractor.ts';
import { LlmExtractor } from '../../src/traits/llm-extractor.ts';
import { locateQuote, planTraitOps } from '../../src/traits/merge.ts';
import { OfflineExtractor } from '../../src/traits/offline.ts';
import { startOpenAIServer, type ChatHandler, type OpenAITestServer } from '../support/openai-server.ts';
import { createTempDb, type TempDb } from '../support/temp-db.ts';

/**
 * One suite for every extractor, as the store suite runs on every backend: signals in, trait
 * operations out, each one grounded in a quote of a signal it was given and accepted by the merge.
 * The LLM extractor runs through the loopback OpenAI-compatible server, whose "model" reads the
 * prompt the extractor really sends and answers from it.
 */

let server: OpenAITestServer;
beforeAll(async () => {
  server = await startOpenAIServer();
});
afterAll(() => server.close());

/** A scripted model: first-person statements in the prompt's signal lines become operations. */
const readingModel: ChatHandler = (body) => {
  const prompt = String(body.messages?.at(-1)?.content ?? '');
  const operations: unknown[] = [];
  for (const m of prompt.matchAll(/- id (\d+) \([a-z_]+\): (".*")$/gm)) {
    const eventId = Number(m[1]);
    const text = JSON.parse(m[2]!) as string;
    const job = /I work as an? (\w+)/.exec(text);
    if (job) operations.push({ op: 'add', key: 'occupation', value: job[1], confidence: 0.9, evidence: [{ eventId, quote: job[0] }] });
    const love = /I love (\w+)/.exec(text);
    if (love) operations.push({ op: 'add', key: 'interest', value: love[1], confidence: 0.8, evidence: [{ eventId, quote: love[0] }] });
  }
  return { type: 'answer', data: { operations }, usage: { prompt_tokens: 200, completion_tokens: 40 } };
};

interface ExtractorCase {
  name: string;
  /** a fresh extractor over fresh state (cache, database) */
  open(): Promise<{ extractor: Extractor; userId: number; close(): void }>;
  /** true when the extractor calls a model (and so answers a repeat from its cache) */
  callsModel: boolean;
}

const offline: ExtractorCase = {
  name: 'offline',
  callsModel: false,
  open: async () => ({ extractor: new OfflineExtractor(BUILT_IN_CATALOGUE), userId: 1, close: () => {} }),
};

const llm: ExtractorCase = {
  name: 'llm (loopback server)',
  callsModel: true,
  async open() {
    const t: TempDb = createTempDb();
    // the cache and the usage rows name the user they belong to (erasure deletes them)
    await ingestBatch(t.store.events, [{ userId: 'u', type: 'page_view', timestamp: 1_780_000_000_000 }]);
    const userId = (await t.store.users.require('u')).id;
    server.reset();
    server.chatHandler = readingModel;
    const chat = meterChat(
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
      }),
      {
        ledger: t.store.llm,
        dailyTokens: 0,
      },
    );
    return { extractor: new LlmExtractor(t.store.llm, chat, BUILT_IN_CATALOGUE), userId, close: () => t.cleanup() };
  },
};

const signal = (eventId: number, text: string): Signal => ({ eventId, type: 'chat_message', text, ts: 1_780_000_000_000 + eventId });

for (const c of [offline, llm]) {
  describe(`extractor contract [${c.name}]`, () => {
    let opened: Awaited<ReturnType<ExtractorCase['open']>>;
    beforeEach(async () => {
      opened = await c.open();
    });
    afterEach(() => opened.close());

    it('names its producer and version', () => {
      expect(opened.extractor.producer).toMatch(/\S/);
      expect(opened.extractor.version).toMatch(/\S/);
    });

    it('turns first-person statements into schema-valid operations, each quoting a signal it was given', async () => {
      const signals = [signal(101, 'I work as a nurse at the city hospital.'), signal(205, 'On weekends I love hiking in the hills.')];
      const r = await opened.extractor.extract(signals, [], { userId: opened.userId });
      expect(r.ops.map((o) => [o.key, o.value]).sort()).toEqual([
        ['interest', 'hiking'],
        ['occupation', 'nurse'],
      ]);
      const texts = new Map(signals.map((s) => [s.eventId, s.text]));
      for (const op of r.ops) {
        expect(traitOpSchema.safeParse(op).success).toBe(true);
        expect(BUILT_IN_CATALOGUE.get(op.key)).toBeDefined();
        for (const ev of op.evidence) {
          expect(texts.has(ev.eventId)).toBe(true);
          expect(locateQuote(texts.get(ev.eventId)!, ev.quote)).not.toBeNull();
        }
      }
      // the merge accepts every one of them
      const plan = planTraitOps([], {
        userId: 1,
        ops: r.ops,
        signals: texts,
        catalogue: BUILT_IN_CATALOGUE,
        producer: opened.extractor.producer,
        version: opened.extractor.version,
        now: 1,
      });
      expect(plan.result.rejected).toEqual({});
      expect(plan.result.added).toBe(2);
    });

    it('finds nothing in signals that state nothing about the speaker', async () => {
      const r = await opened.extractor.extract([signal(1, 'what time does the store open?'), signal(2, 'thanks, bye')], [], { userId: opened.userId });
      expect(r.ops).toEqual([]);
    });

    it('accounts for its model calls; the same signals again give the same operations, a model extractor from its cache', async () => {
      const signals = [signal(7, 'I love chess')];
      const first = await opened.extractor.extract(signals, [], { userId: opened.userId });
      const again = await opened.extractor.extract(signals, [], { userId: opened.userId });
      expect(again.ops).toEqual(first.ops);
      expect(first.calls).toBe(c.callsModel ? 1 : 0);
      expect(again.calls).toBe(0);
      expect([again.promptTokens, again.completionTokens]).toEqual([0, 0]);
      if (c.callsModel) expect(first.promptTokens + first.completionTokens).toBe(240);
      else expect(first.promptTokens + first.completionTokens).toBe(0);
    });
  });
}
