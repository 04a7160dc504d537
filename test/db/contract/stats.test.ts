import { expect, it } from 'vitest';
import type { Store } from '../../../src/db/store.ts';
import { cleanBatch } from '../../../src/ingest/ingest.ts';
import { describeStores } from '../../support/backends.ts';

const T = 1_780_000_000_000;

async function ingest(store: Store, raw: unknown[]): Promise<void> {
  const b = cleanBatch(raw, { now: T + 1_000_000 });
  await store.events.writeBatch(
    b.pending,
    b.rejected.map((r) => ({ index: r.index, reason: r.reason })),
    b.receivedAt,
  );
}

describeStores('stats', (ctx) => {
  it('an empty store has zero everywhere', async () => {
    const s = await ctx.store.stats.getStats();
    expect(s).toEqual({
      users: { total: 0, known: 0, anonymous: 0 },
      events: { total: 0, byType: {}, textSignals: 0 },
      duplicatesDropped: { total: 0, byKind: {} },
      rejected: { total: 0, byReason: {} },
      missingFields: {},
      warnings: {},
      jobs: { pending: 0, running: 0, done: 0, parked: 0 },
      parkedJobs: [],
      traits: { current: {}, rejected: {}, droppedSensitive: {} },
      llm: { calls: 0, errors: 0, promptTokens: 0, completionTokens: 0 },
    });
    expect(await ctx.store.stats.totals()).toEqual({ users: 0, events: 0 });
  });

  it('reflects what ingestion stored, dropped and queued', async () => {
    const store = ctx.store;
    await ingest(store, [
      { userId: 'ann', type: 'search', text: 'boots', timestamp: T },
      { userId: 'ann', type: 'page_view', timestamp: T + 1, properties: { dwell_ms: 10 } },
      { anonymousId: 'v1', type: 'page_view', timestamp: T + 2, properties: { dwell_ms: 10 } },
      { anonymousId: 'v1', type: 'page_view', timestamp: T + 2, properties: { dwell_ms: 10 } },
      { type: 'page_view' },
    ]);
    const s = await store.stats.getStats();
    expect(s.users).toEqual({ total: 2, known: 1, anonymous: 1 });
    expect(s.events).toEqual({ total: 3, byType: { page_view: 2, search: 1 }, textSignals: 1 });
    expect(s.duplicatesDropped).toEqual({ total: 1, byKind: { content: 1 } });
    expect(s.rejected).toEqual({ total: 1, byReason: { missing_identity: 1 } });
    expect(s.jobs).toEqual({ pending: 2, running: 0, done: 0, parked: 0 });
    expect(await store.stats.totals()).toEqual({ users: 2, events: 3 });
  });

  it('adds counter bumps (merged per key), and reads them by metric, largest first', async () => {
    const stats = ctx.store.stats;
    await stats.bumpCounters([
      { metric: 'traits_rejected', key: 'ungrounded', n: 2 },
      { metric: 'traits_rejected', key: 'ungrounded', n: 1 },
      { metric: 'traits_dropped_sensitive', key: 'health', n: 1 },
      { metric: 'traits_rejected', key: 'bad_value', n: 0 },
    ]);
    await Promise.all([stats.bumpCounters([{ metric: 'traits_rejected', key: 'ungrounded', n: 4 }]), stats.bumpCounters([{ metric: 'traits_rejected', key: 'too_long', n: 5 }])]);
    expect(await stats.counters(['traits_rejected'])).toEqual([
      { metric: 'traits_rejected', key: 'ungrounded', count: 7 },
      { metric: 'traits_rejected', key: 'too_long', count: 5 },
    ]);
    expect(await stats.counters([])).toEqual([]);
    expect((await stats.getStats()).traits).toEqual({ current: {}, rejected: { ungrounded: 7, too_long: 5 }, droppedSensitive: { health: 1 } });
  });

  it('sums LLM usage by purpose and outcome', async () => {
    const store = ctx.store;
    const call = (operation: string, status: 'ok' | 'error', p: number, c: number) =>
      store.llm.recordCall({
        at: T,
        userId: null,
        operation,
        model: 'm',
        promptVersion: '1',
        promptTokens: p,
        completionTokens: c,
        latencyMs: 5,
        status,
        error: status === 'error' ? 'boom' : null,
      });
    await call('extract_traits', 'ok', 100, 20);
    await call('extract_traits', 'ok', 50, 10);
    await call('extract_traits', 'error', 30, 0);
    await call('summary', 'ok', 10, 5);
    expect(await store.stats.llmUsage()).toEqual({
      calls: [
        { purpose: 'extract_traits', status: 'error', n: 1 },
        { purpose: 'extract_traits', status: 'ok', n: 2 },
        { purpose: 'summary', status: 'ok', n: 1 },
      ],
      promptTokens: 190,
      completionTokens: 35,
    });
    expect((await store.stats.getStats()).llm).toEqual({ calls: 4, errors: 1, promptTokens: 190, completionTokens: 35 });
  });
});
