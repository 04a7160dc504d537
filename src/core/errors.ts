/**
 * One error hierarchy for the whole service. Every layer throws these; the API maps them to
 * `{"error": {"code", "message", "details"}}` in one place (src/api/errors.ts), the CLI prints them.
 * Anything that is not a TraitlensError is our own fault and becomes a 500.
 */
export type ErrorDetails = Record<string, unknown> | unknown[] | undefined;

export class TraitlensError extends Error {
  readonly status: number = 500;
  readonly code: string;
  readonly details: ErrorDetails;

  constructor(code: string, message: string, details?: ErrorDetails, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** 400: the request is understood but a field is wrong. */
export class ValidationError extends TraitlensError {
  override readonly status = 400;
  constructor(message: string, details?: ErrorDetails, code = 'validation_error') {
    super(code, message, details);
  }
}
export class UnauthorizedError extends TraitlensError {
  override readonly status = 401;
  constructor(message = 'missing or invalid API key') {
    super('unauthorized', message);
  }
}
export class ForbiddenError extends TraitlensError {
  override readonly status = 403;
  constructor(message: string, details?: ErrorDetails) {
    super('forbidden', message, details);
  }
}
export class NotFoundError extends TraitlensError {
  override readonly status = 404;
  constructor(message: string, details?: ErrorDetails) {
    super('not_found', message, details);
  }
}
export class ConflictError extends TraitlensError {
  override readonly status = 409;
  constructor(message: string, details?: ErrorDetails, code = 'conflict') {
    super(code, message, details);
  }
}
export class PayloadTooLargeError extends TraitlensError {
  override readonly status = 413;
  constructor(message: string, details?: ErrorDetails) {
    super('payload_too_large', message, details);
  }
}
export class UnsupportedMediaTypeError extends TraitlensError {
  override readonly status = 415;
  constructor(message: string, details?: ErrorDetails) {
    super('unsupported_media_type', message, details);
  }
}
export class UnprocessableError extends TraitlensError {
  override readonly status = 422;
  constructor(message: string, details?: ErrorDetails, code = 'unprocessable') {
    super(code, message, details);
  }
}
export class RateLimitedError extends TraitlensError {
  override readonly status = 429;
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number, details?: ErrorDetails) {
    super('rate_limited', message, details);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
export class ServiceUnavailableError extends TraitlensError {
  override readonly status = 503;
  constructor(message: string, details?: ErrorDetails) {
    super('unavailable', message, details);
  }
}
/** A wrong setting at start-up: names the variable so the operator can fix it. */
export class ConfigError extends TraitlensError {
  constructor(message: string, details?: ErrorDetails) {
    super('config_error', message, details);
  }
}

/** Turns a zod issue list into the `details` shape every validation error uses. */
export interface FieldIssue {
  field: string;
  message: string;
  code?: string;
}
export function issuesToDetails(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string; code?: string }>): FieldIssue[] {
  return issues.map((i) => ({ field: formatPath(i.path), message: i.message, ...(i.code ? { code: i.code } : {}) }));
}
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}
