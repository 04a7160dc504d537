import { z } from 'zod';
import type { ApiMetrics } from '../metrics.ts';
import { defineRoute } from '../registry.ts';

/** GET /metrics: public by default (like /healthz; keep the port private), admin-only with TRAITLENS_METRICS_AUTH=true. */
export function metricsRoutes(deps: { metrics: ApiMetrics; requireAuth: boolean }) {
  return [
    defineRoute({
      method: 'get',
      path: '/metrics',
      ...(deps.requireAuth ? { scope: 'admin' as const } : {}),
      tag: 'system',
      summary: 'Prometheus metrics (text exposition format)',
      description:
        'HTTP requests and latency by route pattern and status, ingestion outcomes, job queue depth by status, LLM calls, tokens and errors, ' +
        'process figures, and gauges other modules register (e.g. index size).',
      responses: { 200: { description: 'Prometheus text format 0.0.4', contentType: 'text/plain', schema: z.string() } },
      handler: async (c) => {
        const text = await deps.metrics.render();
        return c.body(text, 200, { 'content-type': deps.metrics.contentType });
      },
    }),
  ];
}
