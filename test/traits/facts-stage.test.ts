import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.ts';
import type { Store } from '../../src/db/store.ts';
import { ingestBatch } from '../../src/ingest/ingest.ts';
import type { Pipeline } from '../../src/pipeline/pipeline.ts';
import { describeStores } from '../support/backends.ts';
import { startOpenAIServer, type ChatRequestBody, type OpenAITestServer } from '../support/openai-server.ts';
import { pipelineFor } from '../support/runtime.ts';

/**
 * Facts through the whole trait stage, on every backend: the LLM path (prompt v2, the real openai
 * client to the loopback server) returns typed traits and facts in one answer; the stage filters
 * sensitive facts, types what the catalogue fits, verifies quotes against the redacted text,
 * dedupes rephrasings and supersedes contradictions, in one transaction with the traits.
 */
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

let at = 1_780_000_000_000;
async function say(store: Store, user: string, texts: string[]): Promise<{ userId: number; ids: number[] }> {
  const r = await ingestBatch(
    store.events,
    texts.map((text) => ({ userId: user, type: 'chat_message', text, timestamp: (at += 1000), eventId: `${user}-${at}` })),
  );
  return { userId: (await store.users.require(user)).id, ids: r.results.map((x) => (x.status === 'accepted' ? x.id : -1)) };
}
const fact = (eventId: number, quote: string, statement: string, extra: Record<string, unknown> = {}) => ({
  op: 'add',
  statement,
  topic: null,
  confidence: 0.9,
  evidence: [{ eventId, quote }],
  typed: null,
  ...extra,
});
const answer = (facts: unknown[], operations: unknown[] = []) => ({ type: 'answer' as const, data: { operations, facts } });
const lastUserMessage = (body: ChatRequestBody) => String(body.messages?.at(-1)?.content ?? '');

