import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { RateLimitedError, TraitlensError } from '../core/errors.ts';
import { classifyDriverError } from '../db/errors.ts';
import { CircuitOpenError, ProviderError } from '../providers/errors.ts';
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

/** Status recorded (logs, metrics) for a request whose client disconnected before the answer. */
export const CLIENT_CLOSED_REQUEST = 499;

/** The node adapter aborts the request's signal when the client's connection closes early. */
function clientGone(c: Context<ApiEnv>): boolean {
  try {
    return c.req.raw.signal?.aborted === true;
  } catch {
    return false;
  }
}

/**
 * What a client is told about a model-provider failure. The error's own message quotes the
 * upstream's answer (which can name hosts, models or part of a key), so it goes to the log only.
 */
const PROVIDER_MESSAGES: Record<string, string> = {
  provider_unavailable: 'the model provider is unavailable; retry later',
  provider_rate_limited: 'the model provider is rate limiting us; retry later',
  provider_timeout: 'the model provider did not answer in time; retry later',
  provider_connection: 'the model provider could not be reached; retry later',
  provider_auth: 'the model provider refused our credentials; an operator must fix the provider settings',
  provider_request_rejected: 'the model provider rejected the request',
  provider_bad_response: 'the model provider returned an unusable answer',
};

/** Seconds for Retry-After from an error that knows when to retry (`retryAfterMs`), else undefined. */
function retryAfterSeconds(err: object): number | undefined {
  const ms = (err as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? Math.max(1, Math.ceil(ms / 1000)) : undefined;
}

/**
 * A server-side failure we understand (502/503/504 from our own classes: a provider, the LLM
 * budget, an audit write): answered with its status and code, Retry-After when the error says
 * when to retry, and for provider errors a fixed message plus the upstream status.
 */
function dependencyFailure(c: Context<ApiEnv>, err: TraitlensError): Response {
  const requestId = c.get('requestId') ?? null;
  // 502: our configuration or the provider's answer is wrong, someone must act; 503/504: transient.
  c.get('logger')?.[err.status === 502 ? 'error' : 'warn']({ err, reqId: requestId }, 'dependency failed');
  if (err.status === 503) {
    const after = retryAfterSeconds(err);
    if (after !== undefined) c.header('Retry-After', String(after));
  }
  if (err instanceof ProviderError && !(err instanceof CircuitOpenError)) {
    const message = PROVIDER_MESSAGES[err.code] ?? 'the model provider failed';
    return errorResponse(c, err.status, err.code, message, { ...(err.upstreamStatus === undefined ? {} : { upstreamStatus: err.upstreamStatus }), requestId });
  }
  return errorResponse(c, err.status, err.code, err.message, err.details);
}

/**
 * Maps every thrown error to a response, in one place. Our error classes carry their status;
 * anything else is our own fault: logged with the request id, answered as a bare 500.
 */
export const onError: ErrorHandler<ApiEnv> = (err, c) => {
  if (clientGone(c)) {
    // The client closed the connection (e.g. mid-upload), so reading its body failed: not our fault,
    // and nobody will read the answer. 499 (nginx's "client closed request") keeps it out of 5xx alerts.
    c.get('logger')?.debug({ err, reqId: c.get('requestId') }, 'client closed the request');
    return c.body(null, CLIENT_CLOSED_REQUEST as ContentfulStatusCode);
  }
  if (err instanceof TraitlensError && err.status < 500) {
    if (err instanceof RateLimitedError) c.header('Retry-After', String(Math.max(0, Math.ceil(err.retryAfterSeconds))));
    return errorResponse(c, err.status, err.code, err.message, err.details);
  }
  if (err instanceof TraitlensError && err.status >= 502 && err.status <= 504) return dependencyFailure(c, err);
  if (err instanceof HTTPException && err.status < 500) {
    return errorResponse(c, err.status, HTTP_CODES[err.status] ?? 'http_error', err.message || 'request failed');
  }
  if (classifyDriverError(err) === 'busy') {
    // SQLite: another process held the write lock past the busy timeout; PostgreSQL: a deadlock, a
    // serialization failure or the statement timeout. Transient, so say when to retry.
    c.get('logger')?.warn({ err, reqId: c.get('requestId') }, 'database busy');
    c.header('Retry-After', '1');
    return errorResponse(c, 503, 'database_busy', 'the database is busy; retry shortly');
  }
  c.get('logger')?.error({ err, reqId: c.get('requestId') }, 'unhandled error');
  return errorResponse(c, 500, 'internal_error', 'internal error', { requestId: c.get('requestId') ?? null });
};

export const notFound: NotFoundHandler<ApiEnv> = (c) => errorResponse(c, 404, 'not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`);
