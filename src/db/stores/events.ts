import { ValidationError } from '../../core/errors.ts';
import type { CleanEvent, EventOutcome, IdentityKind, JsonObject } from '../../core/types.ts';
import { IngestStore } from '../ingest-store.ts';
import { SqliteIngestWriter } from '../ingest-writer.ts';
import type { WritePriority } from '../write-priority.ts';
import type { Dialect } from '../sql/dialect.ts';
import type { Executor, Queryable } from '../sql/executor.ts';
import { SqliteExecutor } from '../sql/sqlite-executor.ts';
import { ENQUEUE_JOB_SQL, enqueueParams } from './jobs.ts';
import { BUMP_COUNTER_SQL } from './stats.ts';

/** The job every touched user gets (one pending per user, however often it is enqueued). */
export const REFRESH_JOB = 'user.refresh';

/** An event to write, with its position in the client's batch. */
export interface PendingEvent {
  index: number;
  event: CleanEvent;
  missing: string[];
  /** `event.properties` as JSON, when the cleaner already serialised it (the import's worker): written as is */
  propertiesJson?: string;
}
export interface PendingRejection {
  index: number;
  reason: string;
}

export interface StoredEvent {
  id: number;
  type: string;
  /** epoch ms */
  ts: number;
  properties: JsonObject;
  text: string | null;
  source: string | null;
  /** the client's eventId */
  eventId: string | null;
  receivedAt: number;
  flags: string[];
}

export interface EventPage {
  events: StoredEvent[];
  /** opaque; pass as `cursor` for the next (older) page; null on the last page */
  nextCursor: string | null;
}

/**
 * Events, the source of truth, and the ingestion batch that writes them. Every method is one
 * statement or one transaction; a batch is acknowledged only after its transaction committed.
 */
export interface EventStore {
  /**
   * Writes a cleaned batch in one transaction: resolves identities (creating users on first
   * sight, never two users for one identity even when writers race), inserts the events with one
   * unique dedupe key (a retry or exact repeat is a `duplicate`; a reused eventId with other
   * content is rejected as `event_id_reused`), updates the touched users' counters, enqueues one
   * refresh per touched user and bumps the data-quality counters (rejections included).
   * Returns the outcome of every pending event (any order; each carries its batch index).
   */
  writeBatch(events: readonly PendingEvent[], rejections: readonly PendingRejection[], receivedAt: number): Promise<EventOutcome[]>;
  /**
   * Runs `fn` (a long run of large batches: a file import) with the store tuned for it: on SQLite
   * the WAL may grow to 64 MB between checkpoints and is checkpointed at the end.
   */
  bulk<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Moves `writeBatch` off the caller's event loop (the server calls it at start): on a SQLite file
   * a thread with its own connection writes the batches, so the serving thread never runs an
   * ingestion transaction; elsewhere (PostgreSQL, an in-memory database) nothing changes.
   */
  startWriter(): Promise<void>;
  /** Stops that writer (batches already handed over commit first); later batches are written here again. */
  stopWriter(): Promise<void>;
  /** One user's events, newest first, keyset-paged on (ts, id) so pages hold still while events arrive. */
  page(userId: number, opts: { limit: number; cursor?: string | undefined; type?: string | undefined }): Promise<EventPage>;
  /** One user's event count per type. */
  countsByType(userId: number): Promise<Record<string, number>>;
}

/** An event as the API and the export read it (client's id as `eventId`). */
export interface EventRow {
  id: number;
  type: string;
  ts: number;
  properties: string;
  text: string | null;
  source: string | null;
  eventId: string | null;
  receivedAt: number;
  flags: string | null;
}
export const EVENT_ROW_COLUMNS = 'id, type, ts, properties, text, source, client_event_id AS "eventId", received_at AS "receivedAt", flags';

const EVENT_COLUMNS = 'user_id, type, ts, properties, text, source, client_event_id, content_hash, dedupe_key, received_at, flags';
/** events per multi-row INSERT: 11 parameters each, far below both drivers' limits */
const INSERT_CHUNK = 400;
/** values per `IN (...)` list */
const IN_CHUNK = 500;
/** users per touch statement (5 CASE lists of 2 parameters per user) */
const TOUCH_CHUNK = 200;
/** new identities per statement */
const CREATE_CHUNK = 300;
/** (user, type) tallies per statement */
const COUNT_CHUNK = 300;

