import type { Statement, Transaction } from 'better-sqlite3';
import type { EventOutcome, IdentityKind } from '../core/types.ts';
import type { Db } from './connection.ts';
import { sqliteDialect } from './sql/dialect.ts';
import { COUNT_EVENTS_SQL, countByUserType, REFRESH_JOB, TOUCH_USER_SQL, type PendingEvent, type PendingRejection } from './stores/events.ts';
import { ENQUEUE_JOB_SQL } from './stores/jobs.ts';
import { BUMP_COUNTER_SQL } from './stores/stats.ts';

// TRANSITION: importers of REFRESH_JOB from here move to stores/events.ts.
export { REFRESH_JOB } from './stores/events.ts';
export type { PendingEvent, PendingRejection } from './stores/events.ts';

/**
 * The SQLite half of `EventStore.writeBatch`: prepared statements on the raw driver, synchronous,
 * one better-sqlite3 transaction per batch. This is the hot path (the import and HTTP benchmarks
 * run through it): a promise per statement would cost more than the insert itself. Only
 * `SqlEventStore` calls it, inside `SqliteExecutor.exclusive` so it never interleaves with an
 * async transaction. It writes the same rows, with the same SQL for the shared statements
 * (touch, enqueue, counters), as the portable path.
 */
export class IngestStore {
  private readonly findIdentity: Statement<[string, string], { user_id: number }>;
  private readonly insertUser: Statement<[string | null, number, number]>;
  private readonly insertIdentity: Statement<[string, string, number, number]>;
  private readonly insertEvent: Statement<unknown[]>;
  private readonly findDuplicate: Statement<[string], { id: number; content_hash: string }>;
  private readonly touchUser: Statement<[number, number, number, number, number, number, number]>;
  private readonly enqueue: Statement<unknown[]>;
  private readonly bump: Statement<[string, string, number]>;
  private readonly countEvents: Statement<[number, string, number]>;
  private readonly tx: Transaction<(events: readonly PendingEvent[], rejections: readonly PendingRejection[], receivedAt: number) => EventOutcome[]>;

