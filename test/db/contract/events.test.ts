import { expect, it } from 'vitest';
import type { EventOutcome } from '../../../src/core/types.ts';
import type { Store } from '../../../src/db/store.ts';
import { REFRESH_JOB, type PendingRejection } from '../../../src/db/stores/events.ts';
import { cleanBatch } from '../../../src/ingest/ingest.ts';
import { describeStores } from '../../support/backends.ts';

const T = 1_780_000_000_000;
const NOW = T + 86_400_000;

/** Cleans raw events as ingestion does and writes them through the store; outcomes in batch order. */
async function write(store: Store, raw: unknown[], now = NOW): Promise<EventOutcome[]> {
  const b = cleanBatch(raw, { now });
  const rejections: PendingRejection[] = b.rejected.map((r) => ({ index: r.index, reason: r.reason }));
  const out = await store.events.writeBatch(b.pending, rejections, b.receivedAt);
  expect(out).toHaveLength(b.pending.length);
  const all: EventOutcome[] = [...b.rejected];
  for (const o of out) all.push(o);
  return all.sort((x, y) => x.index - y.index);
}

const statuses = (o: EventOutcome[]) => o.map((x) => x.status);
const idOf = (o: EventOutcome | undefined) => (o?.status === 'accepted' ? o.id : undefined);