/** A single-row `INSERT … VALUES (?, …) …` statement turned into one inserting `rows` rows. */
function multiRow(sql: string, columns: number, rows: number): string {
  const one = `(${marks(columns)})`;
  if (!sql.includes(`VALUES ${one}`)) throw new Error(`not a single-row insert of ${columns} values: ${sql}`);
  return sql.replace(`VALUES ${one}`, `VALUES ${Array.from({ length: rows }, () => one).join(', ')}`);
}

/** Adds to a user's tally of events of one type (`user_event_counts`), creating the row on first sight. */
export const COUNT_EVENTS_SQL = 'INSERT INTO user_event_counts (user_id, type, n) VALUES (?, ?, ?) ON CONFLICT (user_id, type) DO UPDATE SET n = user_event_counts.n + excluded.n';

/** Accepted events per (user, type) of a batch, in (user, type) order: the order rows are locked in. */
export function countByUserType(accepted: Iterable<{ userId: number; type: string }>): [number, string, number][] {
  const m = new Map<number, Map<string, number>>();
  for (const { userId, type } of accepted) {
    let byType = m.get(userId);
    if (!byType) m.set(userId, (byType = new Map()));
    byType.set(type, (byType.get(type) ?? 0) + 1);
  }
  const out: [number, string, number][] = [];
  for (const userId of [...m.keys()].sort((a, b) => a - b)) for (const [type, n] of [...m.get(userId)!].sort((a, b) => byString(a[0], b[0]))) out.push([userId, type, n]);
  return out;
}

/** Identify's merge: the anonymous user's per-type tallies join the known user's (the events moved with them). */
export async function moveEventCounts(q: Queryable, from: number, to: number): Promise<void> {
  await q.run(
    `INSERT INTO user_event_counts (user_id, type, n) SELECT CAST(? AS BIGINT), type, n FROM user_event_counts WHERE user_id = ? ORDER BY type
     ON CONFLICT (user_id, type) DO UPDATE SET n = user_event_counts.n + excluded.n`,
    [to, from],
  );
  await q.run('DELETE FROM user_event_counts WHERE user_id = ?', [from]);
}

export const TOUCH_USER_SQL = (d: Dialect) =>
  `UPDATE users SET event_count = event_count + ?,
     first_event_at = ${d.least('coalesce(first_event_at, ?)', '?')},
     last_event_at = ${d.greatest('coalesce(last_event_at, ?)', '?')},
     updated_at = ?
   WHERE id = ?`;

export class SqlEventStore implements EventStore {
  private sqliteWriter: IngestStore | undefined;
  private thread: SqliteIngestWriter | undefined;

  constructor(
    protected readonly x: Executor,
    protected readonly d: Dialect,
    /** SQLite: true while another writer of this process should go first (the audit writer thread committing reads' rows) */
    private readonly yieldTo: () => boolean = () => false,
    /** SQLite: shared with the audit writer, so the ingestion writer thread lets audit groups go first */
    private readonly priority?: WritePriority,
  ) {}

  writeBatch(events: readonly PendingEvent[], rejections: readonly PendingRejection[], receivedAt: number): Promise<EventOutcome[]> {
    const x = this.x;
    // The ingestion hot path (bench:ingest): prepared statements in one better-sqlite3
    // transaction, run once no async transaction holds the connection.
    if (x instanceof SqliteExecutor) return this.sqlite(x, events, rejections, receivedAt);
    return this.portable(events, rejections, receivedAt);
  }

