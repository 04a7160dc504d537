/**
 * Exponential backoff with full jitter: uniform in [0, min(max, base·2^attempt)], `attempt`
 * 0-based. One formula for provider retries (src/providers/retry.ts) and the job worker's requeue
 * delays (src/jobs/worker.ts); `random` is injectable for tests.
 */
export function backoffDelay(attempt: number, opts: { baseDelayMs: number; maxDelayMs: number; random?: () => number }): number {
  const cap = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** Math.max(0, attempt));
  return Math.floor((opts.random ?? Math.random)() * cap);
}
