import type { MiddlewareHandler } from 'hono';
import { cors as honoCors } from 'hono/cors';
import type { ApiEnv } from '../../types.ts';

/**
 * CORS for pages that call the API from a browser (hono's `cors`), or null when the allow-list is
 * empty (the default: no CORS headers, browsers refuse cross-origin reads). `*` allows any origin:
 * the API authenticates with bearer keys, never cookies, so no credentials mode is offered.
 */
export function cors(origins: readonly string[]): MiddlewareHandler<ApiEnv> | null {
  if (!origins.length) return null;
  return honoCors({
    origin: origins.includes('*') ? '*' : [...origins],
    allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'If-None-Match', 'X-Request-Id'],
    exposeHeaders: ['ETag', 'Retry-After', 'X-Request-Id', 'Idempotent-Replayed', 'Allow'],
    maxAge: 600,
  });
}