describeStores('facts through the trait stage (LLM, prompt v2)', (ctx) => {
  let pipeline: Pipeline;
  beforeEach(() => {
    pipeline = pipelineFor(ctx.store, config());
  });

  it('stores verified facts as kind fact rows; merges a rephrasing; types what the catalogue fits; drops unverified, sensitive and malformed ones; PII never leaves', async () => {
    const { userId, ids } = await say(ctx.store, 'ann', [
      'i read twenty books a year, write me at ann@example.com',
      "honestly i've read about 20 books this year",
      'i work as a nurse at the county hospital',
      'i was raised by my grandfather',
      'i have type 2 diabetes and i take insulin',
    ]);
    const [a, b, c, d, e] = ids as [number, number, number, number, number];
    server.enqueueChat(
      answer([
        fact(a, 'i read twenty books a year', 'reads about 20 books a year', { topic: 'reading' }),
        fact(b, "i've read about 20 books this year", 'has read about 20 books this year'),
        fact(c, 'i work as a nurse', 'works as a nurse', { topic: 'occupation', typed: { key: 'occupation', value: 'nurse' } }),
        fact(d, 'i was raised by my grandfather', 'was raised by their grandfather', { typed: { key: 'upbringing', value: 'grandfather' } }),
        fact(d, 'i was raised by my grandmother', 'was raised by their grandmother'),
        fact(e, 'i have type 2 diabetes', 'has type 2 diabetes', { topic: 'health_note' }),
        fact(a, 'ann@example.com', 'can be written to at ann@example.com'),
        fact(a, 'write me at [EMAIL]', 'can be written to'),
        { op: 'add', statement: 'likes books', topic: null, confidence: 0.9, evidence: [], typed: null },
      ]),
    );
    const r = await pipeline.refreshUser(userId);
    expect(r.traits.extractor).toBe('openai:test-model@extract-traits.v2');
    expect(r.traits.facts).toBe(8); // the malformed one is counted apart (invalid_fact)
    expect(r.traits.factsTyped).toBe(1);
    expect(r.traits.factsAdded).toBe(3);
    expect(r.traits.factsReinforced).toBe(1);
    expect(r.traits.droppedSensitive).toBe(1);
    expect(r.traits.rejected).toEqual({ invalid_fact: 1, fact_unverified_evidence: 2 });

    const facts = await ctx.store.traits.current(userId, { kind: 'fact' });
    expect(facts.map((f) => [f.key, f.value]).sort()).toEqual([
      ['fact:can_written', 'can be written to'],
      ['fact:raised_grandfather', 'was raised by their grandfather'],
      ['fact:reading', 'reads about 20 books a year'],
    ]);
    const reading = facts.find((f) => f.key === 'fact:reading')!;
    // One row for two phrasings, both quotes kept; confidence raised by the second piece of evidence.
    expect(reading.evidence).toEqual([
      { eventId: a, quote: 'i read twenty books a year' },
      { eventId: b, quote: "i've read about 20 books this year" },
    ]);
    expect(reading.confidence).toBe(0.99);
    expect(reading).toMatchObject({ kind: 'fact', producer: 'openai:test-model', version: 'extract-traits.v2', validTo: null });
    // The quote stands in the redacted text the model saw, never the raw address.
    expect(facts.find((f) => f.key === 'fact:can_written')!.evidence).toEqual([{ eventId: a, quote: 'write me at [EMAIL]' }]);
    // The typed one became the catalogue trait, not a fact.
    expect((await ctx.store.traits.current(userId, { kind: 'semantic' })).map((t) => [t.key, t.value])).toEqual([['occupation', 'nurse']]);

    const sent = server
      .chatRequests()
      .map((q) => q.rawBody)
      .join('\n');
    expect(sent).not.toContain('ann@example.com');
    expect(sent).toContain('[EMAIL]');
    expect(sent).toContain('"facts"');
    const counters = await ctx.store.stats.counters(['traits_rejected', 'traits_dropped_sensitive']);
    expect(counters).toEqual(
      expect.arrayContaining([
        { metric: 'traits_rejected', key: 'invalid_fact', count: 1 },
        { metric: 'traits_rejected', key: 'fact_unverified_evidence', count: 2 },
        { metric: 'traits_dropped_sensitive', key: 'health', count: 1 },
      ]),
    );
  });

  it('a contradiction on a single-valued topic supersedes the old fact (valid_to, superseded_by); a rephrasing later reinforces; current facts go to the model as context', async () => {
    const first = await say(ctx.store, 'bob', ['i live in ohio with my two cats']);
    server.enqueueChat(
      answer([fact(first.ids[0]!, 'i live in ohio', 'lives in ohio', { topic: 'residence' }), fact(first.ids[0]!, 'my two cats', 'has two cats', { topic: 'pet' })]),
    );
    await pipeline.refreshUser(first.userId);

    const second = await say(ctx.store, 'bob', ['i moved to lisbon last month, the cats came too', 'yes, two cats, both ginger']);
    server.chatHandler = (body) => {
      expect(lastUserMessage(body)).toContain('fact:residence = "lives in ohio"');
      return answer([
        fact(second.ids[0]!, 'i moved to lisbon last month', 'moved to lisbon last month', { topic: 'residence' }),
        fact(second.ids[1]!, 'two cats', 'has 2 cats', { topic: 'pet' }),
      ]);
    };
    const r = await pipeline.refreshUser(first.userId);
    expect([r.traits.factsSuperseded, r.traits.factsReinforced, r.traits.factsAdded]).toEqual([1, 1, 0]);

    const history = await ctx.store.traits.history(first.userId, 'fact:residence');
    expect(history.map((h) => [h.value, h.validTo === null])).toEqual([
      ['moved to lisbon last month', true],
      ['lives in ohio', false],
    ]);
    expect(history[1]!.supersededBy).toBe(history[0]!.id);
    const current = await ctx.store.traits.current(first.userId, { kind: 'fact' });
    expect(current.map((f) => [f.key, f.value, f.evidence.length])).toEqual([
      ['fact:pet', 'has two cats', 2],
      ['fact:residence', 'moved to lisbon last month', 1],
    ]);
  });

  it('retract closes the fact it rephrases; a retract of an unknown fact is rejected and counted', async () => {
    const first = await say(ctx.store, 'cy', ['i play the cello every evening']);
    server.enqueueChat(answer([fact(first.ids[0]!, 'i play the cello', 'plays the cello every evening', { topic: 'music' })]));
    await pipeline.refreshUser(first.userId);
    const second = await say(ctx.store, 'cy', ['i sold my cello, i no longer play the cello every evening']);
    server.enqueueChat(
      answer([
        fact(second.ids[0]!, 'i no longer play the cello every evening', 'plays the cello every evening', { op: 'retract', topic: 'music' }),
        fact(second.ids[0]!, 'i sold my cello', 'owns a harp', { op: 'retract' }),
      ]),
    );
    const r = await pipeline.refreshUser(first.userId);
    expect(r.traits.factsRetracted).toBe(1);
    expect(r.traits.rejected).toEqual({ fact_retract_unknown_value: 1 });
    expect(await ctx.store.traits.current(first.userId, { kind: 'fact' })).toEqual([]);
    const h = await ctx.store.traits.history(first.userId, 'fact:music');
    expect(h.map((x) => [x.value, x.validTo !== null, x.supersededBy])).toEqual([['plays the cello every evening', true, null]]);
  });

  it('offline path: PII is redacted before extraction, so no fact or quote holds an address or number the user wrote', async () => {
    const texts = [
      'i read twenty books a year , email me at ann.lee@example.com',
      'i was raised by my grandfather , call 555-123-4567',
      'i never broke a bone , my card is 4111 1111 1111 1111',
    ];
    const { userId } = await say(ctx.store, 'eve', texts);
    await ctx.store.users.setAttributes('eve', {}, { llm_processing: false });
    const r = await pipeline.refreshUser(userId);
    expect(r.traits.extractor).toMatch(/^offline-extractor@/);
    expect(r.traits.redacted).toBe(3);
    expect(server.chatRequests()).toHaveLength(0);
    const facts = await ctx.store.traits.current(userId, { kind: 'fact' });
    // The offline detector (src/traits/offline-facts.ts) keeps self-disclosures like these.
    expect(facts.length).toBeGreaterThan(0);
    // What the user's words can reach: keys, values and quotes (not ids or timestamps, whose digits
    // can hold "4111" by chance: validFrom 1796594111864 once did).
    const stored = JSON.stringify((await ctx.store.traits.current(userId)).map((t) => [t.key, t.value, t.evidence]));
    for (const raw of ['ann.lee@example.com', '555-123-4567', '4111 1111 1111 1111', '4111']) expect(stored).not.toContain(raw);
    // Quotes were taken from the redacted text: one that carries a placeholder does not occur in what the user wrote.
    const placeholders = facts.flatMap((f) => f.evidence.map((e) => e.quote)).filter((q) => /\[(EMAIL|PHONE|CARD)\]/.test(q));
    for (const q of placeholders) expect(texts.join('\n')).not.toContain(q);
  });

  it('a v1-style answer (operations only) still merges; the same text again makes no call and no new rows', async () => {
    const { userId, ids } = await say(ctx.store, 'dee', ['i love sailing']);
    server.chatHandler = () => ({
      type: 'answer',
      data: { operations: [{ op: 'add', key: 'interest', value: 'sailing', confidence: 0.9, evidence: [{ eventId: ids[0], quote: 'i love sailing' }] }] },
    });
    const r = await pipeline.refreshUser(userId);
    expect(r.traits.added).toBe(1);
    expect(r.traits.facts).toBe(0);
    await ctx.store.traits.forgetSignalsRead(userId);
    const again = await pipeline.refreshUser(userId);
    expect(again.traits.calls).toBe(0);
    expect(server.chatRequests()).toHaveLength(1);
    expect(await ctx.store.traits.history(userId, 'interest')).toHaveLength(1);
  });
});