  /**
   * The batch on SQLite, without blocking the event loop on the write lock: another connection
   * (the pipeline thread, the audit writer, an import) may hold it, and SQLite's busy handler
   * would sleep on this thread, holding up every request. So the lock is tried, and while it is
   * held the batch waits on a timer (1, 2, 4… ms, at most 20) up to the connection's busy timeout,
   * then fails as a busy database does (503). One transaction either way.
   */
  private async sqlite(x: SqliteExecutor, events: readonly PendingEvent[], rejections: readonly PendingRejection[], receivedAt: number): Promise<EventOutcome[]> {
    // The writer thread lets audit groups go first itself (WritePriority).
    if (this.thread?.usable) return this.thread.write(events, rejections, receivedAt);
    // Audited reads first: while their rows are being committed on the writer thread, wait (a
    // bounded while, so a steady stream of reads slows ingestion down but never stops it).
    const yieldUntil = performance.now() + MAX_YIELD_MS;
    while (this.yieldTo() && performance.now() < yieldUntil) await new Promise((r) => setTimeout(r, 1));
    const w = (this.sqliteWriter ??= new IngestStore(x.db));
    const busyMs = Number(x.db.sqlite.pragma('busy_timeout', { simple: true }));
    const deadline = performance.now() + busyMs;
    for (let wait = 1; ; wait = Math.min(wait * 2, 20)) {
      const out = await x.exclusive(() => w.tryWriteBatch(events, rejections, receivedAt));
      if (out) return out;
      if (performance.now() >= deadline) throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(wait, deadline - performance.now()))));
    }
  }

  private async portable(events: readonly PendingEvent[], rejections: readonly PendingRejection[], receivedAt: number): Promise<EventOutcome[]> {
    // Locks are taken in one order, but a deadlock or serialization failure is still possible in
    // corners (a sequential scan meeting moved rows): the batch is one transaction and idempotent
    // (dedupe keys), so running it again is safe.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.x.tx((q) => writeBatchPortable(q, this.d, events, rejections, receivedAt));
      } catch (err) {
        const code = (err as { code?: unknown } | null)?.code;
        if (attempt >= 3 || (code !== '40P01' && code !== '40001')) throw err;
      }
    }
  }

  async startWriter(): Promise<void> {
    const x = this.x;
    if (this.thread || !(x instanceof SqliteExecutor) || x.db.path === ':memory:') return;
    this.thread = await SqliteIngestWriter.start(x.db, this.priority?.cells, MAX_YIELD_MS);
  }

  async stopWriter(): Promise<void> {
    const t = this.thread;
    this.thread = undefined;
    await t?.close();
  }

  async bulk<T>(fn: () => Promise<T>): Promise<T> {
    const x = this.x;
    if (!(x instanceof SqliteExecutor)) return fn();
    // Checkpointing the WAL after every commit of a large batch rewrites the same random
    // dedupe-index pages into the database file again and again; letting the WAL grow to 64 MB
    // first measured ~15% less CPU per event and far fewer fsyncs. Restored (and the WAL
    // checkpointed) afterwards.
    const s = x.db.sqlite;
    const before = Number(s.pragma('wal_autocheckpoint', { simple: true }));
    s.pragma(`wal_autocheckpoint = ${Math.max(before, IMPORT_WAL_PAGES)}`);
    // The batches' identity → user map lives for the whole load (checked before each batch).
    const w = (this.sqliteWriter ??= new IngestStore(x.db));
    w.setBulk(true);
    try {
      return await fn();
    } finally {
      w.setBulk(false);
      s.pragma(`wal_autocheckpoint = ${before}`);
      if (x.db.path !== ':memory:') await x.exclusive(() => s.pragma('wal_checkpoint(PASSIVE)'));
    }
  }

  async page(userId: number, opts: { limit: number; cursor?: string | undefined; type?: string | undefined }): Promise<EventPage> {
    const where = ['user_id = ?'];
    const args: unknown[] = [userId];
    if (opts.type) {
      where.push('type = ?');
      args.push(opts.type);
    }
    if (opts.cursor) {
      const c = decodeCursor(opts.cursor);
      where.push('(ts < ? OR (ts = ? AND id < ?))');
      args.push(c.ts, c.ts, c.id);
    }
    const rows = await this.x.all<EventRow>(
      `SELECT ${EVENT_ROW_COLUMNS}
       FROM events WHERE ${where.join(' AND ')} ORDER BY ts DESC, id DESC LIMIT ?`,
      [...args, opts.limit + 1],
    );
    const page = rows.slice(0, opts.limit);
    const last = page[page.length - 1];
    return {
      events: page.map((r) => ({
        id: Number(r.id),
        type: r.type,
        ts: Number(r.ts),
        properties: JSON.parse(r.properties) as JsonObject,
        text: r.text,
        source: r.source,
        eventId: r.eventId,
        receivedAt: Number(r.receivedAt),
        flags: r.flags ? (JSON.parse(r.flags) as string[]) : [],
      })),
      nextCursor: rows.length > opts.limit && last ? encodeCursor(Number(last.ts), Number(last.id)) : null,
    };
  }

  async countsByType(userId: number): Promise<Record<string, number>> {
    // The tally ingestion keeps (one row per type), not a count over the user's events: a profile
    // read costs the same for a user with ten events and one with a million.
    const rows = await this.x.all<{ type: string; n: number }>('SELECT type, n FROM user_event_counts WHERE user_id = ? ORDER BY type', [userId]);
    return Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
  }
}

