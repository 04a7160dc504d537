import type { MiddlewareHandler } from 'hono';
import type { ApiMetrics } from '../../metrics.ts';
import type { ApiEnv } from '../../types.ts';

// Unmatched paths (scanners, typos) share one label so they cannot blow up the series count.
const UNMATCHED = 'unmatched';
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Counts every request and its latency by method, route pattern (never the raw path) and status. */
export function requestMetrics(metrics: ApiMetrics): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const start = performance.now();
    try {
      await next();
    } finally {
      const method = METHODS.has(c.req.method) ? c.req.method : 'OTHER';
      metrics.observeRequest({ method, route: c.get('route') ?? UNMATCHED, status: c.res.status }, (performance.now() - start) / 1000);
    }
  };
}
