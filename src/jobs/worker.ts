import { randomBytes } from 'node:crypto';
import { backoffDelay } from '../core/backoff.ts';
import type { Job, JobStore } from '../db/stores/jobs.ts';

export type JobHandler = (job: Job) => Promise<void>;

/** Time for the worker: leases, heartbeats, polling. Tests inject a manual one (no sleeps). */
export interface WorkerClock {
  now(): number;
  /** calls `fn` every `ms` until the returned function is called */
  every(ms: number, fn: () => void): () => void;
  /** resolves after `ms`, or at once when `wake` is called */
  sleep(ms: number): { done: Promise<void>; wake(): void };
}

export const systemClock: WorkerClock = {
  now: () => Date.now(),
  every(ms, fn) {
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  },
  sleep(ms) {
    let wake!: () => void;
    const done = new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    return { done, wake };
  },
};

export interface WorkerOptions {
  /** jobs claimed and run at once (one slice) */
  concurrency?: number;
  /** attempts before a job is parked (dead letter) */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  pollMs?: number;
  /** a claimed job's lease (TRAITLENS_JOB_LEASE_MS); renewed every `heartbeatMs` while the job runs */
  leaseMs?: number;
  /** default a third of the lease: two missed beats still leave the lease alive */
  heartbeatMs?: number;
  /** done jobs older than this are pruned by the background loop (TRAITLENS_JOBS_RETENTION_MS) */
  retentionMs?: number;
  workerId?: string;
  clock?: WorkerClock;
  /** jitter source for backoff (tests pin it) */
  random?: () => number;
  /**
   * Awaited before each slice is claimed: the server's thread uses it to let ingestion go first
   * (it resolves once no ingestion request is in flight, or after a bounded wait).
   */
  beforeSlice?: () => Promise<void>;
  onError?: (job: Job, err: unknown, outcome: 'retry' | 'parked' | 'deferred') => void;
  /** after a job completed (logs with the job id, metrics) */
  onDone?: (job: Job, ms: number) => void;
  /** the job's lease lapsed while it ran and another worker may have it: its result is not recorded */
  onLeaseLost?: (job: Job) => void;
  /** reclaim/prune figures from the background loop */
  onMaintenance?: (m: { reclaimed: number; parked: number; pruned: number }) => void;
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

type Resolved = Required<Omit<WorkerOptions, 'onError' | 'onDone' | 'onLeaseLost' | 'onMaintenance' | 'workerId' | 'beforeSlice' | 'random'>> &
  Pick<WorkerOptions, 'onError' | 'onDone' | 'onLeaseLost' | 'onMaintenance' | 'beforeSlice' | 'random'>;

export function workerDefaults(config: {
  TRAITLENS_JOB_LEASE_MS: number;
  TRAITLENS_JOBS_RETENTION_MS: number;
  TRAITLENS_WORKER_SLICE: number;
}): Pick<WorkerOptions, 'leaseMs' | 'retentionMs' | 'concurrency'> {
  return { leaseMs: config.TRAITLENS_JOB_LEASE_MS, retentionMs: config.TRAITLENS_JOBS_RETENTION_MS, concurrency: config.TRAITLENS_WORKER_SLICE };
}

/**
 * Runs queued jobs with leases, retries (jittered backoff), deferral and parking; in the server's
 * worker thread, in `traitlens worker`, or drained by `traitlens process`. Any number of workers
 * share one queue: claims are exclusive, and each one reclaims jobs whose holder stopped renewing.
 */
export class Worker {
  readonly id: string;
  private readonly opts: Resolved;
  private readonly clock: WorkerClock;
  private loop: Promise<void> | null = null;
  private stopping = false;
  private idle: { wake(): void } | null = null;
  /** jobs this worker holds now (their leases are renewed by the heartbeat) */
  private readonly held = new Map<number, Job>();
  private readonly lost = new Set<number>();
  private stopBeat: (() => void) | null = null;
  private lastMaintenance = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly jobs: JobStore,
    private readonly handlers: Record<string, JobHandler>,
    opts: WorkerOptions = {},
  ) {
    this.id = opts.workerId ?? `worker-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.clock = opts.clock ?? systemClock;
    const leaseMs = opts.leaseMs ?? 30_000;
    this.opts = {
      concurrency: opts.concurrency ?? 4,
      maxAttempts: opts.maxAttempts ?? 5,
      baseDelayMs: opts.baseDelayMs ?? 1000,
      maxDelayMs: opts.maxDelayMs ?? 5 * 60_000,
      pollMs: opts.pollMs ?? 500,
      leaseMs,
      heartbeatMs: Math.max(1, Math.min(opts.heartbeatMs ?? Math.floor(leaseMs / 3), leaseMs - 1)),
      retentionMs: opts.retentionMs ?? 86_400_000,
      clock: this.clock,
      beforeSlice: opts.beforeSlice,
      random: opts.random,
      onError: opts.onError,
      onDone: opts.onDone,
      onLeaseLost: opts.onLeaseLost,
      onMaintenance: opts.onMaintenance,
    };
  }

  /** Ids of the jobs running here now (what shutdown reports when it gives up waiting). */
  get running(): Job[] {
    return [...this.held.values()];
  }

  /** Claims up to `concurrency` ready jobs (one bounded slice) and runs them; returns what happened. */
  async runOnce(): Promise<RunTally & { claimed: number; lost: number }> {
    await this.opts.beforeSlice?.();
    const jobs = await this.jobs.claim(this.id, this.opts.concurrency, { leaseMs: this.opts.leaseMs, now: this.clock.now() });
    const tally = { done: 0, retried: 0, parked: 0, claimed: jobs.length, lost: 0 };
    if (!jobs.length) return tally;
    for (const j of jobs) this.held.set(j.id, j);
    this.startHeartbeat();
    try {
      await Promise.all(jobs.map((job) => this.runJob(job, tally)));
    } finally {
      for (const j of jobs) {
        this.held.delete(j.id);
        this.lost.delete(j.id);
      }
      if (!this.held.size) this.stopHeartbeat();
    }
    return tally;
  }

  private async runJob(job: Job, tally: RunTally & { lost: number }): Promise<void> {
    const handler = this.handlers[job.kind];
    const started = performance.now();
    let failure: unknown;
    let ok = false;
    try {
      if (!handler) throw Object.assign(new Error(`no handler for job kind "${job.kind}"`), { retryable: false });
      await handler(job);
      ok = true;
    } catch (err) {
      failure = err;
    }
    if (ok) {
      if (await this.jobs.complete(job, this.clock.now())) {
        tally.done++;
        this.opts.onDone?.(job, performance.now() - started);
      } else this.leaseLost(job, tally);
      return;
    }
    const f = failureOf(failure);
    // Backoff from the providers' formula: attempt 1 waits up to base, then doubling, capped.
    const jitter = backoffDelay(job.attempts - 1, { baseDelayMs: this.opts.baseDelayMs, maxDelayMs: this.opts.maxDelayMs, random: this.opts.random });
    const now = this.clock.now();
    if (f.deferred) {
      // An outage or a spent budget: wait (at least as long as asked), never park.
      const r = await this.jobs.release(job, { error: f.message, delayMs: Math.max(f.retryAfterMs ?? 0, jitter), park: false, refundAttempt: true, now });
      if (r === null) return this.leaseLost(job, tally);
      tally.retried++;
      this.opts.onError?.(job, failure, 'deferred');
      return;
    }
    const park = !f.retryable || job.attempts >= this.opts.maxAttempts;
    const r = await this.jobs.release(job, { error: f.message, delayMs: Math.max(f.retryAfterMs ?? 0, jitter), park, now });
    if (r === null) return this.leaseLost(job, tally);
    if (park) tally.parked++;
    else tally.retried++;
    this.opts.onError?.(job, failure, park ? 'parked' : 'retry');
  }

  private leaseLost(job: Job, tally: { lost: number }): void {
    tally.lost++;
    this.opts.onLeaseLost?.(job);
  }

  private startHeartbeat(): void {
    if (this.stopBeat) return;
    this.stopBeat = this.clock.every(this.opts.heartbeatMs, () => void this.beat());
  }

  private stopHeartbeat(): void {
    this.stopBeat?.();
    this.stopBeat = null;
  }

  /** Renews the leases of every job held here; one that is no longer ours is noted (its result will not count). */
  async beat(): Promise<void> {
    const ids = [...this.held.keys()].filter((id) => !this.lost.has(id));
    if (!ids.length) return;
    try {
      const kept = new Set(await this.jobs.heartbeat(this.id, ids, { leaseMs: this.opts.leaseMs, now: this.clock.now() }));
      for (const id of ids) if (!kept.has(id)) this.lost.add(id);
    } catch {
      // A busy or closing database: the next beat tries again, well inside the lease.
    }
  }

  /** Hands back jobs whose holder died and prunes old done jobs; every process on the queue runs it. */
  async maintain(): Promise<{ reclaimed: number; parked: number; pruned: number }> {
    const now = this.clock.now();
    this.lastMaintenance = now;
    const r = await this.jobs.reclaimExpired({ now, maxAttempts: this.opts.maxAttempts });
    const pruned = await this.jobs.pruneDone(this.opts.retentionMs, now);
    const m = { ...r, pruned };
    if (m.reclaimed || m.parked || m.pruned) this.opts.onMaintenance?.(m);
    return m;
  }

  /** Runs until no job is ready (jobs waiting out a backoff are left for later). */
  async drain(onProgress?: (t: RunTally) => void): Promise<RunTally> {
    await this.maintain();
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

  /** Starts the background loop. */
  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = (async () => {
      while (!this.stopping) {
        let claimed = 0;
        try {
          // Reclaim at half a lease: a dead worker's job is back within 1.5 leases at worst.
          if (this.clock.now() - this.lastMaintenance >= this.opts.leaseMs / 2) await this.maintain();
          claimed = (await this.runOnce()).claimed;
        } catch {
          // The database was busy or closing; wait and try again rather than die.
        }
        if (this.stopping) break;
        // After a full slice, yield a turn so other work (the thread's messages, a stop) gets in.
        const pause = this.clock.sleep(claimed === 0 ? this.opts.pollMs : 0);
        this.idle = pause;
        await pause.done;
        this.idle = null;
      }
    })();
  }

  /** Nudges an idle loop to look for work now (e.g. after ingestion). */
  notify(): void {
    this.idle?.wake();
  }

  /** Stops claiming and waits for running jobs to finish. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.idle?.wake();
    await this.loop;
    this.loop = null;
  }
}
