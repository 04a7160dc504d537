import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { RateLimitedError, TraitlensError } from '../core/errors.ts';
import { classifySqliteError } from '../db/errors.ts';
import type { ApiEnv } from './types.ts';

/** The one error body every non-2xx JSON response uses. Also documented in /openapi.json. */
export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.string().describe('Stable machine-readable code, e.g. validation_error, unauthorized, not_found.'),
      message: z.string().describe('Human-readable explanation.'),
      details: z.unknown().describe('Structured context (e.g. field issues) or null.'),
    }),
  })
  .describe('Error response');

export type ErrorBody = z.infer<typeof errorBodySchema>;

const HTTP_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable',
  429: 'rate_limited',
  503: 'unavailable',
};

export function errorResponse(c: Context<ApiEnv>, status: number, code: string, message: string, details?: unknown): Response {
  const body: ErrorBody = { error: { code, message, details: details ?? null } };
  if (status === 401) c.header('WWW-Authenticate', 'Bearer realm="traitlens"');
  return c.json(body, status as ContentfulStatusCode);
}

/**
 * Maps every thrown error to a response, in one place. Our error classes carry their status;
 * anything else is our own fault: logged with the request id, answered as a bare 500.
 */
export const onError: ErrorHandler<ApiEnv> = (err, c) => {
  if (err instanceof TraitlensError && err.status < 500) {
    if (err instanceof RateLimitedError) c.header('Retry-After', String(Math.max(0, Math.ceil(err.retryAfterSeconds))));
    return errorResponse(c, err.status, err.code, err.message, err.details);
  }
  if (err instanceof TraitlensError && err.status === 503) return errorResponse(c, 503, err.code, err.message, err.details);
  if (err instanceof HTTPException && err.status < 500) {
    return errorResponse(c, err.status, HTTP_CODES[err.status] ?? 'http_error', err.message || 'request failed');
  }
  if (classifySqliteError(err) === 'busy') {
    // Another process (e.g. an import) held the write lock past the busy timeout: transient, so say when to retry.
    c.get('logger')?.warn({ err, reqId: c.get('requestId') }, 'database busy');
    c.header('Retry-After', '1');
    return errorResponse(c, 503, 'database_busy', 'the database is busy; retry shortly');
  }
  c.get('logger')?.error({ err, reqId: c.get('requestId') }, 'unhandled error');
  return errorResponse(c, 500, 'internal_error', 'internal error', { requestId: c.get('requestId') ?? null });
};

export const notFound: NotFoundHandler<ApiEnv> = (c) =>
  errorResponse(c, 404, 'not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`);
