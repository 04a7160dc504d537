import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/connection.ts';
import { IngestStore } from '../../src/db/ingest-store.ts';
import { eraseUser } from '../../src/db/privacy.ts';
import { sqliteStore } from '../../src/db/store.ts';
import { cleanBatch, writeCleanedBatch } from '../../src/ingest/ingest.ts';
import { createTempDb, type TempDb } from '../support/temp-db.ts';

// A bulk load (an import) keeps its identity → user map across transactions. Identify's merge
// and erasure change what an identity resolves to, from this connection or another one: the
// next batch must see it.
const NOW = Date.parse('2026-03-01T00:00:00Z');
let t: TempDb;
let seq = 0;
const ev = (who: { userId: string } | { anonymousId: string }) => ({ eventId: `e${++seq}`, ...who, type: 'page_view', timestamp: NOW - 1000 + seq, properties: { dwellMs: 5 } });
const write = async (raw: unknown[]) => {
  const r = await writeCleanedBatch(t.store.events, cleanBatch(raw, { now: NOW }));
  expect(r.rejected).toBe(0);
  return r;
};
const ownerOf = (kind: string, alias: string) =>
  (t.db.sqlite.prepare('SELECT user_id AS id FROM identities WHERE kind = ? AND alias = ?').get(kind, alias) as { id: number } | undefined)?.id;
const eventsOf = (userId: number) => (t.db.sqlite.prepare('SELECT count(*) AS n FROM events WHERE user_id = ?').get(userId) as { n: number }).n;

beforeEach(() => {
  t = createTempDb();
});
afterEach(() => t.cleanup());

describe('the identity cache of a bulk load', () => {
  it('sends an anonymous id merged by identify (same connection) to the known user in the next batch', async () => {
    await t.store.events.bulk(async () => {
      await write([ev({ anonymousId: 'anon-1' }), ev({ userId: 'alice' })]);
      const anon = ownerOf('anonymous', 'anon-1')!;
      const alice = ownerOf('user', 'alice')!;
      expect((await t.store.users.identify('anon-1', 'alice', NOW)).status).toBe('merged');
      await write([ev({ anonymousId: 'anon-1' }), ev({ anonymousId: 'anon-1' })]);
      expect(eventsOf(alice)).toBe(4);
      expect(eventsOf(anon)).toBe(0);
      expect(ownerOf('anonymous', 'anon-1')).toBe(alice);
    });
  });

  it('sees a merge committed by another connection', async () => {
    const other = openDb(t.path, { synchronous: 'OFF' });
    try {
      await t.store.events.bulk(async () => {
        await write([ev({ anonymousId: 'anon-2' }), ev({ userId: 'bob' })]);
        expect((await sqliteStore(other).users.identify('anon-2', 'bob', NOW)).status).toBe('merged');
        await write([ev({ anonymousId: 'anon-2' })]);
        expect(eventsOf(ownerOf('user', 'bob')!)).toBe(3);
      });
    } finally {
      other.close();
    }
  });

  it('creates a new user for an identity erased during the load', async () => {
    await t.store.events.bulk(async () => {
      await write([ev({ userId: 'carol' }), ev({ userId: 'dave' })]);
      const carol = ownerOf('user', 'carol')!;
      await eraseUser(t.store.exec, t.store.userData, carol, { now: NOW });
      await write([ev({ userId: 'carol' }), ev({ userId: 'dave' })]);
      const again = ownerOf('user', 'carol')!;
      expect(again).toBeGreaterThan(carol);
      expect(eventsOf(again)).toBe(1);
      expect(eventsOf(ownerOf('user', 'dave')!)).toBe(2);
    });
  });

  it('stays correct when it holds fewer identities than the load has (oldest evicted)', () => {
    const ingest = new IngestStore(t.db);
    ingest.setBulk(true, 2);
    const who = ['u1', 'u2', 'u3', 'u4'];
    for (let round = 0; round < 3; round++) {
      const b = cleanBatch(
        who.map((u) => ev({ userId: u })),
        { now: NOW },
      );
      ingest.writeBatch(b.pending, [], b.receivedAt);
    }
    expect((t.db.sqlite.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n).toBe(4);
    for (const u of who) expect(eventsOf(ownerOf('user', u)!)).toBe(3);
  });

  it('forgets users created by a transaction that rolled back', () => {
    const ingest = new IngestStore(t.db);
    ingest.setBulk(true);
    const b = cleanBatch([ev({ userId: 'erin' })], { now: NOW });
    // A constraint failure after erin's user was created rolls the whole transaction back.
    t.db.sqlite.exec("CREATE TRIGGER fail_once BEFORE INSERT ON events WHEN NEW.client_event_id = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END");
    const bad = cleanBatch([ev({ userId: 'erin' }), { ...ev({ userId: 'erin' }), eventId: 'boom' }], { now: NOW });
    expect(() => ingest.writeBatch(bad.pending, [], bad.receivedAt)).toThrow(/boom/);
    expect(ownerOf('user', 'erin')).toBeUndefined();
    t.db.sqlite.exec('DROP TRIGGER fail_once');
    // The user id the rolled-back transaction used is handed out again: erin must get a live row.
    ingest.writeBatch(b.pending, [], b.receivedAt);
    expect(eventsOf(ownerOf('user', 'erin')!)).toBe(1);
  });
});
