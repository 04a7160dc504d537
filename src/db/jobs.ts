import type { Db } from './connection.ts';
import { classifySqliteError } from './errors.ts';

export interface JobRow {
  id: number;
  kind: string;
  user_id: number | null;
  payload: string;
  status: 'pending' | 'running' | 'done' | 'parked';
  attempts: number;
  run_after: number;
  last_error: string | null;
  locked_by: string | null;
  locked_at: number | null;
  created_at: number;
  updated_at: number;
}

/**
 * The durable job queue. A job is claimed by flipping it to `running` in one statement (no two
 * workers get the same job, even across processes); a crash leaves it `running` until
 * `recoverStale` hands it back, so killing a worker loses nothing.
 */
export function claimJobs(db: Db, workerId: string, limit: number, now = Date.now()): JobRow[] {
  return db.sqlite
    .prepare(
      `UPDATE jobs SET status = 'running', locked_by = ?, locked_at = ?, attempts = attempts + 1, updated_at = ?
       WHERE id IN (SELECT id FROM jobs WHERE status = 'pending' AND run_after <= ? ORDER BY run_after, id LIMIT ?)
       RETURNING *`,
    )
    .all(workerId, now, now, now, limit) as JobRow[];
}

export function completeJob(db: Db, id: number, now = Date.now()): void {
  db.stmt(`UPDATE jobs SET status = 'done', locked_by = NULL, last_error = NULL, updated_at = ? WHERE id = ?`).run(now, id);
}

/**
 * Hands a job back to the queue (or parks it): `pending` again after `delayMs`. If new work for the
 * same (kind, user) was enqueued meanwhile, the two are folded into that pending job so the
 * attempt count and last error survive.
 */
export function releaseJob(
  db: Db,
  job: JobRow,
  opts: { error: string | null; delayMs: number; park: boolean; now?: number; /** a deferral (e.g. LLM budget) is not a failed attempt */ refundAttempt?: boolean },
): 'pending' | 'parked' {
  const now = opts.now ?? Date.now();
  if (opts.refundAttempt) {
    db.stmt('UPDATE jobs SET attempts = max(0, attempts - 1) WHERE id = ?').run(job.id);
    job = { ...job, attempts: Math.max(0, job.attempts - 1) };
  }
  const error = opts.error === null ? null : opts.error.slice(0, 2000);
  if (opts.park) {
    db.stmt(`UPDATE jobs SET status = 'parked', locked_by = NULL, last_error = ?, updated_at = ? WHERE id = ?`).run(error, now, job.id);
    return 'parked';
  }
  return db.sqlite.transaction(() => {
    try {
      db.sqlite
        .prepare(`UPDATE jobs SET status = 'pending', locked_by = NULL, last_error = ?, run_after = ?, updated_at = ? WHERE id = ?`)
        .run(error, now + opts.delayMs, now, job.id);
    } catch (err) {
      if (classifySqliteError(err) !== 'unique') throw err;
      db.sqlite
        .prepare(
          `UPDATE jobs SET attempts = max(attempts, ?), last_error = coalesce(?, last_error), run_after = max(run_after, ?), updated_at = ?
           WHERE kind = ? AND user_id IS ? AND status = 'pending'`,
        )
        .run(job.attempts, error, now + opts.delayMs, now, job.kind, job.user_id);
      db.stmt('DELETE FROM jobs WHERE id = ?').run(job.id);
    }
    return 'pending' as const;
  }).immediate();
}

/** Jobs left `running` by a worker that died: back to pending (their attempt still counts). */
export function recoverStale(db: Db, olderThanMs: number, now = Date.now()): number {
  const stale = db.stmt(`SELECT * FROM jobs WHERE status = 'running' AND locked_at < ?`).all(now - olderThanMs) as JobRow[];
  for (const j of stale) releaseJob(db, j, { error: j.last_error ?? 'worker stopped while running', delayMs: 0, park: false, now });
  return stale.length;
}

/** Parked jobs back to pending with a fresh attempt budget. */
export function retryParked(db: Db, ids?: number[], now = Date.now()): number {
  const rows = (ids?.length
    ? db.stmt(`SELECT * FROM jobs WHERE status = 'parked' AND id IN (${ids.map(() => '?').join(',')})`).all(...ids)
    : db.stmt(`SELECT * FROM jobs WHERE status = 'parked'`).all()) as JobRow[];
  for (const j of rows) {
    db.stmt(`UPDATE jobs SET attempts = 0 WHERE id = ?`).run(j.id);
    releaseJob(db, { ...j, attempts: 0 }, { error: j.last_error, delayMs: 0, park: false, now });
  }
  return rows.length;
}

export function listJobs(db: Db, status: JobRow['status'], limit = 100): JobRow[] {
  return db.stmt('SELECT * FROM jobs WHERE status = ? ORDER BY updated_at DESC LIMIT ?').all(status, limit) as JobRow[];
}

export function countJobs(db: Db, status: JobRow['status'], now = Date.now()): number {
  return (db.stmt('SELECT count(*) AS n FROM jobs WHERE status = ? AND (? OR run_after <= ?)').get(status, status === 'pending' ? 0 : 1, now) as { n: number }).n;
}

export function enqueueJob(db: Db, kind: string, userId: number | null, payload: unknown = {}, now = Date.now()): void {
  // Coalesces: at most one pending job per (kind, user). Ingestion calls this for every touched user.
  db.stmt(
    `INSERT INTO jobs (kind, user_id, payload, run_after, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (kind, user_id) WHERE status = 'pending' DO NOTHING`,
  ).run(kind, userId, JSON.stringify(payload), now, now, now);
}

/** Old finished jobs are noise: keep a day of them for inspection. */
export function pruneDone(db: Db, olderThanMs = 86_400_000, now = Date.now()): number {
  return db.stmt(`DELETE FROM jobs WHERE status = 'done' AND updated_at < ?`).run(now - olderThanMs).changes;
}
