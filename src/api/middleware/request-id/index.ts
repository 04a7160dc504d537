import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from '../../types.ts';

// A caller's id is echoed into logs and headers, so only short, printable ones are trusted.
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Reads `x-request-id` (or makes one), stores it on the context and returns it on the response. */
export function requestId(opts: { header?: string } = {}): MiddlewareHandler<ApiEnv> {
  const header = opts.header ?? 'x-request-id';
  return async (c, next) => {
    const incoming = c.req.header(header);
    const id = incoming && SAFE_ID.test(incoming) ? incoming : randomUUID();
    c.set('requestId', id);
    c.header(header, id);
    await next();
    // Set again: a handler that built a fresh Response (e.g. onError) must still carry it.
    c.res.headers.set(header, id);
  };
}