describeStores('events', (ctx) => {
  it('dedupes by eventId and by content, within a batch and across batches', async () => {
    const s = ctx.store;
    const batch = [
      { eventId: 'e1', userId: 'ann', type: 'page_view', timestamp: T, properties: { url: '/a' } },
      { userId: 'ann', type: 'search', text: 'hiking boots', timestamp: T + 1 },
      { eventId: 'e1', userId: 'ann', type: 'page_view', timestamp: T, properties: { url: '/a' } }, // retry inside the batch
      { userId: 'ann', type: 'search', text: 'hiking boots', timestamp: T + 1 }, // exact repeat, no eventId
      { userId: 'ann', type: 'search', text: 'hiking boots', timestamp: T + 2 }, // another time: a new event
    ];
    const first = await write(s, batch);
    expect(statuses(first)).toEqual(['accepted', 'accepted', 'duplicate', 'duplicate', 'accepted']);
    expect(first[2]).toMatchObject({ index: 2, eventId: 'e1', duplicateOf: idOf(first[0]) });
    expect(first[3]).toMatchObject({ index: 3, duplicateOf: idOf(first[1]) });
    const ids = first.map(idOf).filter((x) => x !== undefined);
    expect(new Set(ids).size).toBe(3);

    const again = await write(s, batch);
    expect(statuses(again)).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    expect(again.map((o) => (o.status === 'duplicate' ? o.duplicateOf : null))).toEqual([idOf(first[0]), idOf(first[1]), idOf(first[0]), idOf(first[1]), idOf(first[4])]);
    expect((await s.stats.totals()).events).toBe(3);
    expect(await s.events.countsByType((await s.users.require('ann')).id)).toEqual({ page_view: 1, search: 2 });
  });

  it('rejects a reused eventId with other content (event_id_reused), within a batch and across batches', async () => {
    const s = ctx.store;
    const first = await write(s, [
      { eventId: 'r1', userId: 'bob', type: 'purchase', timestamp: T, properties: { price: 10 } },
      { eventId: 'r1', userId: 'bob', type: 'purchase', timestamp: T, properties: { price: 99 } },
    ]);
    expect(statuses(first)).toEqual(['accepted', 'rejected']);
    expect(first[1]).toMatchObject({ status: 'rejected', reason: 'event_id_reused', field: 'eventId', eventId: 'r1' });
    const later = await write(s, [{ eventId: 'r1', userId: 'bob', type: 'page_view', timestamp: T + 5 }]);
    expect(later[0]).toMatchObject({ status: 'rejected', reason: 'event_id_reused' });
    expect((await s.stats.totals()).events).toBe(1);
    expect(await s.events.countsByType((await s.users.require('bob')).id)).toEqual({ purchase: 1 });
  });

  it('reports every event by its batch index, rejections included, and counts them', async () => {
    const s = ctx.store;
    const out = await write(s, [
      { userId: 'cy', type: 'page_view', timestamp: T, properties: { url: '/x' } },
      { type: 'page_view', timestamp: T }, // no identity
      { userId: 'cy', type: 'chat_message', timestamp: T + 1 }, // chat without text
      { eventId: 'w1', userId: 'cy', type: 'page_view', timestamp: T + 2, properties: { dwell_ms: '1500' } }, // numeric string: coerced
      { userId: 'cy', type: 'page_view', properties: { url: '/no-time' } }, // no timestamp: missing field and a warning
    ]);
    expect(out.map((o) => o.index)).toEqual([0, 1, 2, 3, 4]);
    expect(statuses(out)).toEqual(['accepted', 'rejected', 'rejected', 'accepted', 'accepted']);
    expect(out[1]).toMatchObject({ reason: 'missing_identity' });
    expect(out[2]).toMatchObject({ reason: 'missing_text', field: 'text' });
    expect(out[3]).toMatchObject({ eventId: 'w1', warnings: [expect.objectContaining({ code: 'number_coerced' })] });
    await write(s, [{ userId: 'cy', type: 'page_view', timestamp: T, properties: { url: '/x' } }]); // a content duplicate
    await write(s, [{ eventId: 'w1', userId: 'cy', type: 'page_view', timestamp: T + 2, properties: { dwell_ms: '1500' } }]); // an eventId duplicate

    const counters = Object.fromEntries((await s.stats.counters()).map((c) => [`${c.metric}/${c.key}`, c.count]));
    expect(counters).toEqual({
      'rejected/missing_identity': 1,
      'rejected/missing_text': 1,
      'duplicates/content': 1,
      'duplicates/event_id': 1,
      'warning/number_coerced': 1,
      'warning/timestamp_missing': 1,
      'missing/timestamp': 1,
      'missing/page_view.dwell_ms': 2, // an expected property of page_view, absent from two
    });
    const stats = await s.stats.getStats();
    expect(stats).toMatchObject({
      events: { total: 3, byType: { page_view: 3 } },
      duplicatesDropped: { total: 2 },
      rejected: { total: 2, byReason: { missing_identity: 1, missing_text: 1 } },
      missingFields: { timestamp: 1 },
    });
  });

  it('touches each user once per batch and queues one refresh per touched user', async () => {
    const s = ctx.store;
    await write(s, [
      { userId: 'dee', type: 'page_view', timestamp: T + 10 },
      { userId: 'dee', type: 'page_view', timestamp: T + 5 },
      { anonymousId: 'anon-1', type: 'page_view', timestamp: T },
    ]);
    await write(s, [{ userId: 'dee', type: 'search', text: 'tents', timestamp: T + 20 }]);
    await write(s, [{ userId: 'dee', type: 'search', text: 'tents', timestamp: T + 20 }]); // only a duplicate: touches nobody
    const dee = await s.users.require('dee');
    expect(dee).toMatchObject({ externalId: 'dee', eventCount: 3, firstEventAt: T + 5, lastEventAt: T + 20 });
    const anon = await s.users.require('anon-1');
    expect(anon).toMatchObject({ externalId: null, eventCount: 1 });
    const pending = await s.jobs.list('pending');
    expect(pending.map((j) => [j.kind, j.userId]).sort()).toEqual(
      [
        [REFRESH_JOB, dee.id],
        [REFRESH_JOB, anon.id],
      ].sort(),
    );
    expect(await s.stats.totals()).toEqual({ users: 2, events: 4 });
  });

  it('two batches racing on the same new identities create each user once', async () => {
    const s = ctx.store;
    const ids = Array.from({ length: 30 }, (_, i) => `racer-${i}`);
    const batch = (tag: string, order: string[]) =>
      order.flatMap((u, i) => [
        { eventId: `${tag}-${u}`, userId: u, type: 'page_view', timestamp: T + i },
        { eventId: `${tag}-anon-${u}`, anonymousId: `anon-${u}`, type: 'page_view', timestamp: T + i },
      ]);
    // Opposite orders: each batch creates identities the other also wants.
    const [a, b] = await Promise.all([write(s, batch('a', ids)), write(s, batch('b', [...ids].reverse()))]);
    expect([...a, ...b].every((o) => o.status === 'accepted')).toBe(true);
    expect((await s.stats.totals()).users).toBe(60);
    for (const u of ids) {
      const known = await s.users.require(u);
      expect(known.eventCount).toBe(2);
      expect(await s.events.countsByType(known.id)).toEqual({ page_view: 2 });
      expect((await s.users.require(`anon-${u}`)).eventCount).toBe(2);
    }
    expect((await s.jobs.counts()).pending).toBe(60);
  });

  it('pages a user’s events newest first with a stable keyset cursor, optionally of one type', async () => {
    const s = ctx.store;
    const raw = Array.from({ length: 7 }, (_, i) => ({
      eventId: `p${i}`,
      userId: 'eve',
      type: i % 2 ? 'search' : 'page_view',
      ...(i % 2 ? { text: `q${i}` } : {}),
      timestamp: T + (i < 2 ? 0 : i),
    }));
    await write(s, raw);
    const eve = (await s.users.require('eve')).id;
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await s.events.page(eve, { limit: 3, cursor });
      seen.push(...page.events.map((e) => e.eventId ?? ''));
      cursor = page.nextCursor ?? undefined;
      pages++;
      // An event arriving between pages with an older time does not shift the pages already read.
      if (pages === 1) await write(s, [{ eventId: 'late', userId: 'eve', type: 'page_view', timestamp: T - 1 }]);
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(['p6', 'p5', 'p4', 'p3', 'p2', 'p1', 'p0', 'late']);
    const first = (await s.events.page(eve, { limit: 1 })).events[0]!;
    expect(first).toMatchObject({ eventId: 'p6', type: 'page_view', ts: T + 6, properties: {}, text: null, receivedAt: NOW, flags: [] });
    const searches = await s.events.page(eve, { limit: 10, type: 'search' });
    expect(searches.events.map((e) => e.text)).toEqual(['q5', 'q3', 'q1']);
    expect(searches.nextCursor).toBeNull();
    await expect(s.events.page(eve, { limit: 3, cursor: 'not-a-cursor' })).rejects.toMatchObject({ status: 400, code: 'invalid_cursor' });
  });

  it('a bulk load writes like single batches', async () => {
    const s = ctx.store;
    const n = await s.events.bulk(async () => {
      let accepted = 0;
      for (let b = 0; b < 3; b++)
        accepted += (
          await write(
            s,
            Array.from({ length: 50 }, (_, i) => ({ userId: `bulk-${i % 7}`, type: 'page_view', timestamp: T + b * 100 + i })),
          )
        ).filter((o) => o.status === 'accepted').length;
      return accepted;
    });
    expect(n).toBe(150);
    expect(await s.stats.totals()).toEqual({ users: 7, events: 150 });
  });
});
