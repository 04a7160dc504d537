import { TraitlensError, type ErrorDetails } from '../core/errors.ts';

/**
 * One hierarchy for everything that goes wrong talking to a model provider, shaped like openai-node's
 * (status code → subclass). `retryable` is what the retry loop and the job system act on; `status` is
 * what our own API answers if the error reaches a client (the upstream's status is `upstreamStatus`).
 */
export abstract class ProviderError extends TraitlensError {
  abstract readonly retryable: boolean;
  readonly upstreamStatus: number | undefined;
  /** Server-requested wait (retry-after / retry-after-ms), when it sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(code: string, message: string, opts: { upstreamStatus?: number; retryAfterMs?: number; details?: ErrorDetails; cause?: unknown } = {}) {
    super(code, message, opts.details, { cause: opts.cause });
    this.upstreamStatus = opts.upstreamStatus;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** 429 from the provider. */
export class ProviderRateLimitError extends ProviderError {
  override readonly status = 503;
  readonly retryable = true;
  /** The provider is unavailable (not a fault of this job): the job system waits without spending an attempt. */
  readonly deferred = true;
  constructor(message: string, opts: { retryAfterMs?: number; cause?: unknown } = {}) {
    super('provider_rate_limited', message, { upstreamStatus: 429, ...opts });
  }
}

/** 5xx from the provider. */
export class ProviderServerError extends ProviderError {
  override readonly status = 503;
  readonly retryable = true;
  /** The provider is unavailable (not a fault of this job): the job system waits without spending an attempt. */
  readonly deferred = true;
  constructor(message: string, upstreamStatus: number, opts: { retryAfterMs?: number; cause?: unknown } = {}) {
    super('provider_unavailable', message, { upstreamStatus, ...opts });
  }
}

export class ProviderTimeoutError extends ProviderError {
  override readonly status = 503;
  readonly retryable = true;
  /** The provider is unavailable (not a fault of this job): the job system waits without spending an attempt. */
  readonly deferred = true;
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super('provider_timeout', message, opts);
  }
}

/** Refused, reset, DNS: no HTTP answer at all. */
export class ProviderConnectionError extends ProviderError {
  override readonly status = 503;
  readonly retryable = true;
  /** The provider is unavailable (not a fault of this job): the job system waits without spending an attempt. */
  readonly deferred = true;
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super('provider_connection', message, opts);
  }
}

/** 401/403: our key or deployment is wrong; retrying cannot help. */
export class ProviderAuthError extends ProviderError {
  override readonly status = 502;
  readonly retryable = false;
  constructor(message: string, upstreamStatus: number, opts: { cause?: unknown } = {}) {
    super('provider_auth', message, { upstreamStatus, ...opts });
  }
}

/** Any other 4xx: the request itself is wrong (unknown model, unsupported parameter, context too long). */
export class ProviderRequestError extends ProviderError {
  override readonly status = 502;
  readonly retryable = false;
  constructor(message: string, upstreamStatus: number | undefined, opts: { cause?: unknown } = {}) {
    super('provider_request_rejected', message, { ...(upstreamStatus === undefined ? {} : { upstreamStatus }), ...opts });
  }
}

export interface ValidationIssue {
  path: string;
  message: string;
}

/**
 * The provider answered but the answer is unusable: not JSON, or JSON that violates the schema.
 * Not retryable by the transport loop (the chat model already re-asked once with the error);
 * the job system parks the job. `rawOutput` is kept off `details` because the model's answer can
 * echo user text (PII) and details reach API clients and logs.
 */
export class ProviderBadResponseError extends ProviderError {
  override readonly status = 502;
  readonly retryable = false;
  readonly issues: ValidationIssue[];
  readonly rawOutput: string | undefined;
  /** Tokens spent on the failed attempts, so accounting stays honest. */
  readonly usage: { promptTokens: number; completionTokens: number } | undefined;

