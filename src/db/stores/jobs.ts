import type { Dialect } from '../sql/dialect.ts';
import type { Executor, Queryable } from '../sql/executor.ts';
import { classifySqliteError } from '../errors.ts';

export type JobStatus = 'pending' | 'running' | 'done' | 'parked';
export const JOB_STATUSES: readonly JobStatus[] = ['pending', 'running', 'done', 'parked'];

export interface Job {
  id: number;
  kind: string;
  userId: number | null;
  /** JSON text */
  payload: string;
  status: JobStatus;
  attempts: number;
  runAfter: number;
  lastError: string | null;
  /** the worker holding the job while `running` */
  lockedBy: string | null;
  lockedAt: number | null;
  /** the holder's lease: past it, a `running` job belongs to a dead worker and is reclaimed */
  leaseUntil: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface JobCounts {
  pending: number;
  /** pending jobs whose backoff has passed (claimable now) */
  ready: number;
  running: number;
  done: number;
  parked: number;
  /** running with an expired lease: the holder died; the next reclaim hands them back */
  stuck: number;
}

export interface ReleaseOptions {
  error: string | null;
  delayMs: number;
  park: boolean;
  now?: number;
  /** a deferral (e.g. LLM budget, provider outage) is not a failed attempt */
  refundAttempt?: boolean;
}

/**
 * The durable job queue, shared by every process that runs the pipeline. A job is claimed with a
 * lease (`locked_by`, `lease_until`) that the holder extends by heartbeats while the job runs; a
 * killed worker stops heartbeating, and any process's `reclaimExpired` hands its jobs back within a
 * lease. At most one `pending` job exists per (kind, user), however many callers enqueue it.
 */
export interface JobStore {
  /** Queues work unless the same (kind, user) already waits; returns whether a row was added. */
  enqueue(kind: string, userId: number | null, payload?: unknown, now?: number): Promise<boolean>;
  /** Claims up to `limit` ready jobs for `workerId` until `now + leaseMs`; no two claimers get one job. */
  claim(workerId: string, limit: number, opts: { leaseMs: number; now?: number }): Promise<Job[]>;
  /** Extends the leases of the given jobs still held by `workerId`; returns the ids still held. */
  heartbeat(workerId: string, ids: readonly number[], opts: { leaseMs: number; now?: number }): Promise<number[]>;
  /** Marks a job done; false when the worker no longer held it (its lease lapsed and it was reclaimed). */
  complete(job: Pick<Job, 'id' | 'lockedBy'>, now?: number): Promise<boolean>;
  /**
   * Hands a held job back (`pending` after `delayMs`) or parks it. Work enqueued for the same
   * (kind, user) meanwhile absorbs it, keeping the attempt count and last error. Returns the
   * outcome, or null when the worker no longer held the job.
   */
  release(job: Pick<Job, 'id' | 'kind' | 'userId' | 'attempts' | 'lockedBy'>, opts: ReleaseOptions): Promise<'pending' | 'parked' | null>;
  /**
   * Running jobs whose lease lapsed go back to pending (their attempt counts), or are parked when
   * they already used `maxAttempts` (a job that kills its worker must not loop forever).
   */
  reclaimExpired(opts?: { now?: number; maxAttempts?: number }): Promise<{ reclaimed: number; parked: number }>;
  /** Parked jobs (all, or these ids) back to pending with a fresh attempt budget. */
  retryParked(ids?: readonly number[], now?: number): Promise<number>;
  /** Newest first. */
  list(status: JobStatus, limit?: number): Promise<Job[]>;
  /** The jobs with these ids (absent ids are left out; finished jobs are pruned after the retention). */
  byIds(ids: readonly number[]): Promise<Job[]>;
  counts(now?: number): Promise<JobCounts>;
  /** Deletes done jobs last updated more than `retentionMs` ago; returns how many. */
  pruneDone(retentionMs: number, now?: number): Promise<number>;
  /** Rows in the jobs table (what pruning keeps bounded). */
  tableSize(): Promise<{ rows: number }>;
}

const COLUMNS = `id, kind, user_id AS "userId", payload, status, attempts, run_after AS "runAfter", last_error AS "lastError",
  locked_by AS "lockedBy", locked_at AS "lockedAt", lease_until AS "leaseUntil", created_at AS "createdAt", updated_at AS "updatedAt"`;

/**
 * The enqueue statement, for a hot path that writes jobs inside its own transaction (ingestion):
 * params `[kind, userId, payloadJson, now, now, now]`. Coalesces on the partial unique index
 * `jobs_pending_uq` (kind, user_id) WHERE status = 'pending'. On a conflict it changes nothing but
 * locks the pending row until the caller commits (PostgreSQL locks every conflicting row of DO
 * UPDATE, even one its WHERE skips): claimers skip locked rows, so the refresh this work relies on
 * cannot start before the work is visible. DO NOTHING let a worker claim the job and read the
 * user's data mid-transaction, and the new events were never refreshed.
 */
export const ENQUEUE_JOB_SQL = `INSERT INTO jobs (kind, user_id, payload, run_after, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
  ON CONFLICT (kind, user_id) WHERE status = 'pending' DO UPDATE SET updated_at = jobs.updated_at WHERE false`;

export const enqueueParams = (kind: string, userId: number | null, payload: unknown, now: number) => [kind, userId, JSON.stringify(payload ?? {}), now, now, now] as const;

/** A unique-index violation on either driver (SQLite's extended code, PostgreSQL's SQLSTATE 23505). */
const isUniqueViolation = (err: unknown) => classifySqliteError(err) === 'unique' || (err as { code?: unknown } | null)?.code === '23505';

const MAX_ERROR_CHARS = 2000;

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
/** pg hands int8 back as numbers (executor) but keep rows uniform on both drivers */
const toJob = (r: Job): Job => ({
  ...r,
  id: Number(r.id),
  userId: num(r.userId),
  attempts: Number(r.attempts),
  runAfter: Number(r.runAfter),
  lockedAt: num(r.lockedAt),
  leaseUntil: num(r.leaseUntil),
  createdAt: Number(r.createdAt),
  updatedAt: Number(r.updatedAt),
});

export class SqlJobStore implements JobStore {
  constructor(
    protected readonly x: Executor,
    protected readonly d: Dialect,
  ) {}

