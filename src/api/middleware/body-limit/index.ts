import type { MiddlewareHandler } from 'hono';
import { PayloadTooLargeError, ValidationError } from '../../../core/errors.ts';
import type { ApiEnv } from '../../types.ts';

/**
 * Rejects bodies over `maxBytes` with 413. A declared Content-Length is checked before reading
 * (Node enforces that the body matches it); a body without one (chunked) is read here with a
 * running count and aborted as soon as it passes the limit, then handed on as a buffer.
 */
export function bodyLimit(opts: { maxBytes: number }): MiddlewareHandler<ApiEnv> {
  const { maxBytes } = opts;
  const tooLarge = () => new PayloadTooLargeError(`request body is larger than ${maxBytes} bytes`, { maxBytes });
  return async (c, next) => {
    const raw = c.req.raw;
    if (!raw.body) return next();
    const declared = raw.headers.get('content-length');
    if (declared !== null && !raw.headers.has('transfer-encoding')) {
      if (!/^\d+$/.test(declared)) throw new ValidationError('content-length is not a number', undefined, 'invalid_content_length');
      if (Number(declared) > maxBytes) throw tooLarge();
      return next();
    }
    const reader = raw.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge();
      }
      chunks.push(value);
    }
    c.req.raw = new Request(raw, { body: Buffer.concat(chunks, size) });
    await next();
  };
}