/** The longest a batch waits for audited reads' commits before taking the write lock anyway. */
const MAX_YIELD_MS = 50;

/** WAL pages (4 KB) allowed to accumulate during a bulk load before a checkpoint. */
const IMPORT_WAL_PAGES = 16_384;

export function encodeCursor(ts: number, id: number): string {
  return Buffer.from(`${ts}:${id}`).toString('base64url');
}
export function decodeCursor(cursor: string): { ts: number; id: number } {
  const m = /^(-?\d+):(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString());
  const ts = Number(m?.[1]);
  const id = Number(m?.[2]);
  if (!m || !Number.isSafeInteger(ts) || !Number.isSafeInteger(id)) throw new ValidationError('cursor is not valid', { field: 'cursor' }, 'invalid_cursor');
  return { ts, id };
}

const identityKey = (kind: IdentityKind, alias: string) => (kind === 'user' ? `u\u0000${alias}` : `a\u0000${alias}`);
const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const chunks = <T>(xs: readonly T[], n: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
};
const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/**
 * The batch write in portable SQL (PostgreSQL; any executor without a synchronous fast path).
 * Safe when several replicas write at once: identities are created with INSERT … ON CONFLICT DO
 * NOTHING and then read back, so a race ends with one user (the loser drops the user it made);
 * every phase takes its row locks in one global order (identities by (kind, alias), events by
 * dedupe key, users and jobs by id, counters by key), so two batches never deadlock.
 */