  async enqueue(kind: string, userId: number | null, payload: unknown = {}, now = Date.now()): Promise<boolean> {
    return (await this.x.run(ENQUEUE_JOB_SQL, enqueueParams(kind, userId, payload, now))).changes > 0;
  }

  async claim(workerId: string, limit: number, opts: { leaseMs: number; now?: number }): Promise<Job[]> {
    const now = opts.now ?? Date.now();
    if (limit <= 0) return [];
    const set = `status = 'running', locked_by = ?, locked_at = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?`;
    const setParams = [workerId, now, now + opts.leaseMs, now];
    const ready = `SELECT id FROM jobs WHERE status = 'pending' AND run_after <= ? ORDER BY run_after, id LIMIT ?`;
    const rows =
      this.d.name === 'postgres'
        ? // Row locks taken by another claimer are skipped, not waited for: claimers never block each other.
          await this.x.tx((q) =>
            q.all<Job>(
              `WITH c AS (${ready} FOR UPDATE SKIP LOCKED)
               UPDATE jobs SET ${set} FROM c WHERE jobs.id = c.id RETURNING ${COLUMNS.replace(/\bid,/, 'jobs.id,')}`,
              [now, limit, ...setParams],
            ),
          )
        : // SQLite: one writer at a time (BEGIN IMMEDIATE), so select-and-flip in one statement is exclusive.
          await this.x.tx((q) => q.all<Job>(`UPDATE jobs SET ${set} WHERE id IN (${ready}) RETURNING ${COLUMNS}`, [...setParams, now, limit]));
    return rows.map(toJob).sort((a, b) => a.runAfter - b.runAfter || a.id - b.id);
  }

