import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../src/db/connection.ts';
import { claimJobs, enqueueJob, listJobs, recoverStale, retryParked } from '../../src/db/jobs.ts';
import { IngestStore } from '../../src/db/ingest-store.ts';
import { Worker } from '../../src/jobs/worker.ts';

let db: Db;
let userId: number;
beforeEach(() => {
  db = openDb(join(mkdtempSync(join(tmpdir(), 'tl-jobs-')), 'jobs.db'));
  userId = new IngestStore(db).resolveUser('user', 'u1', Date.now());
});
afterEach(() => db.close());

const status = () => (db.sqlite.prepare('SELECT status, attempts, last_error FROM jobs').all() as { status: string; attempts: number; last_error: string | null }[]);

describe('job queue and worker', () => {
  it('coalesces pending work per user and runs it once', async () => {
    enqueueJob(db, 'k', userId);
    enqueueJob(db, 'k', userId);
    let runs = 0;
    const w = new Worker(db, { k: async () => void runs++ });
    expect(await w.drain()).toEqual({ done: 1, retried: 0, parked: 0 });
    expect(runs).toBe(1);
    expect(status()).toEqual([{ status: 'done', attempts: 1, last_error: null }]);
  });

  it('retries a failing job with backoff, then parks it with its error; retry brings it back', async () => {
    enqueueJob(db, 'k', userId);
    let calls = 0;
    const w = new Worker(db, { k: async () => { calls++; throw new Error('boom'); } }, { maxAttempts: 3, baseDelayMs: 0 });
    const t = await w.drain();
    expect(calls).toBe(3);
    expect(t).toEqual({ done: 0, retried: 2, parked: 1 });
    expect(status()[0]).toMatchObject({ status: 'parked', attempts: 3, last_error: 'Error: boom' });
    expect(retryParked(db)).toBe(1);
    const ok = new Worker(db, { k: async () => {} });
    expect((await ok.drain()).done).toBe(1);
  });

  it('parks at once on a non-retryable error', async () => {
    enqueueJob(db, 'k', userId);
    const w = new Worker(db, { k: async () => { throw Object.assign(new Error('schema violation'), { retryable: false }); } }, { baseDelayMs: 0 });
    expect(await w.drain()).toEqual({ done: 0, retried: 0, parked: 1 });
    expect(listJobs(db, 'parked')[0]?.last_error).toContain('schema violation');
  });

  it('a failed job folds into work enqueued while it ran', async () => {
    enqueueJob(db, 'k', userId);
    const w = new Worker(db, { k: async () => { enqueueJob(db, 'k', userId); throw new Error('transient'); } }, { baseDelayMs: 0, maxAttempts: 2 });
    await w.runOnce();
    const rows = status();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'pending', attempts: 1, last_error: 'Error: transient' });
  });

  it('a job left running by a dead worker is recovered', () => {
    enqueueJob(db, 'k', userId, {}, 1000);
    expect(claimJobs(db, 'dead', 10, 2000)).toHaveLength(1);
    expect(claimJobs(db, 'other', 10, 2000)).toHaveLength(0);
    expect(recoverStale(db, 60_000, 2000 + 61_000)).toBe(1);
    expect(status()[0]?.status).toBe('pending');
  });

  it('the background loop picks up new work and stops cleanly', async () => {
    let runs = 0;
    const w = new Worker(db, { k: async () => void runs++ }, { pollMs: 20 });
    w.start();
    enqueueJob(db, 'k', userId);
    w.notify();
    for (let i = 0; i < 100 && runs === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await w.stop();
    expect(runs).toBe(1);
  });
});
