import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IngestStore } from '../../src/db/ingest-store.ts';
import type { JobStore } from '../../src/db/stores/jobs.ts';
import { Worker, type WorkerOptions } from '../../src/jobs/worker.ts';
import { createTempDb, type TempDb } from '../support/temp-db.ts';
import { ManualClock, settle } from './manual-clock.ts';

let t: TempDb;
let jobs: JobStore;
let clock: ManualClock;
let userId: number;
beforeEach(() => {
  t = createTempDb();
  jobs = t.store.jobs;
  clock = new ManualClock();
  userId = new IngestStore(t.db).resolveUser('user', 'u1', clock.now());
});
afterEach(() => t.cleanup());

const LEASE = 30_000;
const worker = (handlers: ConstructorParameters<typeof Worker>[1], opts: WorkerOptions = {}) => new Worker(jobs, handlers, { clock, leaseMs: LEASE, random: () => 0.5, ...opts });
/** A handler that runs until released, to hold a job in flight. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  let entered = 0;
  return {
    open,
    get entered() {
      return entered;
    },
    handler: async () => {
      entered++;
      await opened;
    },
  };
}

describe('worker', () => {
  it('coalesces pending work per user and runs it once', async () => {
    await jobs.enqueue('k', userId, {}, clock.now());
    await jobs.enqueue('k', userId, {}, clock.now());
    let runs = 0;
    expect(await worker({ k: async () => void runs++ }).drain()).toEqual({ done: 1, retried: 0, parked: 0 });
    expect(runs).toBe(1);
    expect(await jobs.counts(clock.now())).toMatchObject({ done: 1, pending: 0, running: 0 });
  });

  it('backs off with the providers’ jittered formula, then parks with the error; retry brings it back', async () => {
    await jobs.enqueue('k', userId, {}, clock.now());
    let calls = 0;
    const w = worker(
      {
        k: async () => {
          calls++;
          throw new Error('boom');
        },
      },
      { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 10_000 },
    );
    expect(await w.drain()).toEqual({ done: 0, retried: 1, parked: 0 });
    // attempt 1 failed: uniform in [0, 1000) with random 0.5 → 500 ms
    expect((await jobs.list('pending'))[0]).toMatchObject({ runAfter: clock.now() + 500, attempts: 1, lastError: 'Error: boom' });
    await clock.advance(499);
    expect((await w.drain()).retried).toBe(0);
    await clock.advance(1);
    expect(await w.drain()).toEqual({ done: 0, retried: 1, parked: 0 });
    // attempt 2: cap 2000 → 1000 ms
    expect((await jobs.list('pending'))[0]!.runAfter).toBe(clock.now() + 1000);
    await clock.advance(1000);
    expect(await w.drain()).toEqual({ done: 0, retried: 0, parked: 1 });
    expect(calls).toBe(3);
    expect((await jobs.list('parked'))[0]).toMatchObject({ attempts: 3, lastError: 'Error: boom' });
    expect(await jobs.retryParked(undefined, clock.now())).toBe(1);
    expect((await worker({ k: async () => {} }).drain()).done).toBe(1);
  });

  it('parks at once on a non-retryable error', async () => {
    await jobs.enqueue('k', userId, {}, clock.now());
    const w = worker({
      k: async () => {
        throw Object.assign(new Error('schema violation'), { retryable: false });
      },
    });
    expect(await w.drain()).toEqual({ done: 0, retried: 0, parked: 1 });
    expect((await jobs.list('parked'))[0]?.lastError).toContain('schema violation');
  });

  it('a deferral waits at least the asked delay and does not use up an attempt', async () => {
    await jobs.enqueue('k', userId, {}, clock.now());
    const w = worker(
      {
        k: async () => {
          throw Object.assign(new Error('budget spent'), { deferred: true, retryAfterMs: 60_000 });
        },
      },
      { maxAttempts: 1 },
    );
    expect(await w.drain()).toEqual({ done: 0, retried: 1, parked: 0 });
    expect((await jobs.list('pending'))[0]).toMatchObject({ attempts: 0, runAfter: clock.now() + 60_000 });
  });

  it('a failed job folds into work enqueued while it ran', async () => {
    await jobs.enqueue('k', userId, {}, clock.now());
    const w = worker(
      {
        k: async () => {
          await jobs.enqueue('k', userId, {}, clock.now());
          throw new Error('transient');
        },
      },
      { maxAttempts: 2 },
    );
    await w.runOnce();
    const pending = await jobs.list('pending');
    expect(await jobs.tableSize()).toEqual({ rows: 1 });
    expect(pending[0]).toMatchObject({ attempts: 1, lastError: 'Error: transient' });
  });

  it('heartbeats keep a long job’s lease; another worker does not take it', async () => {
    await jobs.enqueue('k', userId, {}, clock.now());
    const g = gate();
    const w = worker({ k: g.handler });
    const run = w.runOnce();
    await settle();
    expect(g.entered).toBe(1);
    expect(clock.activeTimers).toBe(1);
    // Three leases pass while the job runs: the heartbeat (every third of a lease) renews it.
    await clock.advance(3 * LEASE);
    const other = worker({
      k: async () => {
        throw new Error('must not run');
      },
    });
    expect(await other.maintain()).toMatchObject({ reclaimed: 0 });
    expect(await other.drain()).toEqual({ done: 0, retried: 0, parked: 0 });
    expect((await jobs.counts(clock.now())).stuck).toBe(0);
    g.open();
    expect(await run).toMatchObject({ done: 1, lost: 0 });
    expect(clock.activeTimers).toBe(0);
  });

  it('a dead worker’s job is reclaimed within a lease and run by another', async () => {
    await jobs.enqueue('k', userId, {}, clock.now());
    // "dead" claims and then never heartbeats (its process was killed).
    const [claimed] = await jobs.claim('dead', 1, { leaseMs: LEASE, now: clock.now() });
    let runs = 0;
    const w = worker({ k: async () => void runs++ });
    expect(await w.drain()).toEqual({ done: 0, retried: 0, parked: 0 });
    await clock.advance(LEASE);
    expect((await jobs.counts(clock.now())).stuck).toBe(0);
    await clock.advance(1);
    expect((await jobs.counts(clock.now())).stuck).toBe(1);
    expect(await w.drain()).toEqual({ done: 1, retried: 0, parked: 0 });
    expect(runs).toBe(1);
    expect((await jobs.list('done'))[0]).toMatchObject({ id: claimed!.id, attempts: 2 });
  });

  it('a job whose lease lapsed while it ran is not recorded as done by its old holder', async () => {
    await jobs.enqueue('k', userId, {}, clock.now());
    const g = gate();
    const lost: number[] = [];
    const w = worker({ k: g.handler }, { onLeaseLost: (j) => lost.push(j.id) });
    const run = w.runOnce();
    await settle();
    // The holder stalled past its lease (no beat got through) and another process reclaimed the job.
    expect((await jobs.reclaimExpired({ now: clock.now() + LEASE + 1 })).reclaimed).toBe(1);
    g.open();
    expect(await run).toMatchObject({ done: 0, lost: 1 });
    expect(lost).toHaveLength(1);
    expect(await jobs.counts(clock.now())).toMatchObject({ pending: 1, done: 0 });
  });

  it('the background loop reclaims, runs new work when notified, prunes done jobs after the retention, and stops', async () => {
    let runs = 0;
    const w = worker({ k: async () => void runs++ }, { pollMs: 1000, retentionMs: 60_000 });
    w.start();
    await settle();
    await jobs.enqueue('k', userId, {}, clock.now());
    w.notify();
    await settle();
    expect(runs).toBe(1);
    expect(await jobs.tableSize()).toEqual({ rows: 1 });
    // Maintenance runs every half lease; the done job is pruned once it is older than the retention.
    await clock.advance(60_000 + LEASE);
    expect(await jobs.tableSize()).toEqual({ rows: 0 });
    await w.stop();
  });
});