  async heartbeat(workerId: string, ids: readonly number[], opts: { leaseMs: number; now?: number }): Promise<number[]> {
    if (!ids.length) return [];
    const now = opts.now ?? Date.now();
    const rows = await this.x.tx((q) =>
      q.all<{ id: number }>(
        `UPDATE jobs SET lease_until = ?, updated_at = ? WHERE status = 'running' AND locked_by = ? AND id IN (${ids.map(() => '?').join(', ')}) RETURNING id`,
        [now + opts.leaseMs, now, workerId, ...ids],
      ),
    );
    return rows.map((r) => Number(r.id));
  }

  async complete(job: Pick<Job, 'id' | 'lockedBy'>, now = Date.now()): Promise<boolean> {
    const r = await this.x.run(
      `UPDATE jobs SET status = 'done', locked_by = NULL, lease_until = NULL, last_error = NULL, updated_at = ? WHERE id = ? AND status = 'running' AND locked_by = ?`,
      [now, job.id, job.lockedBy],
    );
    return r.changes > 0;
  }

  async release(job: Pick<Job, 'id' | 'kind' | 'userId' | 'attempts' | 'lockedBy'>, opts: ReleaseOptions): Promise<'pending' | 'parked' | null> {
    const now = opts.now ?? Date.now();
    const error = opts.error === null ? null : opts.error.slice(0, MAX_ERROR_CHARS);
    // A concurrent enqueue (another process) can insert the pending row between our check and our
    // flip on PostgreSQL; then the flip violates the unique index and we fold on the next try.
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.x.tx((q) => this.releaseIn(q, job, error, opts, now));
      } catch (err) {
        if (attempt >= 2 || !isUniqueViolation(err)) throw err;
      }
    }
  }

  private async releaseIn(
    q: Queryable,
    job: Pick<Job, 'id' | 'kind' | 'userId' | 'attempts' | 'lockedBy'>,
    error: string | null,
    opts: ReleaseOptions,
    now: number,
  ): Promise<'pending' | 'parked' | null> {
    const held = await q.get<{ attempts: number }>(`SELECT attempts FROM jobs WHERE id = ? AND status = 'running' AND locked_by = ?`, [job.id, job.lockedBy]);
    if (!held) return null;
    const attempts = opts.refundAttempt ? Math.max(0, Number(held.attempts) - 1) : Number(held.attempts);
    if (opts.park) {
      await q.run(`UPDATE jobs SET status = 'parked', attempts = ?, locked_by = NULL, lease_until = NULL, last_error = ?, updated_at = ? WHERE id = ?`, [
        attempts,
        error,
        now,
        job.id,
      ]);
      return 'parked';
    }
    return this.backToPending(q, { id: job.id, kind: job.kind, userId: job.userId, attempts }, error, now + opts.delayMs, now);
  }

  /** Pending again at `runAfter`, or folded into the pending job for the same (kind, user). */
  private async backToPending(q: Queryable, job: Pick<Job, 'id' | 'kind' | 'userId' | 'attempts'>, error: string | null, runAfter: number, now: number): Promise<'pending'> {
    const sameUser = job.userId === null ? 'user_id IS NULL' : 'user_id = ?';
    const folded = await q.run(
      `UPDATE jobs SET attempts = ${this.d.greatest('attempts', '?')}, last_error = coalesce(?, last_error), run_after = ${this.d.greatest('run_after', '?')}, updated_at = ?
       WHERE kind = ? AND ${sameUser} AND status = 'pending' AND id <> ?`,
      [job.attempts, error, runAfter, now, job.kind, ...(job.userId === null ? [] : [job.userId]), job.id],
    );
    if (folded.changes > 0) {
      await q.run('DELETE FROM jobs WHERE id = ?', [job.id]);
      return 'pending';
    }
    await q.run(`UPDATE jobs SET status = 'pending', attempts = ?, locked_by = NULL, lease_until = NULL, last_error = ?, run_after = ?, updated_at = ? WHERE id = ?`, [
      job.attempts,
      error,
      runAfter,
      now,
      job.id,
    ]);
    return 'pending';
  }

  async reclaimExpired(opts: { now?: number; maxAttempts?: number } = {}): Promise<{ reclaimed: number; parked: number }> {
    const now = opts.now ?? Date.now();
    const out = { reclaimed: 0, parked: 0 };
    // A row from before leases (lease_until NULL) counts as expired.
    const lapsed = await this.x.all<Job>(`SELECT ${COLUMNS} FROM jobs WHERE status = 'running' AND coalesce(lease_until, 0) < ? ORDER BY id LIMIT 1000`, [now]);
    for (const raw of lapsed) {
      const j = toJob(raw);
      const park = opts.maxAttempts !== undefined && j.attempts >= opts.maxAttempts;
      const error = j.lastError ?? `worker ${j.lockedBy ?? '?'} stopped while running (lease expired)`;
      const r = await this.release(j, { error, delayMs: 0, park, now });
      if (r === 'parked') out.parked++;
      else if (r === 'pending') out.reclaimed++;
    }
    return out;
  }

  async retryParked(ids?: readonly number[], now = Date.now()): Promise<number> {
    const rows = ids?.length
      ? await this.x.all<Job>(`SELECT ${COLUMNS} FROM jobs WHERE status = 'parked' AND id IN (${ids.map(() => '?').join(', ')})`, ids)
      : await this.x.all<Job>(`SELECT ${COLUMNS} FROM jobs WHERE status = 'parked'`);
    let n = 0;
    for (const raw of rows) {
      const j = toJob(raw);
      for (let attempt = 0; ; attempt++) {
        try {
          await this.x.tx(async (q) => {
            const still = await q.get(`SELECT id FROM jobs WHERE id = ? AND status = 'parked'`, [j.id]);
            if (!still) return;
            await this.backToPending(q, { ...j, attempts: 0 }, j.lastError, now, now);
            n++;
          });
          break;
        } catch (err) {
          if (attempt >= 2 || !isUniqueViolation(err)) throw err;
        }
      }
    }
    return n;
  }

  async list(status: JobStatus, limit = 100): Promise<Job[]> {
    return (await this.x.all<Job>(`SELECT ${COLUMNS} FROM jobs WHERE status = ? ORDER BY updated_at DESC, id DESC LIMIT ?`, [status, limit])).map(toJob);
  }

  async byIds(ids: readonly number[]): Promise<Job[]> {
    const out: Job[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      out.push(...(await this.x.all<Job>(`SELECT ${COLUMNS} FROM jobs WHERE id IN (${chunk.map(() => '?').join(', ')}) ORDER BY id`, chunk)).map(toJob));
    }
    return out;
  }

  async counts(now = Date.now()): Promise<JobCounts> {
    const out: JobCounts = { pending: 0, ready: 0, running: 0, done: 0, parked: 0, stuck: 0 };
    const rows = await this.x.all<{ status: JobStatus; n: number; ready: number; stuck: number }>(
      `SELECT status, count(*) AS n,
         sum(${this.d.flag("status = 'pending' AND run_after <= ?")}) AS ready,
         sum(${this.d.flag("status = 'running' AND coalesce(lease_until, 0) < ?")}) AS stuck
       FROM jobs GROUP BY status`,
      [now, now],
    );
    for (const r of rows) {
      if (r.status in out) out[r.status] = Number(r.n);
      out.ready += Number(r.ready ?? 0);
      out.stuck += Number(r.stuck ?? 0);
    }
    return out;
  }

  async pruneDone(retentionMs: number, now = Date.now()): Promise<number> {
    return (await this.x.run(`DELETE FROM jobs WHERE status = 'done' AND updated_at < ?`, [now - retentionMs])).changes;
  }

  async tableSize(): Promise<{ rows: number }> {
    const r = await this.x.get<{ n: number }>('SELECT count(*) AS n FROM jobs');
    return { rows: Number(r?.n ?? 0) };
  }
}
