import type { Db } from './connection.ts';

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

/** Data-quality and volume figures for `GET /v1/stats` and `traitlens stats`. */
export function getStats(db: Db): Stats {
  const s = db.sqlite;
  const users = s.prepare('SELECT count(*) AS total, count(external_id) AS known FROM users').get() as { total: number; known: number };
  const byType = Object.fromEntries(
    (s.prepare('SELECT type, count(*) AS n FROM events GROUP BY type ORDER BY n DESC').all() as { type: string; n: number }[]).map((r) => [r.type, r.n]),
  );
  const textSignals = (s.prepare('SELECT count(*) AS n FROM events WHERE text IS NOT NULL').get() as { n: number }).n;
  const counters = s.prepare('SELECT metric, key, count FROM ingest_counters ORDER BY count DESC').all() as { metric: string; key: string; count: number }[];
  const group = (metric: string) => Object.fromEntries(counters.filter((c) => c.metric === metric).map((c) => [c.key, c.count]));
  const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  const dup = group('duplicates');
  const rej = group('rejected');
  const jobs = Object.fromEntries(
    (s.prepare('SELECT status, count(*) AS n FROM jobs GROUP BY status').all() as { status: string; n: number }[]).map((r) => [r.status, r.n]),
  );
  return {
    users: { total: users.total, known: users.known, anonymous: users.total - users.known },
    events: { total: sum(byType), byType, textSignals },
    duplicatesDropped: { total: sum(dup), byKind: dup },
    rejected: { total: sum(rej), byReason: rej },
    missingFields: group('missing'),
    warnings: group('warning'),
    jobs: { pending: 0, running: 0, done: 0, parked: 0, ...jobs },
    parkedJobs: (
      s.prepare(`SELECT id, kind, attempts, last_error, updated_at FROM jobs WHERE status = 'parked' ORDER BY updated_at DESC LIMIT 20`).all() as {
        id: number;
        kind: string;
        attempts: number;
        last_error: string | null;
        updated_at: number;
      }[]
    ).map((j) => ({ id: j.id, kind: j.kind, attempts: j.attempts, lastError: j.last_error, updatedAt: new Date(j.updated_at).toISOString() })),
    traits: {
      current: Object.fromEntries(
        (s.prepare('SELECT kind, count(*) AS n FROM traits WHERE valid_to IS NULL GROUP BY kind').all() as { kind: string; n: number }[]).map((r) => [r.kind, r.n]),
      ),
      rejected: group('traits_rejected'),
      droppedSensitive: group('traits_dropped_sensitive'),
    },
    llm: (() => {
      const r = s
        .prepare(`SELECT count(*) AS calls, coalesce(sum(status = 'error'), 0) AS errors, coalesce(sum(prompt_tokens), 0) AS p, coalesce(sum(completion_tokens), 0) AS c FROM llm_calls`)
        .get() as { calls: number; errors: number; p: number; c: number };
      return { calls: r.calls, errors: r.errors, promptTokens: r.p, completionTokens: r.c };
    })(),
  };
}
