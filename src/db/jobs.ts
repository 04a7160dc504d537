import type { Db } from './connection.ts';
import { ENQUEUE_JOB_SQL, enqueueParams } from './stores/jobs.ts';

/**
 * TRANSITION: the synchronous enqueue for callers still inside a better-sqlite3 transaction
 * (users.ts merge, the refresh route). The queue itself is `JobStore` (stores/jobs.ts); this goes
 * once those callers use `store.jobs.enqueue` or the same statement inside their own store.
 */
export function enqueueJob(db: Db, kind: string, userId: number | null, payload: unknown = {}, now = Date.now()): void {
  db.stmt(ENQUEUE_JOB_SQL).run(...enqueueParams(kind, userId, payload, now));
}
