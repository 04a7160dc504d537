import type { Config } from '../core/config.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import { ConcurrencyLimiter } from './limiter.ts';
import { withRetry, type RetryOptions } from './retry.ts';

export interface ResilienceOptions {
  /** Provider name used in errors, e.g. `openai-chat`. */
  name: string;
  maxRetries: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  maxRetryAfterMs?: number;
  concurrency: number;
  breakerThreshold: number;
  breakerCooldownMs: number;
  /** Tests inject these to observe or shorten waits. */
  sleep?: RetryOptions['sleep'];
  random?: RetryOptions['random'];
  onRetry?: RetryOptions['onRetry'];
  now?: () => number;
}

/** The retry, concurrency and breaker settings every OpenAI-compatible provider shares. */
export function resilienceFromConfig(config: Config): Omit<ResilienceOptions, 'name'> {
  return {
    maxRetries: config.OPENAI_MAX_RETRIES,
    baseDelayMs: config.OPENAI_RETRY_BASE_MS,
    maxDelayMs: config.OPENAI_RETRY_MAX_MS,
    maxRetryAfterMs: config.OPENAI_RETRY_AFTER_MAX_MS,
    concurrency: config.OPENAI_CONCURRENCY,
    breakerThreshold: config.OPENAI_BREAKER_THRESHOLD,
    breakerCooldownMs: config.OPENAI_BREAKER_COOLDOWN_MS,
  };
}

/**
 * Retry → breaker → concurrency slot → call. The breaker sits inside the retry loop so every failed
 * attempt counts and an open circuit ends the loop at once (CircuitOpenError is not retryable); the
 * slot is held per attempt only, so a request sleeping in backoff does not block others.
 */
export class ResilientCaller {
  readonly breaker: CircuitBreaker;
  readonly limiter: ConcurrencyLimiter;

  constructor(private readonly opts: ResilienceOptions) {
    this.breaker = new CircuitBreaker({
      name: opts.name,
      failureThreshold: opts.breakerThreshold,
      cooldownMs: opts.breakerCooldownMs,
      ...(opts.now ? { now: opts.now } : {}),
    });
    this.limiter = new ConcurrencyLimiter(opts.concurrency);
  }

  call<T>(fn: (attempt: number) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const o = this.opts;
    return withRetry((attempt) => this.breaker.exec(() => this.limiter.run(() => fn(attempt))), {
      provider: o.name,
      maxRetries: o.maxRetries,
      baseDelayMs: o.baseDelayMs ?? 500,
      maxDelayMs: o.maxDelayMs ?? 30_000,
      maxRetryAfterMs: o.maxRetryAfterMs ?? 60_000,
      ...(signal ? { signal } : {}),
      ...(o.sleep ? { sleep: o.sleep } : {}),
      ...(o.random ? { random: o.random } : {}),
      ...(o.onRetry ? { onRetry: o.onRetry } : {}),
    });
  }
}