async function writeBatchPortable(q: Queryable, d: Dialect, events: readonly PendingEvent[], rejections: readonly PendingRejection[], receivedAt: number): Promise<EventOutcome[]> {
  const users = await resolveIdentities(q, events, receivedAt);
  const out: EventOutcome[] = [];
  const touched = new Map<number, { n: number; first: number; last: number }>();
  const counters = new Map<string, number>();
  const count = (metric: string, key: string) => {
    const k = `${metric}\u0000${key}`;
    counters.set(k, (counters.get(k) ?? 0) + 1);
  };

  // Insert in dedupe-key order (stable: among equal keys the batch's first event is the one stored).
  const ordered = [...events].sort((a, b) => byString(a.event.dedupeKey, b.event.dedupeKey));
  const inserted = new Map<string, number>();
  for (const part of chunks(ordered, INSERT_CHUNK)) {
    const params: unknown[] = [];
    for (const { event: e } of part) {
      const flags = e.warnings.length ? JSON.stringify(e.warnings.map((w) => w.code)) : null;
      params.push(
        users.get(identityKey(e.identityKind, e.identity)),
        e.type,
        e.ts,
        JSON.stringify(e.properties),
        e.text,
        e.source,
        e.clientEventId,
        e.contentHash,
        e.dedupeKey,
        receivedAt,
        flags,
      );
    }
    const rows = await q.all<{ id: number; dedupeKey: string }>(
      `INSERT INTO events (${EVENT_COLUMNS}) VALUES ${part.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}
       ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key AS "dedupeKey"`,
      params,
    );
    for (const r of rows) inserted.set(r.dedupeKey, Number(r.id));
  }

  // Events not inserted: what already holds their key (committed before; or, for a repeat inside
  // this batch, the batch's first copy, which was the one stored).
  const prior = new Map<string, { id: number; contentHash: string }>();
  for (const p of events) {
    const id = inserted.get(p.event.dedupeKey);
    if (id !== undefined && !prior.has(p.event.dedupeKey)) prior.set(p.event.dedupeKey, { id, contentHash: p.event.contentHash });
  }
  const lookup = [...new Set(events.map((p) => p.event.dedupeKey))].filter((k) => !inserted.has(k));
  for (const part of chunks(lookup, IN_CHUNK)) {
    const rows = await q.all<{ id: number; dedupeKey: string; contentHash: string }>(
      `SELECT id, dedupe_key AS "dedupeKey", content_hash AS "contentHash" FROM events WHERE dedupe_key IN (${marks(part.length)})`,
      part,
    );
    for (const r of rows) prior.set(r.dedupeKey, { id: Number(r.id), contentHash: r.contentHash });
  }

  const stored = new Set<string>();
  const accepted: { userId: number; type: string }[] = [];
  for (const { index, event: e, missing } of events) {
    const eventId = e.clientEventId ?? undefined;
    const id = inserted.get(e.dedupeKey);
    if (id !== undefined && !stored.has(e.dedupeKey)) {
      stored.add(e.dedupeKey);
      const userId = users.get(identityKey(e.identityKind, e.identity)) as number;
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
      continue;
    }
    const p = prior.get(e.dedupeKey);
    if (p && e.clientEventId !== null && p.contentHash !== e.contentHash) {
      // Same eventId, different content: a client bug, not a retry. Say so instead of hiding it.
      out.push({
        index,
        status: 'rejected',
        reason: 'event_id_reused',
        field: 'eventId',
        message: `eventId was already used for a different event (id ${p.id})`,
        ...(eventId ? { eventId } : {}),
      });
      count('rejected', 'event_id_reused');
    } else {
      out.push({ index, status: 'duplicate', ...(eventId ? { eventId } : {}), ...(p ? { duplicateOf: p.id } : {}) });
      count('duplicates', e.clientEventId !== null ? 'event_id' : 'content');
    }
  }
  for (const r of rejections) count('rejected', r.reason);

  // Users in id order, a chunk per statement: `id IN (…)` on the primary key visits rows in key
  // order on PostgreSQL, so concurrent batches lock users in one order.
  const users_ = [...touched].sort((a, b) => a[0] - b[0]);
  for (const part of chunks(users_, TOUCH_CHUNK)) {
    const caseOf = (pick: (t: { n: number; first: number; last: number }) => number) => {
      const params: unknown[] = [];
      for (const [id, t] of part) params.push(id, pick(t));
      return { sql: `CASE id ${part.map(() => 'WHEN ? THEN CAST(? AS BIGINT)').join(' ')} END`, params };
    };
    const n = caseOf((t) => t.n);
    const first = caseOf((t) => t.first);
    const last = caseOf((t) => t.last);
    await q.run(
      `UPDATE users SET event_count = event_count + ${n.sql},
         first_event_at = ${d.least(`coalesce(first_event_at, ${first.sql})`, first.sql)},
         last_event_at = ${d.greatest(`coalesce(last_event_at, ${last.sql})`, last.sql)},
         updated_at = ?
       WHERE id IN (${marks(part.length)})`,
      [...n.params, ...first.params, ...first.params, ...last.params, ...last.params, receivedAt, ...part.map(([id]) => id)],
    );
    // The jobs store's enqueue statement, one row per user (at most one pending refresh each).
    const one = enqueueParams(REFRESH_JOB, 0, {}, receivedAt);
    await q.run(
      multiRow(ENQUEUE_JOB_SQL, one.length, part.length),
      part.flatMap(([id]) => enqueueParams(REFRESH_JOB, id, {}, receivedAt)),
    );
  }
  // Per-type tallies, in (user, type) order, a chunk per statement.
  for (const part of chunks(countByUserType(accepted), COUNT_CHUNK)) await q.run(multiRow(COUNT_EVENTS_SQL, 3, part.length), part.flat());
  for (const k of [...counters.keys()].sort(byString)) {
    const [metric, key] = k.split('\u0000') as [string, string];
    await q.run(BUMP_COUNTER_SQL, [metric, key, counters.get(k)]);
  }
  return out;
}

/**
 * The user id of every identity in the batch, creating users on first sight. Existing links are
 * read in bulk; a new one is INSERT … ON CONFLICT DO NOTHING, then read back: when a concurrent
 * writer linked the identity first (PostgreSQL makes us wait for its commit), we use its user and
 * delete the one we had just created, so no identity ever has two users.
 */
