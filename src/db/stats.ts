import type { Db } from './connection.ts';

export interface Stats {
  users: { total: number; known: number; anonymous: number };
  events: { total: number; byType: Record<string, number>; textSignals: number };
  duplicatesDropped: { total: number; byKind: Record<string, number> };
  rejected: { total: number; byReason: Record<string, number> };
  missingFields: Record<string, number>;
  warnings: Record<string, number>;
  jobs: Record<string, number>;
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
  };
}
