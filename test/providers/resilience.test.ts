import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../src/providers/circuit-breaker.ts';
import { CircuitOpenError, classifyProviderError, parseRetryAfter, ProviderRateLimitError, ProviderRequestError, ProviderServerError } from '../../src/providers/errors.ts';
import { ConcurrencyLimiter, TokenRateLimiter } from '../../src/providers/limiter.ts';
import { retryDelay, withRetry, type RetryOptions } from '../../src/providers/retry.ts';
import { startOpenAIServer } from '../support/openai-server.ts';

const opts = (over: Partial<RetryOptions> = {}): RetryOptions => ({ provider: 't', maxRetries: 5, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 10_000, ...over });

describe('retry policy', () => {
  it('full jitter: uniform in [0, min(max, base·2^n)]', () => {
    const err = new ProviderServerError('x', 500);
    expect(retryDelay(err, 0, opts({ random: () => 0.999 }))).toBe(99);
    expect(retryDelay(err, 3, opts({ random: () => 0.5 }))).toBe(400);
    expect(retryDelay(err, 4, opts({ random: () => 0.999 }))).toBe(999); // capped at maxDelayMs
    expect(retryDelay(err, 0, opts({ random: () => 0 }))).toBe(0);
    expect(retryDelay(err, 5, opts())).toBeNull(); // out of retries
    expect(retryDelay(new ProviderRequestError('x', 400), 0, opts())).toBeNull();
  });

  it('uses retry-after exactly, and gives up when it is too long', () => {
    expect(retryDelay(new ProviderRateLimitError('x', { retryAfterMs: 2500 }), 0, opts())).toBe(2500);
    expect(retryDelay(new ProviderRateLimitError('x', { retryAfterMs: 20_000 }), 0, opts())).toBeNull();
  });

  it('parses retry-after-ms, seconds and HTTP dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const h = (m: Record<string, string>) => (n: string) => m[n];
    expect(parseRetryAfter(h({ 'retry-after-ms': '150', 'retry-after': '9' }), now)).toBe(150);
    expect(parseRetryAfter(h({ 'retry-after': '2' }), now)).toBe(2000);
    expect(parseRetryAfter(h({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }), now)).toBe(5000);
    expect(parseRetryAfter(h({ 'retry-after': 'Wed, 31 Dec 2025 00:00:00 GMT' }), now)).toBe(0);
    expect(parseRetryAfter(h({ 'retry-after': 'soon' }), now)).toBeUndefined();
  });

  it('classifies SDK-shaped errors by status', () => {
    const headers = new Headers({ 'retry-after': '3' });
    expect(classifyProviderError({ status: 429, message: 'slow down', headers }, 'p')).toMatchObject({ code: 'provider_rate_limited', retryAfterMs: 3000, retryable: true });
    expect(classifyProviderError({ status: 503, message: 'x', headers }, 'p')).toMatchObject({ upstreamStatus: 503, retryAfterMs: 3000 });
    expect(classifyProviderError({ status: 500, message: 'x', headers }, 'p')).toMatchObject({ retryAfterMs: undefined, retryable: true });
    expect(classifyProviderError({ status: 403, message: 'x' }, 'p')).toMatchObject({ code: 'provider_auth', retryable: false });
    expect(classifyProviderError(Object.assign(new Error('Request timed out.'), { name: 'TimeoutError' }), 'p')).toMatchObject({ code: 'provider_timeout' });
    expect(classifyProviderError(Object.assign(new Error('socket'), { code: 'ECONNRESET' }), 'p')).toMatchObject({ code: 'provider_connection' });
  });

  it('withRetry sleeps the computed delays and rethrows the classified error', async () => {
    const waits: number[] = [];
    let calls = 0;
    const err = await withRetry(
      async () => {
        calls++;
        throw { status: 502, message: 'bad gateway' };
      },
      opts({ maxRetries: 2, random: () => 0.5, sleep: async (ms) => void waits.push(ms) }),
    ).catch((e: unknown) => e);
    expect(calls).toBe(3);
    expect(waits).toEqual([50, 100]);
    expect(err).toBeInstanceOf(ProviderServerError);
  });
});

describe('circuit breaker (fake clock)', () => {
  it('closed → open → half-open (one trial) → closed', async () => {
    let now = 0;
    const b = new CircuitBreaker({ name: 'llm', failureThreshold: 2, cooldownMs: 1000, now: () => now });
    const fail = () => Promise.reject(new ProviderServerError('down', 500));
    await expect(b.exec(fail)).rejects.toBeInstanceOf(ProviderServerError);
    await expect(b.exec(async () => 1)).resolves.toBe(1); // a success resets the count
    await expect(b.exec(fail)).rejects.toBeInstanceOf(ProviderServerError);
    await expect(b.exec(fail)).rejects.toBeInstanceOf(ProviderServerError);
    expect(b.currentState).toBe('open');
    now = 400;
    const open = await b.exec(async () => 1).catch((e: unknown) => e);
    expect(open).toBeInstanceOf(CircuitOpenError);
    expect((open as CircuitOpenError).retryAfterMs).toBe(600);
    now = 1000;
    expect(b.currentState).toBe('half-open');
    let release!: () => void;
    const trial = b.exec(() => new Promise<number>((r) => (release = () => r(7))));
    await expect(b.exec(async () => 1)).rejects.toBeInstanceOf(CircuitOpenError); // only one trial
    release();
    await expect(trial).resolves.toBe(7);
    expect(b.currentState).toBe('closed');
  });
});

describe('limiters', () => {
  it('concurrency limiter hands slots over in FIFO order', async () => {
    const l = new ConcurrencyLimiter(1);
    const order: number[] = [];
    await Promise.all([1, 2, 3].map((i) => l.run(async () => void order.push(i))));
    expect(order).toEqual([1, 2, 3]);
    expect(l.inFlight).toBe(0);
  });

  it('token bucket waits for the refill and settles with actual usage', async () => {
    let now = 0;
    const waits: number[] = [];
    const tpm = new TokenRateLimiter(
      600,
      () => now,
      async (ms) => {
        waits.push(ms);
        now += ms;
      },
    );
    expect(await tpm.reserve(500)).toBe(500);
    tpm.settle(500, 550); // the provider counted more
    expect(tpm.available).toBe(50);
    await tpm.reserve(110); // needs 60 more tokens at 10/s
    expect(waits).toEqual([6000]);
    expect(await tpm.reserve(10_000)).toBe(600); // clamped to the bucket
  });
});

describe('test server', () => {
  it('lists models and records requests', async () => {
    const s = await startOpenAIServer();
    try {
      const res = await fetch(`${s.baseURL}/models`);
      expect(((await res.json()) as { data: unknown[] }).data.length).toBeGreaterThan(0);
      expect(s.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/models']);
    } finally {
      await s.close();
    }
  });
});