  constructor(message: string, opts: { issues?: ValidationIssue[]; rawOutput?: string; usage?: { promptTokens: number; completionTokens: number }; cause?: unknown } = {}) {
    super('provider_bad_response', message, { details: { issues: opts.issues ?? [] }, cause: opts.cause });
    this.issues = opts.issues ?? [];
    this.rawOutput = opts.rawOutput?.slice(0, 2000);
    this.usage = opts.usage;
  }
}

/** The circuit breaker is open: we fail fast without calling the provider. */
export class CircuitOpenError extends ProviderError {
  override readonly status = 503;
  readonly retryable = false;
  /** The provider is unavailable (not a fault of this job): the job system waits without spending an attempt. */
  readonly deferred = true;
  constructor(name: string, retryAfterMs: number, lastError?: unknown) {
    super('provider_circuit_open', `${name} is failing; calls are suspended for ${Math.ceil(retryAfterMs / 1000)} s (circuit breaker open)`, {
      retryAfterMs,
      cause: lastError,
      details: { provider: name, retryAfterMs },
    });
  }
}

/** Parses `retry-after-ms` (ms) or `retry-after` (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(get: (name: string) => string | null | undefined, now = Date.now()): number | undefined {
  const ms = get('retry-after-ms');
  if (ms != null && ms.trim() !== '') {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return n;
  }
  const ra = get('retry-after');
  if (ra == null || ra.trim() === '') return undefined;
  const secs = Number(ra);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const date = Date.parse(ra);
  if (!Number.isNaN(date)) return Math.max(0, date - now);
  return undefined;
}

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  status?: unknown;
  code?: unknown;
  headers?: unknown;
  cause?: unknown;
}

function headerGetter(headers: unknown): (name: string) => string | null | undefined {
  if (headers && typeof (headers as Headers).get === 'function') return (n) => (headers as Headers).get(n);
  if (headers && typeof headers === 'object')
    return (n) => {
      const v = (headers as Record<string, unknown>)[n];
      return typeof v === 'string' ? v : undefined;
    };
  return () => undefined;
}

const CONNECTION_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET']);

/**
 * Maps whatever the openai SDK or langchain threw into our hierarchy. Duck-typed on purpose:
 * langchain re-wraps some SDK errors (a timeout becomes a plain Error named "TimeoutError"), and
 * class identity is not reliable across package copies.
 */
export function classifyProviderError(err: unknown, provider: string): ProviderError {
  if (err instanceof ProviderError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorLike;
  const name = typeof e.name === 'string' ? e.name : '';
  const ctor = typeof err === 'object' && err !== null ? ((err as object).constructor?.name ?? '') : '';
  const message = typeof e.message === 'string' ? e.message : String(err);
  const status = typeof e.status === 'number' ? e.status : undefined;
  const where = `${provider}: ${message}`;

  if (name === 'TimeoutError' || ctor === 'APIConnectionTimeoutError' || (/timed? ?out/i.test(message) && status === undefined)) {
    return new ProviderTimeoutError(where, { cause: err });
  }
  if (status !== undefined) {
    const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(headerGetter(e.headers)) : undefined;
    const opts = { cause: err, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
    if (status === 429) return new ProviderRateLimitError(where, opts);
    if (status >= 500) return new ProviderServerError(where, status, opts);
    if (status === 401 || status === 403) return new ProviderAuthError(where, status, { cause: err });
    if (status >= 400) return new ProviderRequestError(where, status, { cause: err });
  }
  const causeCode = typeof e.cause === 'object' && e.cause !== null ? (e.cause as ErrorLike).code : undefined;
  if (ctor === 'APIConnectionError' || (typeof e.code === 'string' && CONNECTION_CODES.has(e.code)) || (typeof causeCode === 'string' && CONNECTION_CODES.has(causeCode))) {
    return new ProviderConnectionError(where, { cause: err });
  }
  // A 2xx whose body the SDK could not read (not JSON, missing fields).
  if (err instanceof SyntaxError || err instanceof TypeError) {
    return new ProviderBadResponseError(`${provider}: unreadable response: ${message}`, { cause: err });
  }
  return new ProviderRequestError(where, status, { cause: err });
}
