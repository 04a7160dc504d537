import type { Statement, Transaction } from 'better-sqlite3';
import type { EventOutcome, IdentityKind } from '../core/types.ts';
import type { Db } from './connection.ts';
import { sqliteDialect } from './sql/dialect.ts';
import { COUNT_EVENTS_SQL, REFRESH_JOB, TOUCH_USER_SQL, type PendingEvent, type PendingRejection } from './stores/events.ts';
import { ENQUEUE_JOB_SQL } from './stores/jobs.ts';
import { BUMP_COUNTER_SQL } from './stores/stats.ts';

/** From this many touched users on, a batch updates them with set-based statements. */
const SET_BASED_MIN_USERS = 16;

/**
 * A shared single-row `INSERT … VALUES (…) …` turned into one inserting a row per element of a
 * JSON array parameter (the last parameter), with the same conflict clause. `WHERE true` keeps
 * SQLite from reading `ON CONFLICT` as a join constraint of the SELECT.
 */
function fromJsonEach(sql: string, values: string, select: string): string {
  if (!sql.includes(`VALUES ${values}`)) throw new Error(`not a single-row insert of ${values}: ${sql}`);
  return sql.replace(`VALUES ${values}`, `SELECT ${select} FROM json_each(?) WHERE true`);
}

/**
 * Identities a bulk load remembers across its batches (~100 bytes each). A file with more
 * distinct identities than this evicts the oldest first and looks the rest up again.
 */
export const BULK_IDENTITY_CACHE_MAX = 250_000;

/**
 * The identity → user map a bulk load (an import) keeps across its transactions, so each
 * identity is looked up once per import instead of once per event.
 *
 * When is a cached entry wrong? An identity of kind user/anonymous only ever changes owner by
 * identify's merge, and disappears only by erasure; both delete the user row it pointed to
 * (users ids are AUTOINCREMENT, never reused). Identities created meanwhile by other writers
 * (HTTP ingestion on another connection, identify linking a new anonymous id) were not in the
 * cache, so they are read from the table as before. So the cache is valid exactly while no user
 * row was deleted, which each transaction checks first, under the write lock: between two
 * checks, users inserted = growth of the AUTOINCREMENT sequence, and users deleted = that growth
 * minus the growth of count(*). Any deletion, by any connection, clears the cache. A transaction
 * that fails clears it too (the users it created rolled back).
 */
class BulkIdentityCache {
  readonly users = new Map<string, number>();
  /** sqlite_sequence.seq and count(*) of users as of the end of our last transaction; -1: unknown */
  seq = -1;
  count = -1;
  constructor(readonly max: number) {}

