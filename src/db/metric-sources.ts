import type { Db } from './connection.ts';

/**
 * Values read lazily at scrape time (GET /metrics), so a module exposes a figure without keeping a
 * counter in sync: queue depth, index size, cache entries. Register at import time:
 *   registerMetricSource({ name: 'traitlens_hnsw_index_vectors', help: '...', type: 'gauge', collect: (db) => n })
 * `counter` is for values that only grow (read from a table that keeps totals).
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
  collect(db: Db): number | MetricSample[];
}

const sources = new Map<string, MetricSource>();
export function registerMetricSource(s: MetricSource): void {
  sources.set(s.name, s);
}
export function listMetricSources(): MetricSource[] {
  return [...sources.values()];
}

const rows = <T>(db: Db, sql: string) => db.stmt(sql).all() as T[];

registerMetricSource({
  name: 'traitlens_jobs',
  help: 'Jobs in the queue by status (pending includes jobs waiting out a backoff or the LLM budget).',
  type: 'gauge',
  labelNames: ['status'],
  collect: (db) => {
    const by = Object.fromEntries(rows<{ status: string; n: number }>(db, 'SELECT status, count(*) AS n FROM jobs GROUP BY status').map((r) => [r.status, r.n]));
    return ['pending', 'running', 'done', 'parked'].map((status) => ({ labels: { status }, value: by[status] ?? 0 }));
  },
});
registerMetricSource({
  name: 'traitlens_llm_calls_total',
  help: 'LLM calls recorded, by purpose and outcome.',
  type: 'counter',
  labelNames: ['purpose', 'status'],
  collect: (db) =>
    rows<{ purpose: string; status: string; n: number }>(db, 'SELECT purpose, status, count(*) AS n FROM llm_calls GROUP BY purpose, status').map((r) => ({
      labels: { purpose: r.purpose, status: r.status },
      value: r.n,
    })),
});
registerMetricSource({
  name: 'traitlens_llm_tokens_total',
  help: 'LLM tokens used, by kind (prompt, completion).',
  type: 'counter',
  labelNames: ['kind'],
  collect: (db) => {
    const r = db.stmt('SELECT coalesce(sum(prompt_tokens), 0) AS p, coalesce(sum(completion_tokens), 0) AS c FROM llm_calls').get() as { p: number; c: number };
    return [
      { labels: { kind: 'prompt' }, value: r.p },
      { labels: { kind: 'completion' }, value: r.c },
    ];
  },
});
registerMetricSource({
  name: 'traitlens_users',
  help: 'Users held.',
  type: 'gauge',
  collect: (db) => (db.stmt('SELECT count(*) AS n FROM users').get() as { n: number }).n,
});
registerMetricSource({
  name: 'traitlens_events',
  help: 'Events held.',
  type: 'gauge',
  // max(rowid) would be O(1) but wrong after erasure; events_user_ts_idx makes this a fast index scan.
  collect: (db) => (db.stmt('SELECT count(*) AS n FROM events').get() as { n: number }).n,
});
registerMetricSource({
  name: 'traitlens_ingest_dropped_total',
  help: 'Events not stored since the database was created, by outcome (duplicate, rejected) and reason; every process counted.',
  type: 'counter',
  labelNames: ['outcome', 'reason'],
  collect: (db) =>
    rows<{ metric: string; key: string; count: number }>(db, "SELECT metric, key, count FROM ingest_counters WHERE metric IN ('duplicates', 'rejected')").map((r) => ({
      labels: { outcome: r.metric === 'duplicates' ? 'duplicate' : 'rejected', reason: r.key },
      value: r.count,
    })),
});
