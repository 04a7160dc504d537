import { expect, it } from 'vitest';
import type { Store } from '../../../src/db/store.ts';
import type { LlmCall } from '../../../src/db/stores/llm.ts';
import { ingestBatch } from '../../../src/ingest/ingest.ts';
import type { UsageLedger } from '../../../src/providers/usage.ts';
import { describeStores } from '../../support/backends.ts';

async function user(store: Store, ext: string): Promise<number> {
  await ingestBatch(store.events, [{ userId: ext, type: 'page_view', timestamp: 1_780_000_000_000 }]);
  return (await store.users.require(ext)).id;
}

const call = (over: Partial<LlmCall> = {}): LlmCall => ({
  at: 1_000,
  userId: null,
  operation: 'extract_traits',
  model: 'm',
  promptVersion: 'extract-traits.v1',
  promptTokens: 100,
  completionTokens: 20,
  latencyMs: 5,
  status: 'ok',
  ...over,
});

describeStores('llm', (ctx) => {
  it('is the providers’ usage ledger: tokens of successes and failures since a time, every operation counted', async () => {
    // compile-time: the store satisfies the interface the metered chat model writes to
    const ledger: UsageLedger = ctx.store.llm;
    const u = await user(ctx.store, 'ann');
    expect(await ledger.tokensUsedSince(0)).toBe(0);
    await ledger.recordCall(call({ at: 1_000, userId: u }));
    await ledger.recordCall(call({ at: 2_000, operation: 'summary', promptTokens: 7, completionTokens: 3, status: 'error', error: 'ProviderBadResponseError: not json' }));
    await ledger.recordCall(call({ at: 3_000, operation: 'segment_filter', promptTokens: 0, completionTokens: 0, status: 'error' }));
    expect(await ledger.tokensUsedSince(0)).toBe(130);
    expect(await ledger.tokensUsedSince(2_000)).toBe(10);
    expect(await ledger.tokensUsedSince(2_001)).toBe(0);
    const usage = await ctx.store.stats.llmUsage();
    expect(usage.calls.map((c) => [c.purpose, c.status, Number(c.n)])).toEqual([
      ['extract_traits', 'ok', 1],
      ['segment_filter', 'error', 1],
      ['summary', 'error', 1],
    ]);
  });

  it('caches answers by key: a miss is null, the first answer for a key is kept', async () => {
    const u = await user(ctx.store, 'bob');
    const llm = ctx.store.llm;
    expect(await llm.cacheGet('k1')).toBeNull();
    await llm.cachePut('k1', u, '{"operations":[]}', 10);
    await llm.cachePut('k1', u, '{"operations":[1]}', 11);
    await llm.cachePut('k2', null, 'ü ✓ "quoted"', 12);
    expect(await llm.cacheGet('k1')).toBe('{"operations":[]}');
    expect(await llm.cacheGet('k2')).toBe('ü ✓ "quoted"');
  });
});
