import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import type { ApiEnv, Lifecycle } from '../../types.ts';

/**
 * One log line per request (id, method, route pattern, status, ms, key id) and the in-flight
 * count graceful shutdown waits on. While shutting down, responses ask clients to close the
 * connection so keep-alive sockets drain.
 */
export function requestLog(logger: Logger, lifecycle: Lifecycle): MiddlewareHandler<ApiEnv> {
  // The request line is written by a child without the service logger's redaction: its fields are
  // the ones below, strings and numbers only, so no redaction path (`*.authorization`, `*.secret`,
  // `req.headers.authorization`: keys inside an object) can name anything in it, and the wildcard
  // paths cost a walk over every line's fields. The same line, key for key. Add no object field here.
  const lines = logger.child({}, { redact: [] });
  return async (c, next) => {
    const start = performance.now();
    lifecycle.inFlight++;
    c.set('logger', logger);
    try {
      await next();
    } finally {
      lifecycle.inFlight--;
      if (lifecycle.shuttingDown) c.res.headers.set('connection', 'close');
      const status = c.res.status;
      // 4xx is the client's business and can be noisy (scanners, bad keys): info, like successes.
      lines[status >= 500 ? 'error' : 'info'](
        {
          reqId: c.get('requestId'),
          method: c.req.method,
          route: c.get('route') ?? null,
          status,
          ms: Math.round((performance.now() - start) * 10) / 10,
          keyId: c.get('auth')?.keyId ?? null,
        },
        'request',
      );
    }
  };
}
