import type { Dialect } from '../sql/dialect.ts';
import type { Executor } from '../sql/executor.ts';

export interface Stats {
  users: { total: number; known: number; anonymous: number };
  events: { total: number; byType: Record<string, number>; textSignals: number };
  duplicatesDropped: { total: number; byKind: Record<string, number> };
  rejected: { total: number; byReason: Record<string, number> };
  missingFields: Record<string, number>;
  warnings: Record<string, number>;
  jobs: Record<string, number>;
  /** the most recent parked (dead-letter) jobs with their errors; `traitlens jobs retry` re-runs them */
  parkedJobs: { id: number; kind: string; attempts: number; lastError: string | null; updatedAt: string }[];
  traits: { current: Record<string, number>; rejected: Record<string, number>; droppedSensitive: Record<string, number> };
  llm: { calls: number; errors: number; promptTokens: number; completionTokens: number };
}

/** One data-quality counter increment: `metric` (accepted, duplicates, rejected, missing, warning, traits_rejected, …) by `key`. */
export interface CounterBump {
  metric: string;
  key: string;
  n: number;
}

export interface CounterRow {
  metric: string;
  key: string;
  count: number;
}

/**
 * Volume and data-quality figures (`GET /v1/stats`, `traitlens stats`, `/metrics`) and the
 * ingestion counters every process adds to. Counters are totals kept in the database, so a
 * separate worker or import process is counted too.
 */
export interface StatsStore {
  getStats(): Promise<Stats>;
  /** Adds to counters in one statement per key (callers inside a batch transaction use BUMP_COUNTER_SQL). */
  bumpCounters(bumps: readonly CounterBump[]): Promise<void>;
  /** Counters, all or of the given metrics, largest first. */
  counters(metrics?: readonly string[]): Promise<CounterRow[]>;
  /** Row counts of users and events. */
  totals(): Promise<{ users: number; events: number }>;
  /** LLM calls by purpose and outcome, and the tokens they used. */
  llmUsage(): Promise<{ calls: { purpose: string; status: string; n: number }[]; promptTokens: number; completionTokens: number }>;
}

/** Adds `?3` to counter (`?1`, `?2`): the statement the ingestion batch runs inside its transaction. */
export const BUMP_COUNTER_SQL =
  'INSERT INTO ingest_counters (metric, key, count) VALUES (?, ?, ?) ON CONFLICT (metric, key) DO UPDATE SET count = ingest_counters.count + excluded.count';

const byCount = <T extends { n: number }>(rows: T[], key: (r: T) => string) => Object.fromEntries(rows.map((r) => [key(r), Number(r.n)]));

export class SqlStatsStore implements StatsStore {
  constructor(
    protected readonly x: Executor,
    protected readonly d: Dialect,
  ) {}

