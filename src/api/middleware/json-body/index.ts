import type { MiddlewareHandler } from 'hono';
import { UnsupportedMediaTypeError, ValidationError } from '../../../core/errors.ts';
import type { ApiEnv } from '../../types.ts';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** Deepest nesting accepted. Deeper JSON parses, but JSON.stringify and other recursive code overflow the stack. */
export const MAX_JSON_DEPTH = 64;

/**
 * For POST/PUT/PATCH: requires a JSON content type (else 415), parses the body once (malformed → 400
 * `invalid_json`, too deep → 400 `too_deep`) and stores it as `c.var.body`.
 */
export function jsonBody(opts: { maxDepth?: number } = {}): MiddlewareHandler<ApiEnv> {
  const maxDepth = opts.maxDepth ?? MAX_JSON_DEPTH;
  return async (c, next) => {
    const m = c.req.method;
    if (m !== 'POST' && m !== 'PUT' && m !== 'PATCH') return next();
    const type = c.req.header('content-type') ?? '';
    if (!JSON_TYPE.test(type)) throw new UnsupportedMediaTypeError('the request body must be JSON (Content-Type: application/json)', { contentType: type || null });
    const text = await c.req.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new ValidationError(`malformed JSON: ${(err as Error).message.slice(0, 200)}`, undefined, 'invalid_json');
    }
    if (depthExceeds(body, maxDepth)) throw new ValidationError(`JSON nests deeper than ${maxDepth} levels`, { maxDepth }, 'too_deep');
    c.set('body', body);
    await next();
  };
}

/** Iterative, so the check itself cannot overflow the stack. */
function depthExceeds(root: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d >= max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === 'object') stack.push([child, d + 1]);
  }
  return false;
}
