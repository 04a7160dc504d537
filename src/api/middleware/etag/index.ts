import type { MiddlewareHandler } from 'hono';
import { etag as honoEtag, RETAINED_304_HEADERS } from 'hono/etag';
import type { ApiEnv } from '../../types.ts';

/**
 * `ETag` on a read (hono's `etag`: a SHA-1 of the JSON answer) and `304 Not Modified` when
 * `If-None-Match` names it. The answer depends on the caller's key, so it is `private` and varies by
 * `Authorization`; `no-cache` makes a browser revalidate each time (a cheap 304 when nothing changed).
 * A 304 keeps the CORS and request-id headers of the full answer.
 */
export function etag(): MiddlewareHandler<ApiEnv> {
  const inner = honoEtag({
    retainedHeaders: [...RETAINED_304_HEADERS, 'access-control-allow-origin', 'access-control-expose-headers', 'x-request-id'],
  });
  return async (c, next) => {
    await inner(c, async () => {
      await next();
      if (c.res.ok) {
        c.res.headers.set('cache-control', 'private, no-cache');
        c.res.headers.append('vary', 'Authorization');
      }
    });
  };
}
