import { backoffDelay } from '../core/backoff.ts';
import { classifyProviderError, type ProviderError } from './errors.ts';

export interface RetryOptions {
  /** Retries after the first attempt (0 = one attempt). */
  maxRetries: number;
  /** Backoff cap grows base·2^attempt up to max; the wait is uniform in [0, cap] (full jitter). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A server-requested wait longer than this is not honoured: we give up and let the caller reschedule. */
  maxRetryAfterMs: number;
  /** Provider name for error messages. */
  provider: string;
  signal?: AbortSignal;
  /** Injectable for tests. */
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  onRetry?: (info: { attempt: number; delayMs: number; error: ProviderError }) => void;
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** The wait before retry number `attempt` (0-based), or null when the error must not be retried. */
export function retryDelay(error: ProviderError, attempt: number, opts: RetryOptions): number | null {
  if (!error.retryable || attempt >= opts.maxRetries) return null;
  if (error.retryAfterMs !== undefined) {
    return error.retryAfterMs <= opts.maxRetryAfterMs ? error.retryAfterMs : null;
  }
  return backoffDelay(attempt, opts);
}

/**
 * Runs `fn` until it succeeds, retrying 429, 5xx, timeouts and connection errors with exponential
 * backoff and full jitter (or exactly the server's retry-after). Everything thrown out of here is a
 * ProviderError.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const wait = opts.sleep ?? sleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      const error = classifyProviderError(err, opts.provider);
      const delayMs = retryDelay(error, attempt, opts);
      if (delayMs === null) throw error;
      opts.onRetry?.({ attempt: attempt + 1, delayMs, error });
      await wait(delayMs, opts.signal);
    }
  }
}