  constructor(private readonly db: Db) {
    const s = db.sqlite;
    this.findIdentity = s.prepare('SELECT user_id FROM identities WHERE kind = ? AND alias = ?');
    this.insertUser = s.prepare('INSERT INTO users (external_id, created_at, updated_at) VALUES (?, ?, ?)');
    this.insertIdentity = s.prepare('INSERT INTO identities (kind, alias, user_id, created_at) VALUES (?, ?, ?, ?)');
    this.insertEvent = s.prepare(
      `INSERT INTO events (user_id, type, ts, properties, text, source, client_event_id, content_hash, dedupe_key, received_at, flags)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
    );
    this.findDuplicate = s.prepare('SELECT id, content_hash FROM events WHERE dedupe_key = ?');
    this.touchUser = s.prepare(TOUCH_USER_SQL(sqliteDialect));
    this.enqueue = s.prepare(ENQUEUE_JOB_SQL);
    this.bump = s.prepare(BUMP_COUNTER_SQL);
    this.countEvents = s.prepare(COUNT_EVENTS_SQL);
    this.tx = s.transaction((events, rejections, receivedAt) => this.write(events, rejections, receivedAt));
  }

  /** Writes a cleaned batch and the counters for its rejections in one transaction. */
  writeBatch(events: readonly PendingEvent[], rejections: readonly PendingRejection[], receivedAt: number): EventOutcome[] {
    // IMMEDIATE: take the write lock up front, so a concurrent writer (an import next to the
    // server) waits out busy_timeout instead of failing on a lock upgrade.
    return this.tx.immediate(events, rejections, receivedAt);
  }

  /**
   * `writeBatch` without waiting for the write lock: when another connection holds it (the
   * pipeline thread, the audit writer, an import), returns undefined at once instead of letting
   * SQLite's busy handler sleep on this thread, so the caller can wait without blocking its event
   * loop. Nothing is written then.
   */
  tryWriteBatch(events: readonly PendingEvent[], rejections: readonly PendingRejection[], receivedAt: number): EventOutcome[] | undefined {
    const s = this.db.sqlite;
    const busyMs = Number(s.pragma('busy_timeout', { simple: true }));
    s.pragma('busy_timeout = 0');
    try {
      return this.tx.immediate(events, rejections, receivedAt);
    } catch (err) {
      if ((err as { code?: unknown }).code === 'SQLITE_BUSY') return undefined;
      throw err;
    } finally {
      s.pragma(`busy_timeout = ${busyMs}`);
    }
  }

  /** Resolves an identity to a user id, creating the user on first sight. */
  resolveUser(kind: IdentityKind, alias: string, now: number, cache?: Map<string, number>): number {
    const ck = kind === 'user' ? `u\u0000${alias}` : `a\u0000${alias}`;
    const hit = cache?.get(ck);
    if (hit !== undefined) return hit;
    let id = this.findIdentity.get(kind, alias)?.user_id;
    if (id === undefined) {
      id = Number(this.insertUser.run(kind === 'user' ? alias : null, now, now).lastInsertRowid);
      this.insertIdentity.run(kind, alias, id, now);
    }
    cache?.set(ck, id);
    return id;
  }

  private write(events: readonly PendingEvent[], rejections: readonly PendingRejection[], receivedAt: number): EventOutcome[] {
    const out: EventOutcome[] = [];
    const users = new Map<string, number>();
    const touched = new Map<number, { n: number; first: number; last: number }>();
    const counters = new Map<string, number>();
    const accepted: { userId: number; type: string }[] = [];
    const count = (metric: string, key: string) => {
      const k = `${metric}\u0000${key}`;
      counters.set(k, (counters.get(k) ?? 0) + 1);
    };
    for (const { index, event: e, missing } of events) {
      const userId = this.resolveUser(e.identityKind, e.identity, receivedAt, users);
      const flags = e.warnings.length ? JSON.stringify(e.warnings.map((w) => w.code)) : null;
      const r = this.insertEvent.run(userId, e.type, e.ts, JSON.stringify(e.properties), e.text, e.source, e.clientEventId, e.contentHash, e.dedupeKey, receivedAt, flags);
      const eventId = e.clientEventId ?? undefined;
      if (r.changes === 1) {
        const id = Number(r.lastInsertRowid);
        out.push({ index, status: 'accepted', id, ...(eventId ? { eventId } : {}), ...(e.warnings.length ? { warnings: e.warnings } : {}) });
        accepted.push({ userId, type: e.type });
        const t = touched.get(userId);
        if (t) {
          t.n++;
          if (e.ts < t.first) t.first = e.ts;
          if (e.ts > t.last) t.last = e.ts;
        } else touched.set(userId, { n: 1, first: e.ts, last: e.ts });
        // Nothing keyed by the event type: a client-chosen string would outlive erasure (stats count types from events).
        for (const m of missing) count('missing', m);
        for (const w of e.warnings) count('warning', w.code);
      } else {
        const prior = this.findDuplicate.get(e.dedupeKey);
        if (prior && e.clientEventId !== null && prior.content_hash !== e.contentHash) {
          // Same eventId, different content: a client bug, not a retry. Say so instead of hiding it.
          out.push({
            index,
            status: 'rejected',
            reason: 'event_id_reused',
            field: 'eventId',
            message: `eventId was already used for a different event (id ${prior.id})`,
            ...(eventId ? { eventId } : {}),
          });
          count('rejected', 'event_id_reused');
        } else {
          out.push({ index, status: 'duplicate', ...(eventId ? { eventId } : {}), ...(prior ? { duplicateOf: prior.id } : {}) });
          count('duplicates', e.clientEventId !== null ? 'event_id' : 'content');
        }
      }
    }
    for (const r of rejections) count('rejected', r.reason);
    for (const [userId, t] of touched) {
      this.touchUser.run(t.n, t.first, t.first, t.last, t.last, receivedAt, userId);
      this.enqueue.run(REFRESH_JOB, userId, '{}', receivedAt, receivedAt, receivedAt);
    }
    for (const [userId, type, n] of countByUserType(accepted)) this.countEvents.run(userId, type, n);
    for (const [k, n] of counters) {
      const [metric, key] = k.split('\u0000') as [string, string];
      this.bump.run(metric, key, n);
    }
    return out;
  }
}
