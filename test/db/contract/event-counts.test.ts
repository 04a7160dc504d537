import { expect, it } from 'vitest';
import { eraseUser } from '../../../src/db/privacy.ts';
import type { Store } from '../../../src/db/store.ts';
import type { PendingRejection } from '../../../src/db/stores/events.ts';
import { cleanBatch } from '../../../src/ingest/ingest.ts';
import { describeStores } from '../../support/backends.ts';

const T = 1_780_000_000_000;

async function write(store: Store, raw: unknown[]): Promise<void> {
  const b = cleanBatch(raw, { now: T + 86_400_000 });
  const rejections: PendingRejection[] = b.rejected.map((r) => ({ index: r.index, reason: r.reason }));
  await store.events.writeBatch(b.pending, rejections, b.receivedAt);
}

/** The per-type counts recomputed from the events themselves. */
async function counted(store: Store, userId: number): Promise<Record<string, number>> {
  const rows = await store.exec.all<{ type: string; n: number }>('SELECT type, count(*) AS n FROM events WHERE user_id = ? GROUP BY type ORDER BY type', [userId]);
  return Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
}

describeStores('event counts by type (the tally ingestion keeps)', (ctx) => {
  it('matches a count over the events through batches with repeats, rejections, a merge and an erasure', async () => {
    const s = ctx.store;
    const types = ['page_view', 'add_to_cart', 'purchase', 'click'];
    // Three batches over four identities (one anonymous), with retries of earlier events (duplicates,
    // not counted) and bad events (rejected, not counted).
    let n = 0;
    for (let b = 0; b < 3; b++) {
      const batch: unknown[] = [];
      for (let i = 0; i < 40; i++) {
        const k = n++;
        const who = k % 4 === 3 ? { anonymousId: 'anon-1' } : { userId: `u${k % 3}` };
        batch.push({ ...who, eventId: `e${k}`, type: types[(k * 7) % 4], timestamp: T + k });
      }
      // A retry of the first event of the previous batch, and an event with no type.
      if (b > 0) batch.push({ userId: `u${(40 * (b - 1)) % 3}`, eventId: `e${40 * (b - 1)}`, type: types[(40 * (b - 1) * 7) % 4], timestamp: T + 40 * (b - 1) });
      batch.push({ userId: 'u0', timestamp: T });
      await write(s, batch);
    }
    const ids = await Promise.all(['u0', 'u1', 'u2', 'anon-1'].map(async (r) => (await s.users.require(r)).id));
    for (const id of ids) {
      const c = await s.events.countsByType(id);
      expect(Object.keys(c).length).toBeGreaterThan(0);
      expect(c).toEqual(await counted(s, id));
    }

    // The anonymous visitor turns out to be u1: the tallies add up, overlapping types included.
    const before = { u1: await counted(s, ids[1]!), anon: await counted(s, ids[3]!) };
    expect((await s.users.identify('anon-1', 'u1', T + 1)).status).toBe('merged');
    const merged = await s.events.countsByType(ids[1]!);
    expect(merged).toEqual(await counted(s, ids[1]!));
    for (const t of types) expect(merged[t] ?? 0).toBe((before.u1[t] ?? 0) + (before.anon[t] ?? 0));
    expect((await s.exec.all('SELECT 1 FROM user_event_counts WHERE user_id = ?', [ids[3]])).length).toBe(0);

    // Erasure takes the tally with the events; others keep theirs.
    await eraseUser(s.exec, s.userData, ids[0]!);
    expect(await s.events.countsByType(ids[0]!)).toEqual({});
    expect((await s.exec.all('SELECT 1 FROM user_event_counts WHERE user_id = ?', [ids[0]])).length).toBe(0);
    expect(await s.events.countsByType(ids[2]!)).toEqual(await counted(s, ids[2]!));
  });
});
