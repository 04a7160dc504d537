import type { Store } from './store.ts';

/**
 * Values read lazily at scrape time (GET /metrics), so a module exposes a figure without keeping a
 * counter in sync: queue depth, index size, cache entries. No registry: the composition root passes
 * the list to `createMetrics` (`storeMetricSources(store)` plus whatever else it wires, e.g. the
 * vector index's size). `counter` is for values that only grow (read from a table that keeps totals).
 */
export interface MetricSample {
  labels?: Record<string, string>;
  value: number;
}
export interface MetricSource {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  labelNames?: string[];
  collect(): number | MetricSample[] | Promise<number | MetricSample[]>;
}

/** The figures every deployment has: queue, LLM usage, users, events, dropped events. */
export function storeMetricSources(store: Store): MetricSource[] {
  return [
    {
      name: 'traitlens_jobs',
      help: 'Jobs in the queue by status (pending includes jobs waiting out a backoff or the LLM budget).',
      type: 'gauge',
      labelNames: ['status'],
      collect: async () => {
        const c = await store.jobs.counts();
        return (['pending', 'running', 'done', 'parked'] as const).map((status) => ({ labels: { status }, value: c[status] }));
      },
    },
    {
      name: 'traitlens_jobs_stuck',
      help: 'Running jobs whose lease has lapsed (their worker died); any worker or server reclaims them within half a lease.',
      type: 'gauge',
      collect: async () => (await store.jobs.counts()).stuck,
    },
    {
      name: 'traitlens_llm_calls_total',
      help: 'LLM calls recorded, by purpose and outcome.',
      type: 'counter',
      labelNames: ['purpose', 'status'],
      collect: async () => (await store.stats.llmUsage()).calls.map((r) => ({ labels: { purpose: r.purpose, status: r.status }, value: r.n })),
    },
    {
      name: 'traitlens_llm_tokens_total',
      help: 'LLM tokens used, by kind (prompt, completion).',
      type: 'counter',
      labelNames: ['kind'],
      collect: async () => {
        const u = await store.stats.llmUsage();
        return [
          { labels: { kind: 'prompt' }, value: u.promptTokens },
          { labels: { kind: 'completion' }, value: u.completionTokens },
        ];
      },
    },
    {
      name: 'traitlens_users',
      help: 'Users held.',
      type: 'gauge',
      collect: async () => (await store.stats.totals()).users,
    },
    {
      name: 'traitlens_events',
      help: 'Events held.',
      type: 'gauge',
      collect: async () => (await store.stats.totals()).events,
    },
    {
      name: 'traitlens_ingest_dropped_total',
      help: 'Events not stored since the database was created, by outcome (duplicate, rejected) and reason; every process counted.',
      type: 'counter',
      labelNames: ['outcome', 'reason'],
      collect: async () =>
        (await store.stats.counters(['duplicates', 'rejected'])).map((r) => ({
          labels: { outcome: r.metric === 'duplicates' ? 'duplicate' : 'rejected', reason: r.key },
          value: r.count,
        })),
    },
  ];
}
