/**
 * Regression (found writing test/reliability/pg-multiprocess.test.ts): on PostgreSQL a transaction
 * that writes a user's data and enqueues the user's refresh (ingestion, identity merge, re-read)
 * coalesced into the pending job without locking it, so a worker could claim that job and read the
 * user's data before the transaction committed. The refresh then missed the new events, and no
 * pending job was left to pick them up. The enqueue now locks the pending row it relies on until
 * commit (claims skip locked rows), so the refresh it stands for runs after the commit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.ts';
import { openStore } from '../../src/db/open.ts';
import type { Store } from '../../src/db/store.ts';
import { REFRESH_JOB } from '../../src/db/stores/events.ts';
import { ENQUEUE_JOB_SQL, enqueueParams } from '../../src/db/stores/jobs.ts';
import { createTempPgSchema, pgAvailable, type TempPg } from '../support/pg.ts';

describe.skipIf(!pgAvailable())('PostgreSQL: a refresh enqueued inside a transaction', () => {
  let pg: TempPg;
  let store: Store;
  beforeAll(async () => {
    pg = await createTempPgSchema();
    store = await openStore({ ...loadConfig({ TRAITLENS_PG_POOL_SIZE: '3' }), TRAITLENS_DB: pg.url });
  }, 30_000);
  afterAll(async () => {
    await store?.close();
    await pg?.drop();
  });

  it('is not claimable until that transaction commits, also when it coalesced into a pending job', async () => {
    const user = Number((await store.exec.get<{ id: number }>(`INSERT INTO users (external_id, created_at, updated_at) VALUES ('racer', 1, 1) RETURNING id`))!.id);
    expect(await store.jobs.enqueue(REFRESH_JOB, user, {}, 1)).toBe(true);
    let commit!: () => void;
    const gate = new Promise<void>((r) => (commit = r));
    let enqueued!: () => void;
    const inTx = new Promise<void>((r) => (enqueued = r));
    const writer = store.exec.tx(async (q) => {
      await q.run(`INSERT INTO events (user_id, type, ts, content_hash, dedupe_key, received_at) VALUES (?, 'page_view', 2, 'h', 'k', 2)`, [user]);
      const r = await q.run(ENQUEUE_JOB_SQL, enqueueParams(REFRESH_JOB, user, {}, 2));
      expect(r.changes, 'coalesced: no second pending row').toBe(0);
      enqueued();
      await gate;
    });
    await inTx;
    try {
      // A worker polling now must not take the job: its refresh would not see the event.
      expect(await store.jobs.claim('early', 4, { leaseMs: 1000, now: 10 })).toEqual([]);
    } finally {
      commit();
      await writer;
    }
    const claimed = await store.jobs.claim('after', 4, { leaseMs: 1000, now: 10 });
    expect(claimed.map((j) => j.userId)).toEqual([user]);
    // And the refresh it runs sees the committed event.
    expect(await store.exec.get('SELECT count(*) AS n FROM events WHERE user_id = ?', [user])).toEqual({ n: 1 });
    expect(await store.jobs.list('pending')).toEqual([]);
  });
});