  reset(): void {
    this.users.clear();
    this.seq = -1;
    this.count = -1;
  }
  set(key: string, id: number): void {
    if (this.users.size >= this.max) this.users.delete(this.users.keys().next().value as string);
    this.users.set(key, id);
  }
}

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
  private readonly touchUsers: Statement<[number, string]>;
  private readonly enqueueUsers: Statement<unknown[]>;
  private readonly countEventsOf: Statement<[string]>;
  private readonly userWatermark: Statement<[], { seq: number | null; n: number }>;
  private bulkCache: BulkIdentityCache | undefined;
  /** the current transaction got past BEGIN */
  private began = false;
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
    // The same three writes for a whole batch's users at once: one statement each over a JSON
    // array (json_each), instead of three statements per touched user.
    this.touchUsers = s.prepare(
      `UPDATE users SET event_count = event_count + t.n,
         first_event_at = ${sqliteDialect.least('coalesce(first_event_at, t.f)', 't.f')},
         last_event_at = ${sqliteDialect.greatest('coalesce(last_event_at, t.l)', 't.l')},
         updated_at = ?
       FROM (SELECT value ->> 0 AS id, value ->> 1 AS n, value ->> 2 AS f, value ->> 3 AS l FROM json_each(?)) AS t
       WHERE users.id = t.id`,
    );
    this.enqueueUsers = s.prepare(fromJsonEach(ENQUEUE_JOB_SQL, '(?, ?, ?, ?, ?, ?)', '?, value, ?, ?, ?, ?'));
    this.countEventsOf = s.prepare(fromJsonEach(COUNT_EVENTS_SQL, '(?, ?, ?)', 'value ->> 0, value ->> 1, value ->> 2'));
    this.userWatermark = s.prepare("SELECT (SELECT seq FROM sqlite_sequence WHERE name = 'users') AS seq, (SELECT count(*) FROM users) AS n");
    this.tx = s.transaction((events, rejections, receivedAt) => this.write(events, rejections, receivedAt));
  }

  /**
   * Starts (true) or ends (false) a bulk load: from here on the identity → user map is kept
   * across transactions (see `BulkIdentityCache`) instead of for one batch. `EventStore.bulk`.
   */
  setBulk(on: boolean, maxIdentities = BULK_IDENTITY_CACHE_MAX): void {
    this.bulkCache = on ? new BulkIdentityCache(maxIdentities) : undefined;
  }

  /** Writes a cleaned batch and the counters for its rejections in one transaction. */
  writeBatch(events: readonly PendingEvent[], rejections: readonly PendingRejection[], receivedAt: number): EventOutcome[] {
    // IMMEDIATE: take the write lock up front, so a concurrent writer (an import next to the
    // server) waits out busy_timeout instead of failing on a lock upgrade.
    return this.run(events, rejections, receivedAt);
  }

  private run(events: readonly PendingEvent[], rejections: readonly PendingRejection[], receivedAt: number): EventOutcome[] {
    this.began = false;
    try {
      return this.tx.immediate(events, rejections, receivedAt);
    } catch (err) {
      // Users this transaction created were rolled back with it (and their ids will be reused).
      // A lock not taken (SQLITE_BUSY on BEGIN) wrote nothing: the cache stays.
      if (this.began) this.bulkCache?.reset();
      throw err;
    }
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
      return this.run(events, rejections, receivedAt);
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
    const id = this.findOrCreate(kind, alias, now);
    cache?.set(ck, id);
    return id;
  }

  private findOrCreate(kind: IdentityKind, alias: string, now: number): number {
    let id = this.findIdentity.get(kind, alias)?.user_id;
    if (id === undefined) {
      id = Number(this.insertUser.run(kind === 'user' ? alias : null, now, now).lastInsertRowid);
      this.insertIdentity.run(kind, alias, id, now);
      if (this.bulkCache) {
        this.bulkCache.seq = id;
        this.bulkCache.count++;
      }
    }
    return id;
  }

  /** The bulk cache, checked against user deletions since our last transaction (under the write lock). */
  private validBulkCache(): BulkIdentityCache | undefined {
    const c = this.bulkCache;
    if (!c) return undefined;
    const w = this.userWatermark.get()!;
    const seq = w.seq ?? 0;
    if (c.seq < 0 || seq - c.seq !== w.n - c.count) c.users.clear();
    c.seq = seq;
    c.count = w.n;
    return c;
  }

  private write(events: readonly PendingEvent[], rejections: readonly PendingRejection[], receivedAt: number): EventOutcome[] {
    this.began = true;
    const out: EventOutcome[] = [];
    const bulk = this.validBulkCache();
    const users = bulk ? bulk.users : new Map<string, number>();
    // Per touched user: accepted events, first and last time, and accepted events per type.
    const touched = new Map<number, { n: number; first: number; last: number; types: Map<string, number> }>();
    const counters = new Map<string, number>();
    const count = (metric: string, key: string) => {
      const k = `${metric}\u0000${key}`;
      counters.set(k, (counters.get(k) ?? 0) + 1);
    };
    for (const { index, event: e, missing, propertiesJson } of events) {
      const ck = e.identityKind === 'user' ? `u\u0000${e.identity}` : `a\u0000${e.identity}`;
      let userId = users.get(ck);
      if (userId === undefined) {
        userId = this.findOrCreate(e.identityKind, e.identity, receivedAt);
        if (bulk) bulk.set(ck, userId);
        else users.set(ck, userId);
      }
      const flags = e.warnings.length ? JSON.stringify(e.warnings.map((w) => w.code)) : null;
      const props = propertiesJson ?? JSON.stringify(e.properties);
      const r = this.insertEvent.run(userId, e.type, e.ts, props, e.text, e.source, e.clientEventId, e.contentHash, e.dedupeKey, receivedAt, flags);
      const eventId = e.clientEventId ?? undefined;
      if (r.changes === 1) {
        const o: Extract<EventOutcome, { status: 'accepted' }> = { index, status: 'accepted', id: Number(r.lastInsertRowid) };
        if (eventId) o.eventId = eventId;
        if (e.warnings.length) o.warnings = e.warnings;
        out.push(o);
        const t = touched.get(userId);
        if (t) {
          t.n++;
          if (e.ts < t.first) t.first = e.ts;
          if (e.ts > t.last) t.last = e.ts;
          t.types.set(e.type, (t.types.get(e.type) ?? 0) + 1);
        } else touched.set(userId, { n: 1, first: e.ts, last: e.ts, types: new Map([[e.type, 1]]) });
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
    // Once per touched user per transaction (not per event): the counters, one pending refresh,
    // the per-type tallies; for many users, as three set-based statements.
    if (touched.size >= SET_BASED_MIN_USERS) {
      const rows: [number, number, number, number][] = [];
      const counts: [number, string, number][] = [];
      for (const [userId, t] of touched) {
        rows.push([userId, t.n, t.first, t.last]);
        for (const [type, n] of t.types) counts.push([userId, type, n]);
      }
      this.touchUsers.run(receivedAt, JSON.stringify(rows));
      this.enqueueUsers.run(REFRESH_JOB, '{}', receivedAt, receivedAt, receivedAt, JSON.stringify([...touched.keys()]));
      this.countEventsOf.run(JSON.stringify(counts));
    } else
      for (const [userId, t] of touched) {
        this.touchUser.run(t.n, t.first, t.first, t.last, t.last, receivedAt, userId);
        this.enqueue.run(REFRESH_JOB, userId, '{}', receivedAt, receivedAt, receivedAt);
        for (const [type, n] of t.types) this.countEvents.run(userId, type, n);
      }
    for (const [k, n] of counters) {
      const [metric, key] = k.split('\u0000') as [string, string];
      this.bump.run(metric, key, n);
    }
    return out;
  }
}
