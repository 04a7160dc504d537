import { randomBytes } from 'node:crypto';
import type { Db } from '../db/connection.ts';
import { claimJobs, completeJob, recoverStale, releaseJob, type JobRow } from '../db/jobs.ts';

export type JobHandler = (job: JobRow) => Promise<void>;

export interface WorkerOptions {
  /** jobs claimed and run at once */
  concurrency?: number;
  /** attempts before a job is parked (dead letter) */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  pollMs?: number;
  /** a `running` job older than this belongs to a dead worker and is handed back */
  staleAfterMs?: number;
  workerId?: string;
  onError?: (job: JobRow, err: unknown, outcome: 'retry' | 'parked' | 'deferred') => void;
  /** after a job completed (logs with the job id, metrics) */
  onDone?: (job: JobRow, ms: number) => void;
}

export interface RunTally {
  done: number;
  retried: number;
  parked: number;
}

/**
 * What a failure means for the job. Errors may carry `retryable` (provider errors do) and
 * `retryAfterMs`; a non-retryable error (e.g. the model's output stayed malformed after its one
 * corrective retry) parks the job at once, everything else backs off until maxAttempts.
 */
function failureOf(err: unknown): { retryable: boolean; deferred: boolean; retryAfterMs: number | undefined; message: string } {
  const e = err as { retryable?: unknown; deferred?: unknown; retryAfterMs?: unknown; message?: unknown; name?: unknown } | null;
  return {
    retryable: e?.retryable !== false,
    // `deferred` (provider outage, circuit open, LLM budget spent): not the job's fault; it waits
    // (until retryAfterMs when given) without using up an attempt, so an outage never parks work.
    deferred: e?.deferred === true,
    retryAfterMs: typeof e?.retryAfterMs === 'number' ? e.retryAfterMs : undefined,
    message: `${typeof e?.name === 'string' ? e.name : 'Error'}: ${typeof e?.message === 'string' ? e.message : String(err)}`,
  };
}

/** Runs queued jobs with retries, backoff with jitter, and parking; in the server or standalone. */
export class Worker {
  readonly id: string;
  private readonly opts: Required<Omit<WorkerOptions, 'onError' | 'onDone' | 'workerId'>> & Pick<WorkerOptions, 'onError' | 'onDone'>;
  private loop: Promise<void> | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;

  constructor(
    private readonly db: Db,
    private readonly handlers: Record<string, JobHandler>,
    opts: WorkerOptions = {},
  ) {
    this.id = opts.workerId ?? `worker-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.opts = {
      concurrency: opts.concurrency ?? 4,
      maxAttempts: opts.maxAttempts ?? 5,
      baseDelayMs: opts.baseDelayMs ?? 1000,
      maxDelayMs: opts.maxDelayMs ?? 5 * 60_000,
      pollMs: opts.pollMs ?? 500,
      staleAfterMs: opts.staleAfterMs ?? 10 * 60_000,
      onError: opts.onError,
      onDone: opts.onDone,
    };
  }

  /** Claims up to `concurrency` ready jobs and runs them; returns what happened. */
  async runOnce(): Promise<RunTally & { claimed: number }> {
    const jobs = claimJobs(this.db, this.id, this.opts.concurrency);
    const tally = { done: 0, retried: 0, parked: 0, claimed: jobs.length };
    await Promise.all(
      jobs.map(async (job) => {
        const handler = this.handlers[job.kind];
        const started = performance.now();
        try {
          if (!handler) throw Object.assign(new Error(`no handler for job kind "${job.kind}"`), { retryable: false });
          await handler(job);
          completeJob(this.db, job.id);
          tally.done++;
          this.opts.onDone?.(job, performance.now() - started);
        } catch (err) {
          const f = failureOf(err);
          if (f.deferred) {
            // An outage or a spent budget: wait (at least as long as asked, with jittered backoff), never park.
            const wait = Math.max(f.retryAfterMs ?? 0, Math.round(Math.random() * Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** Math.max(0, job.attempts - 1))));
            releaseJob(this.db, job, { error: f.message, delayMs: wait, park: false, refundAttempt: true });
            tally.retried++;
            this.opts.onError?.(job, err, 'deferred');
            return;
          }
          const park = !f.retryable || job.attempts >= this.opts.maxAttempts;
          const backoff = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (job.attempts - 1));
          // Full jitter spreads retries of many users failing on one outage.
          const delayMs = Math.max(f.retryAfterMs ?? 0, Math.round(Math.random() * backoff));
          releaseJob(this.db, job, { error: f.message, delayMs, park });
          if (park) tally.parked++;
          else tally.retried++;
          this.opts.onError?.(job, err, park ? 'parked' : 'retry');
        }
      }),
    );
    return tally;
  }

  /** Runs until no job is ready (jobs waiting out a backoff are left for later). */
  async drain(onProgress?: (t: RunTally) => void): Promise<RunTally> {
    recoverStale(this.db, this.opts.staleAfterMs);
    const total = { done: 0, retried: 0, parked: 0 };
    for (;;) {
      const t = await this.runOnce();
      total.done += t.done;
      total.retried += t.retried;
      total.parked += t.parked;
      onProgress?.(total);
      if (t.claimed === 0) return total;
    }
  }

  /** Starts the background loop (in the server process). */
  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = (async () => {
      let lastRecover = 0;
      while (!this.stopping) {
        if (Date.now() - lastRecover > this.opts.staleAfterMs / 2) {
          recoverStale(this.db, this.opts.staleAfterMs);
          lastRecover = Date.now();
        }
        let claimed = 0;
        try {
          claimed = (await this.runOnce()).claimed;
        } catch {
          // The database was busy or closing; wait and try again rather than die.
        }
        if (claimed === 0 && !this.stopping) await new Promise<void>((r) => {
          const t = setTimeout(r, this.opts.pollMs);
          this.wake = () => {
            clearTimeout(t);
            r();
          };
        });
      }
    })();
  }

  /** Nudges an idle loop to look for work now (e.g. after ingestion). */
  notify(): void {
    this.wake?.();
  }

  /** Stops claiming and waits for running jobs to finish. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    this.loop = null;
  }
}
