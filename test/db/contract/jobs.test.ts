import { expect, it } from 'vitest';
import type { Store } from '../../../src/db/store.ts';
import { describeStores } from '../../support/backends.ts';

/** A user row for jobs to refer to (the users store is another aggregate; plain SQL keeps this suite independent of it). */
async function user(store: Store, ext: string): Promise<number> {
  const r = await store.exec.tx((q) => q.get<{ id: number }>('INSERT INTO users (external_id, created_at, updated_at) VALUES (?, ?, ?) RETURNING id', [ext, 1, 1]));
  return Number(r!.id);
}

const LEASE = 30_000;

describeStores('jobs', (ctx) => {
  it('keeps one pending job per (kind, user) however many callers enqueue it', async () => {
    const jobs = ctx.store.jobs;
    const [a, b] = [await user(ctx.store, 'a'), await user(ctx.store, 'b')];
    const added = await Promise.all([
      ...Array.from({ length: 10 }, () => jobs.enqueue('refresh', a, {}, 1000)),
      jobs.enqueue('refresh', b, {}, 1000),
      jobs.enqueue('other', a, {}, 1000),
    ]);
    expect(added.filter(Boolean)).toHaveLength(3);
    expect((await jobs.counts(1000)).pending).toBe(3);
    // Once claimed (running), new work for the same user queues beside it.
    const claimed = await jobs.claim('w1', 10, { leaseMs: LEASE, now: 2000 });
    expect(claimed).toHaveLength(3);
    expect(await jobs.enqueue('refresh', a, {}, 2100)).toBe(true);
    expect(await jobs.enqueue('refresh', a, {}, 2200)).toBe(false);
    expect(await jobs.counts(3000)).toMatchObject({ pending: 1, ready: 1, running: 3 });
  });

  it('two claimers never get the same job', async () => {
    const jobs = ctx.store.jobs;
    for (let i = 0; i < 20; i++) await jobs.enqueue('refresh', await user(ctx.store, `u${i}`), {}, 1000 + i);
    const [x, y] = await Promise.all([jobs.claim('w1', 15, { leaseMs: LEASE, now: 5000 }), jobs.claim('w2', 15, { leaseMs: LEASE, now: 5000 })]);
    const ids = [...x, ...y].map((j) => j.id);
    expect(ids).toHaveLength(20);
    expect(new Set(ids).size).toBe(20);
    for (const j of x) expect(j).toMatchObject({ status: 'running', lockedBy: 'w1', attempts: 1, leaseUntil: 5000 + LEASE });
    for (const j of y) expect(j.lockedBy).toBe('w2');
    // Oldest first, and only ready work: a job waiting out a backoff is not claimed.
    expect(await jobs.claim('w3', 10, { leaseMs: LEASE, now: 5000 })).toEqual([]);
  });

  it('claims oldest ready work first and leaves jobs whose run_after is in the future', async () => {
    const jobs = ctx.store.jobs;
    await jobs.enqueue('refresh', await user(ctx.store, 'late'), {}, 9000);
    await jobs.enqueue('refresh', await user(ctx.store, 'early'), {}, 1000);
    const got = await jobs.claim('w', 10, { leaseMs: LEASE, now: 5000 });
    expect(got).toHaveLength(1);
    expect(got[0]!.runAfter).toBe(1000);
  });

  it('a lapsed lease is reclaimed; heartbeats keep a live one; a reclaimed job cannot be completed by its old holder', async () => {
    const jobs = ctx.store.jobs;
    const [a, b] = [await user(ctx.store, 'a'), await user(ctx.store, 'b')];
    await jobs.enqueue('refresh', a, {}, 0);
    await jobs.enqueue('refresh', b, {}, 0);
    const [dead] = await jobs.claim('dead', 1, { leaseMs: LEASE, now: 1000 });
    const [live] = await jobs.claim('live', 1, { leaseMs: LEASE, now: 1000 });
    expect(await jobs.heartbeat('live', [live!.id, dead!.id], { leaseMs: LEASE, now: 20_000 })).toEqual([live!.id]);
    expect((await jobs.counts(LEASE + 1001)).stuck).toBe(1);
    expect(await jobs.reclaimExpired({ now: LEASE + 1001 })).toEqual({ reclaimed: 1, parked: 0 });
    const counts = await jobs.counts(LEASE + 1001);
    expect(counts).toMatchObject({ pending: 1, running: 1, stuck: 0 });
    const back = (await jobs.list('pending'))[0]!;
    expect(back).toMatchObject({ id: dead!.id, attempts: 1, lockedBy: null });
    expect(back.lastError).toContain('lease');
    expect(await jobs.complete(dead!, LEASE + 2000)).toBe(false);
    expect(await jobs.release(dead!, { error: 'late', delayMs: 0, park: false })).toBeNull();
    expect(await jobs.complete(live!, LEASE + 2000)).toBe(true);
    // Another worker takes the reclaimed job.
    const [again] = await jobs.claim('other', 5, { leaseMs: LEASE, now: LEASE + 3000 });
    expect(again).toMatchObject({ id: dead!.id, lockedBy: 'other', attempts: 2 });
  });

  it('a job that used up its attempts is parked on reclaim instead of looping', async () => {
    const jobs = ctx.store.jobs;
    await jobs.enqueue('refresh', await user(ctx.store, 'a'), {}, 0);
    await jobs.claim('dead', 1, { leaseMs: 10, now: 0 });
    expect(await jobs.reclaimExpired({ now: 100, maxAttempts: 1 })).toEqual({ reclaimed: 0, parked: 1 });
    expect((await jobs.list('parked')).map((j) => j.attempts)).toEqual([1]);
  });

  it('release backs off, folds into work enqueued meanwhile, parks, and retry brings parked jobs back', async () => {
    const jobs = ctx.store.jobs;
    const a = await user(ctx.store, 'a');
    await jobs.enqueue('refresh', a, {}, 0);
    const [j] = await jobs.claim('w', 1, { leaseMs: LEASE, now: 0 });
    expect(await jobs.release(j!, { error: 'Error: boom', delayMs: 500, park: false, now: 100 })).toBe('pending');
    expect(await jobs.claim('w', 1, { leaseMs: LEASE, now: 599 })).toEqual([]);
    const [j2] = await jobs.claim('w', 1, { leaseMs: LEASE, now: 600 });
    expect(j2).toMatchObject({ id: j!.id, attempts: 2, lastError: 'Error: boom' });
    // New work for the user arrives while it runs; the failure folds into it.
    await jobs.enqueue('refresh', a, {}, 650);
    expect(await jobs.release(j2!, { error: 'Error: again', delayMs: 1000, park: false, now: 700 })).toBe('pending');
    const pending = await jobs.list('pending');
    expect(pending).toHaveLength(1);
    expect(pending[0]).toMatchObject({ attempts: 2, lastError: 'Error: again', runAfter: 1700 });
    // A deferral does not use up an attempt.
    const [j3] = await jobs.claim('w', 1, { leaseMs: LEASE, now: 2000 });
    expect(j3!.attempts).toBe(3);
    await jobs.release(j3!, { error: 'budget', delayMs: 0, park: false, refundAttempt: true, now: 2100 });
    expect((await jobs.list('pending'))[0]!.attempts).toBe(2);
    const [j4] = await jobs.claim('w', 1, { leaseMs: LEASE, now: 2200 });
    expect(await jobs.release(j4!, { error: 'x'.repeat(5000), delayMs: 0, park: true, now: 2300 })).toBe('parked');
    const parked = await jobs.list('parked');
    expect(parked[0]!.lastError).toHaveLength(2000);
    expect(await jobs.retryParked([9999])).toBe(0);
    expect(await jobs.retryParked([parked[0]!.id], 3000)).toBe(1);
    expect((await jobs.list('pending'))[0]).toMatchObject({ attempts: 0, runAfter: 3000 });
    expect(await jobs.retryParked()).toBe(0);
  });

  it('retrying a parked job folds into pending work for the same user', async () => {
    const jobs = ctx.store.jobs;
    const a = await user(ctx.store, 'a');
    await jobs.enqueue('refresh', a, {}, 0);
    const [j] = await jobs.claim('w', 1, { leaseMs: LEASE, now: 0 });
    await jobs.release(j!, { error: 'E', delayMs: 0, park: true, now: 10 });
    await jobs.enqueue('refresh', a, {}, 20);
    expect(await jobs.retryParked(undefined, 30)).toBe(1);
    expect(await jobs.counts(30)).toMatchObject({ pending: 1, parked: 0 });
  });

  it('prunes done jobs older than the retention and reports the table size', async () => {
    const jobs = ctx.store.jobs;
    for (let i = 0; i < 4; i++) await jobs.enqueue('refresh', await user(ctx.store, `u${i}`), {}, 0);
    const claimed = await jobs.claim('w', 3, { leaseMs: LEASE, now: 0 });
    await jobs.complete(claimed[0]!, 1000);
    await jobs.complete(claimed[1]!, 5000);
    expect(await jobs.tableSize()).toEqual({ rows: 4 });
    expect(await jobs.pruneDone(2000, 4000)).toBe(1);
    expect(await jobs.counts(4000)).toMatchObject({ done: 1, running: 1, pending: 1 });
    expect(await jobs.tableSize()).toEqual({ rows: 3 });
  });
});
