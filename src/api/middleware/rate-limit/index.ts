import type { MiddlewareHandler } from 'hono';
import { ConfigError, RateLimitedError } from '../../../core/errors.ts';
import { SCOPES, type Scope } from '../../../core/types.ts';
import type { ApiEnv } from '../../types.ts';

export interface RateSpec {
  /** tokens added per second; 0 = unlimited */
  rps: number;
  burst: number;
}
export interface RateLimitOptions {
  global: RateSpec;
  perScope?: Partial<Record<Scope, RateSpec>>;
  now?: () => number;
  /** buckets kept before idle full ones are dropped */
  maxBuckets?: number;
}

/** Parses TRAITLENS_RATE_LIMITS: `scope=rps:burst,...`. */
export function parseRateLimits(raw: string): Partial<Record<Scope, RateSpec>> {
  const out: Partial<Record<Scope, RateSpec>> = {};
  for (const part of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([a-z:]+)=(\d+(?:\.\d+)?):(\d+)$/.exec(part);
    if (!m || !(SCOPES as readonly string[]).includes(m[1]!) || Number(m[3]) < 1)
      throw new ConfigError(`TRAITLENS_RATE_LIMITS: "${part}" is not scope=rps:burst (scopes: ${SCOPES.join(', ')}; burst ≥ 1)`);
    out[m[1] as Scope] = { rps: Number(m[2]), burst: Number(m[3]) };
  }
  return out;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Per-API-key token buckets, one per (key, scope) for scopes with their own limit and one per key
 * for the rest. Over the limit: 429 `rate_limited` with Retry-After (whole seconds until a token is
 * back). In-process: with several server processes each enforces its own share.
 * Returns a factory: the registry asks for the middleware of each route's scope.
 */
export function rateLimiter(opts: RateLimitOptions): (scope: Scope) => MiddlewareHandler<ApiEnv> {
  const now = opts.now ?? (() => performance.now() + performance.timeOrigin);
  const maxBuckets = opts.maxBuckets ?? 10_000;
  const buckets = new Map<string, Bucket>();
  return (scope) => {
    const spec = opts.perScope?.[scope] ?? opts.global;
    const bucketName = opts.perScope?.[scope] ? scope : '*';
    return async (c, next) => {
      const keyId = c.get('auth')?.keyId;
      if (!keyId || spec.rps <= 0) return next();
      const id = `${keyId}\u0000${bucketName}`;
      const t = now();
      let b = buckets.get(id);
      if (!b) {
        if (buckets.size >= maxBuckets) prune(buckets, spec, t);
        b = { tokens: spec.burst, at: t };
        buckets.set(id, b);
      }
      b.tokens = Math.min(spec.burst, b.tokens + ((t - b.at) / 1000) * spec.rps);
      b.at = t;
      if (b.tokens < 1) {
        const wait = (1 - b.tokens) / spec.rps;
        throw new RateLimitedError(`rate limit of ${spec.rps}/s (burst ${spec.burst}) exceeded for this API key`, wait, {
          limit: spec.rps,
          burst: spec.burst,
          retryAfterSeconds: Math.ceil(wait),
        });
      }
      b.tokens -= 1;
      c.header('x-ratelimit-remaining', String(Math.floor(b.tokens)));
      await next();
    };
  };
}

function prune(buckets: Map<string, Bucket>, spec: RateSpec, t: number): void {
  // Buckets that would be full again carry no state worth keeping.
  for (const [k, b] of buckets) if (b.tokens + ((t - b.at) / 1000) * spec.rps >= spec.burst) buckets.delete(k);
  if (buckets.size >= 10_000) buckets.clear();
}
