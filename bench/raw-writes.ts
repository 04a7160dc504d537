/**
 * The raw baselines' writes (bench/import.ts, bench/ingest.ts): the rows our ingestion writes,
 * as plain prepared statements on better-sqlite3 with nothing of ours in between. One copy, so
 * both baselines write the same rows the same way.
 */
import type Database from 'better-sqlite3';

export interface RawWrites {
  insertUser: Database.Statement;
  insertIdentity: Database.Statement;
  insertEvent: Database.Statement;
  /** a batch's touched users: counters, first/last times, one pending refresh job, per-type tallies */
  touched: RawTouched;
}

export function prepareRawWrites(db: Database.Database): RawWrites {
  const touch = db.prepare(
    `UPDATE users SET event_count = event_count + ?, first_event_at = min(coalesce(first_event_at, ?), ?),
       last_event_at = max(coalesce(last_event_at, ?), ?), updated_at = ? WHERE id = ?`,
  );
  const enqueue = db.prepare(
    `INSERT INTO jobs (kind, user_id, payload, run_after, created_at, updated_at) VALUES ('user.refresh', ?, '{}', ?, ?, ?)
     ON CONFLICT (kind, user_id) WHERE status = 'pending' DO NOTHING`,
  );
  const countType = db.prepare('INSERT INTO user_event_counts (user_id, type, n) VALUES (?, ?, ?) ON CONFLICT (user_id, type) DO UPDATE SET n = n + excluded.n');
  return {
    insertUser: db.prepare('INSERT INTO users (external_id, created_at, updated_at) VALUES (?, ?, ?)'),
    insertIdentity: db.prepare('INSERT INTO identities (kind, alias, user_id, created_at) VALUES (?, ?, ?, ?)'),
    insertEvent: db.prepare(
      `INSERT INTO events (user_id, type, ts, properties, text, source, client_event_id, content_hash, dedupe_key, received_at, flags)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
    ),
    touched: new RawTouched(touch, enqueue, countType),
  };
}

/** Accepted events per user within one batch, written out at the end of the batch. */
export class RawTouched {
  private readonly users = new Map<number, { n: number; first: number; last: number; types: Map<string, number> }>();

  constructor(
    private readonly touch: Database.Statement,
    private readonly enqueue: Database.Statement,
    private readonly countType: Database.Statement,
  ) {}

  add(userId: number, type: string, ts: number): void {
    const t = this.users.get(userId);
    if (t) {
      t.n++;
      if (ts < t.first) t.first = ts;
      if (ts > t.last) t.last = ts;
      t.types.set(type, (t.types.get(type) ?? 0) + 1);
    } else this.users.set(userId, { n: 1, first: ts, last: ts, types: new Map([[type, 1]]) });
  }

  /** Writes the batch's users and starts the next batch; returns the events counted. */
  flush(now: number): number {
    let events = 0;
    for (const [id, t] of this.users) {
      this.touch.run(t.n, t.first, t.first, t.last, t.last, now, id);
      this.enqueue.run(id, now, now, now);
      for (const [type, n] of t.types) this.countType.run(id, type, n);
      events += t.n;
    }
    this.users.clear();
    return events;
  }
}
