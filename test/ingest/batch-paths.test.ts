import { afterEach, describe, expect, it } from 'vitest';
import type { EventOutcome } from '../../src/core/types.ts';
import type { Db } from '../../src/db/connection.ts';
import { sqliteDialect } from '../../src/db/sql/dialect.ts';
import type { Executor } from '../../src/db/sql/executor.ts';
import { SqlEventStore } from '../../src/db/stores/events.ts';
import { ingestBatch } from '../../src/ingest/ingest.ts';
import { createTempDb, type TempDb } from '../support/temp-db.ts';

/**
 * On SQLite the batch write takes the synchronous prepared-statement path; every other executor
 * (PostgreSQL) takes the portable one. Running the portable path on SQLite too (through an
 * executor that is not a SqliteExecutor) checks the two write the same rows and outcomes.
 */
const portable = (x: Executor): Executor => ({
  dialect: x.dialect,
  all: (sql, p) => x.all(sql, p),
  get: (sql, p) => x.get(sql, p),
  run: (sql, p) => x.run(sql, p),
  tx: (fn) => x.tx(fn),
  ping: () => x.ping(),
  close: () => x.close(),
});

const T = 1_780_000_000_000;
const batches: unknown[][] = [
  [
    { eventId: 'a1', userId: 'ann', type: 'page_view', timestamp: T, properties: { url: '/a', dwell_ms: '12' } },
    { anonymousId: 'v-1', type: 'search', text: 'tents', timestamp: T + 1 },
    { eventId: 'a1', userId: 'ann', type: 'page_view', timestamp: T, properties: { url: '/a', dwell_ms: '12' } },
    { eventId: 'a2', userId: 'ann', type: 'purchase', timestamp: T + 2, properties: { price: 5 } },
    { eventId: 'a2', userId: 'ann', type: 'purchase', timestamp: T + 2, properties: { price: 6 } },
    { type: 'page_view' },
    { userId: 'bob', type: 'chat_message', text: 'hello', timestamp: T + 3 },
    { userId: 'bob', type: 'chat_message', text: 'hello', timestamp: T + 3 },
  ],
  [
    { eventId: 'a1', userId: 'ann', type: 'page_view', timestamp: T, properties: { url: '/a', dwell_ms: '12' } },
    { eventId: 'a2', userId: 'ann', type: 'purchase', timestamp: T + 9, properties: { price: 5 } },
    { anonymousId: 'v-1', type: 'search', text: 'tents', timestamp: T + 1 },
    { anonymousId: 'v-2', type: 'page_view', timestamp: T + 4 },
    { userId: 'bob', type: 'chat_message', text: 'bye', timestamp: T - 5 },
  ],
];

/**
 * The database's rows with ids replaced by what they stand for (an event by its dedupe key, a user
 * by its identities): the two paths number rows differently (the portable one inserts in dedupe-key
 * order, so concurrent writers lock rows in one order), and nothing else may differ.
 */
function dump(db: Db) {
  const q = (sql: string) => db.sqlite.prepare(sql).all() as Record<string, unknown>[];
  const userKey = new Map<unknown, string>();
  for (const r of q(`SELECT user_id, group_concat(kind || ':' || alias, ',') AS k FROM (SELECT * FROM identities ORDER BY kind, alias) GROUP BY user_id`))
    userKey.set(r.user_id, String(r.k));
  const eventKey = new Map<unknown, string>(q('SELECT id, dedupe_key FROM events').map((r) => [r.id, String(r.dedupe_key)]));
  const byKey = (rows: Record<string, unknown>[], key: string) => rows.sort((x, y) => (String(x[key]) < String(y[key]) ? -1 : 1));
  return {
    eventKey,
    rows: {
      users: byKey(
        q('SELECT id, external_id, event_count, first_event_at, last_event_at, created_at, updated_at FROM users').map((r) => ({ ...r, id: userKey.get(r.id) })),
        'id',
      ),
      identities: q('SELECT kind, alias, user_id, created_at FROM identities ORDER BY kind, alias').map((r) => ({ ...r, user_id: userKey.get(r.user_id) })),
      events: byKey(
        q('SELECT id, user_id, type, ts, properties, text, source, client_event_id, content_hash, dedupe_key, received_at, flags FROM events').map((r) => ({
          ...r,
          id: eventKey.get(r.id),
          user_id: userKey.get(r.user_id),
        })),
        'id',
      ),
      jobs: byKey(
        q('SELECT kind, user_id, payload, status, run_after FROM jobs').map((r) => ({ ...r, user_id: userKey.get(r.user_id) })),
        'user_id',
      ),
      counters: q('SELECT metric, key, count FROM ingest_counters ORDER BY metric, key'),
    },
  };
}

/** Outcomes with event ids replaced by dedupe keys. */
function outcomes(results: EventOutcome[], eventKey: Map<unknown, string>) {
  return results.map((o) => {
    if (o.status === 'accepted') return { ...o, id: eventKey.get(o.id) };
    if (o.status === 'duplicate') return { ...o, duplicateOf: eventKey.get(o.duplicateOf) };
    return { ...o, message: o.message.replace(/\(id (\d+)\)/, (_, id: string) => `(${eventKey.get(Number(id))})`) };
  });
}

describe('the batch write', () => {
  const open: TempDb[] = [];
  afterEach(() => {
    for (const t of open.splice(0)) t.cleanup();
  });

  it('writes the same rows and outcomes on the SQLite fast path and on the portable path', async () => {
    const fast = createTempDb();
    const slow = createTempDb();
    open.push(fast, slow);
    const slowEvents = new SqlEventStore(portable(slow.store.exec), sqliteDialect);
    const got: { fast: EventOutcome[][]; slow: EventOutcome[][] } = { fast: [], slow: [] };
    for (const [i, raw] of batches.entries()) {
      const now = T + 1_000_000 + i;
      got.fast.push((await ingestBatch(fast.store.events, raw, { now })).results);
      got.slow.push((await ingestBatch(slowEvents, raw, { now })).results);
    }
    const f = dump(fast.db);
    const s = dump(slow.db);
    expect(s.rows).toEqual(f.rows);
    expect(got.slow.map((r) => outcomes(r, s.eventKey))).toEqual(got.fast.map((r) => outcomes(r, f.eventKey)));
    const d = f.rows;
    // Not vacuous: both kinds of duplicate, the reuse rejection and several users happened.
    expect(d.counters).toEqual(
      expect.arrayContaining([expect.objectContaining({ metric: 'rejected', key: 'event_id_reused' }), expect.objectContaining({ metric: 'duplicates', key: 'content' })]),
    );
    expect(d.users).toHaveLength(4);
  });
});