  async getStats(): Promise<Stats> {
    const { x, d } = this;
    const users = (await x.get<{ total: number; known: number }>('SELECT count(*) AS total, count(external_id) AS known FROM users')) ?? { total: 0, known: 0 };
    const byType = byCount(await x.all<{ type: string; n: number }>('SELECT type, count(*) AS n FROM events GROUP BY type ORDER BY n DESC, type'), (r) => r.type);
    const textSignals = Number((await x.get<{ n: number }>('SELECT count(*) AS n FROM events WHERE text IS NOT NULL'))?.n ?? 0);
    const counters = await this.counters();
    const group = (metric: string) => Object.fromEntries(counters.filter((c) => c.metric === metric).map((c) => [c.key, c.count]));
    const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
    const dup = group('duplicates');
    const rej = group('rejected');
    const jobs = byCount(await x.all<{ status: string; n: number }>('SELECT status, count(*) AS n FROM jobs GROUP BY status'), (r) => r.status);
    const parked = await x.all<{ id: number; kind: string; attempts: number; lastError: string | null; updatedAt: number }>(
      `SELECT id, kind, attempts, last_error AS "lastError", updated_at AS "updatedAt" FROM jobs WHERE status = 'parked' ORDER BY updated_at DESC, id DESC LIMIT 20`,
    );
    const current = byCount(await x.all<{ kind: string; n: number }>('SELECT kind, count(*) AS n FROM traits WHERE valid_to IS NULL GROUP BY kind'), (r) => r.kind);
    const llm = await x.get<{ calls: number; errors: number; p: number; c: number }>(
      `SELECT count(*) AS calls, coalesce(sum(${d.flag("status = 'error'")}), 0) AS errors, coalesce(sum(prompt_tokens), 0) AS p, coalesce(sum(completion_tokens), 0) AS c FROM llm_calls`,
    );
    const total = Number(users.total);
    const known = Number(users.known);
    return {
      users: { total, known, anonymous: total - known },
      events: { total: sum(byType), byType, textSignals },
      duplicatesDropped: { total: sum(dup), byKind: dup },
      rejected: { total: sum(rej), byReason: rej },
      missingFields: group('missing'),
      warnings: group('warning'),
      jobs: { pending: 0, running: 0, done: 0, parked: 0, ...jobs },
      parkedJobs: parked.map((j) => ({
        id: Number(j.id),
        kind: j.kind,
        attempts: Number(j.attempts),
        lastError: j.lastError,
        updatedAt: new Date(Number(j.updatedAt)).toISOString(),
      })),
      traits: { current, rejected: group('traits_rejected'), droppedSensitive: group('traits_dropped_sensitive') },
      llm: { calls: Number(llm?.calls ?? 0), errors: Number(llm?.errors ?? 0), promptTokens: Number(llm?.p ?? 0), completionTokens: Number(llm?.c ?? 0) },
    };
  }

  async bumpCounters(bumps: readonly CounterBump[]): Promise<void> {
    const merged = new Map<string, CounterBump>();
    for (const b of bumps) {
      if (b.n === 0) continue;
      const k = `${b.metric}\u0000${b.key}`;
      const m = merged.get(k);
      if (m) m.n += b.n;
      else merged.set(k, { ...b });
    }
    if (merged.size === 0) return;
    // Sorted: concurrent writers take the counter rows' locks in one order (no deadlock on PostgreSQL).
    const rows = [...merged].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([, b]) => b);
    await this.x.tx(async (q) => {
      for (const b of rows) await q.run(BUMP_COUNTER_SQL, [b.metric, b.key, b.n]);
    });
  }

  async counters(metrics?: readonly string[]): Promise<CounterRow[]> {
    if (metrics && metrics.length === 0) return [];
    const where = metrics ? `WHERE metric IN (${metrics.map(() => '?').join(', ')})` : '';
    const rows = await this.x.all<CounterRow>(`SELECT metric, key, count FROM ingest_counters ${where} ORDER BY count DESC, metric, key`, metrics ?? []);
    return rows.map((r) => ({ metric: r.metric, key: r.key, count: Number(r.count) }));
  }

  async totals(): Promise<{ users: number; events: number }> {
    // count(*) over events walks an index (events_user_ts_idx), not the table; max(id) would be
    // O(1) but wrong after erasure.
    const r = await this.x.get<{ users: number; events: number }>('SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM events) AS events');
    return { users: Number(r?.users ?? 0), events: Number(r?.events ?? 0) };
  }

  async llmUsage(): Promise<{ calls: { purpose: string; status: string; n: number }[]; promptTokens: number; completionTokens: number }> {
    const calls = await this.x.all<{ purpose: string; status: string; n: number }>(
      'SELECT purpose, status, count(*) AS n FROM llm_calls GROUP BY purpose, status ORDER BY purpose, status',
    );
    const t = await this.x.get<{ p: number; c: number }>('SELECT coalesce(sum(prompt_tokens), 0) AS p, coalesce(sum(completion_tokens), 0) AS c FROM llm_calls');
    return { calls: calls.map((r) => ({ ...r, n: Number(r.n) })), promptTokens: Number(t?.p ?? 0), completionTokens: Number(t?.c ?? 0) };
  }
}