async function resolveIdentities(q: Queryable, events: readonly PendingEvent[], now: number): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const wanted = new Map<string, { kind: IdentityKind; alias: string }>();
  for (const { event: e } of events) wanted.set(identityKey(e.identityKind, e.identity), { kind: e.identityKind, alias: e.identity });
  for (const kind of ['user', 'anonymous'] as const) {
    const aliases = [...wanted.values()].filter((w) => w.kind === kind).map((w) => w.alias);
    for (const part of chunks(aliases, IN_CHUNK)) {
      const rows = await q.all<{ alias: string; userId: number }>(`SELECT alias, user_id AS "userId" FROM identities WHERE kind = ? AND alias IN (${marks(part.length)})`, [
        kind,
        ...part,
      ]);
      for (const r of rows) found.set(identityKey(kind, r.alias), Number(r.userId));
    }
  }
  // New identities, in (kind, alias) order, a chunk per statement. Known users: INSERT … ON
  // CONFLICT (external_id) DO NOTHING, then read back the ones a concurrent writer created.
  // Anonymous users have nothing unique to conflict on: each gets a new row, and the identity
  // link decides; a user whose link lost the race is deleted again.
  for (const kind of ['user', 'anonymous'] as const) {
    const aliases = [...wanted.values()]
      .filter((w) => w.kind === kind && !found.has(identityKey(kind, w.alias)))
      .map((w) => w.alias)
      .sort(byString);
    for (const part of chunks(aliases, CREATE_CHUNK)) {
      const userOf = new Map<string, number>();
      const created = new Set<number>();
      if (kind === 'user') {
        const rows = await q.all<{ id: number; externalId: string }>(
          `INSERT INTO users (external_id, created_at, updated_at) VALUES ${part.map(() => '(?, ?, ?)').join(', ')}
           ON CONFLICT (external_id) DO NOTHING RETURNING id, external_id AS "externalId"`,
          part.flatMap((alias) => [alias, now, now]),
        );
        for (const r of rows) {
          userOf.set(r.externalId, Number(r.id));
          created.add(Number(r.id));
        }
        const rest = part.filter((alias) => !userOf.has(alias));
        if (rest.length)
          for (const r of await q.all<{ id: number; externalId: string }>(`SELECT id, external_id AS "externalId" FROM users WHERE external_id IN (${marks(rest.length)})`, rest))
            userOf.set(r.externalId, Number(r.id));
      } else {
        const rows = await q.all<{ id: number }>(
          `INSERT INTO users (external_id, created_at, updated_at) VALUES ${part.map(() => '(NULL, ?, ?)').join(', ')} RETURNING id`,
          part.flatMap(() => [now, now]),
        );
        // Ids come from the sequence row by row in VALUES order: ascending ids follow the aliases.
        const ids = rows.map((r) => Number(r.id)).sort((x, y) => x - y);
        if (ids.length !== part.length) throw new Error(`created ${ids.length} users for ${part.length} identities`);
        part.forEach((alias, i) => userOf.set(alias, ids[i] as number));
        for (const id of ids) created.add(id);
      }
      const linked = await q.all<{ alias: string; userId: number }>(
        `INSERT INTO identities (kind, alias, user_id, created_at) VALUES ${part.map(() => '(?, ?, ?, ?)').join(', ')}
         ON CONFLICT (kind, alias) DO NOTHING RETURNING alias, user_id AS "userId"`,
        part.flatMap((alias) => [kind, alias, userOf.get(alias), now]),
      );
      for (const r of linked) found.set(identityKey(kind, r.alias), Number(r.userId));
      const lost = part.filter((alias) => !found.has(identityKey(kind, alias)));
      if (lost.length === 0) continue;
      // A concurrent writer linked these first (PostgreSQL made us wait for its commit): use its users.
      const orphans = lost.map((alias) => userOf.get(alias) as number).filter((id) => created.has(id));
      if (orphans.length) await q.run(`DELETE FROM users WHERE id IN (${marks(orphans.length)})`, orphans);
      for (const r of await q.all<{ alias: string; userId: number }>(`SELECT alias, user_id AS "userId" FROM identities WHERE kind = ? AND alias IN (${marks(lost.length)})`, [
        kind,
        ...lost,
      ]))
        found.set(identityKey(kind, r.alias), Number(r.userId));
      for (const alias of lost) if (!found.has(identityKey(kind, alias))) throw new Error(`identity ${kind}:${alias} vanished while being linked`);
    }
  }
  return found;
}
