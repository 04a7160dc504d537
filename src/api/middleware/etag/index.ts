import { createHash, hash as digestOnce } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ApiEnv } from '../../types.ts';

/**
 * Headers a 304 keeps (RFC 9110: those the 200 would have carried that describe the representation,
 * plus the CORS and request-id headers of the full answer).
 */
const RETAINED_304_HEADERS = new Set([
  'cache-control',
  'content-location',
  'date',
  'etag',
  'expires',
  'vary',
  'access-control-allow-origin',
  'access-control-expose-headers',
  'x-request-id',
]);

/** The JSON text of each answer built by `jsonAnswer`, so the ETag is hashed from it without reading the body back. */
const jsonTexts = new WeakMap<Response, string>();

/**
 * `c.json(data, status)` that remembers the serialised text beside the response: the `etag`
 * middleware hashes that text instead of cloning the answer and reading its stream back (which
 * cost more than the whole profile read). Use it on routes that declare `etag`.
 */
export function jsonAnswer(c: Context<ApiEnv>, data: unknown, status: ContentfulStatusCode = 200): Response {
  const text = JSON.stringify(data);
  const res = c.body(text, status, { 'content-type': 'application/json' });
  jsonTexts.set(res, text);
  return res;
}

/** The ETag of a JSON answer's text or its UTF-8 bytes (the same tag: a SHA-1, one shot, no Hash object per answer). */
export function etagOf(text: string | Uint8Array): string {
  return `"${digestOnce('sha1', text, 'hex')}"`;
}

/**
 * An answer whose JSON and ETag were computed before (a cached answer): nothing is hashed again. As
 * UTF-8 bytes, the body is written to the socket as it is (a string would be measured and encoded
 * on every answer).
 */
export function preparedJsonAnswer(c: Context<ApiEnv>, body: string | Uint8Array<ArrayBuffer>, tag: string): Response {
  return c.body(body, 200, { 'content-type': 'application/json', etag: tag });
}

/** True when `If-None-Match` names `tag` (weak or strong, `*` for any). */
function matches(tag: string, ifNoneMatch: string | null): boolean {
  if (ifNoneMatch === null) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const expected = tag.replace(/^W\//, '');
  return ifNoneMatch.match(/"[^"]*"/g)?.some((t) => t === expected) ?? false;
}

/**
 * `ETag` on a read (a SHA-1 of the JSON answer, computed synchronously) and `304 Not Modified` when
 * `If-None-Match` names it. The answer depends on the caller's key, so it is `private` and varies by
 * `Authorization`; `no-cache` makes a browser revalidate each time (a cheap 304 when nothing changed).
 * A 304 keeps the CORS and request-id headers of the full answer.
 */
export function etag(): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const ifNoneMatch = c.req.header('if-none-match') ?? null;
    await next();
    const res = c.res;
    if (!res.ok) return;
    res.headers.set('cache-control', 'private, no-cache');
    res.headers.append('vary', 'Authorization');
    const method = c.req.method;
    if (method !== 'GET' && method !== 'HEAD') return;
    let tag = res.headers.get('etag');
    if (!tag) {
      const text = jsonTexts.get(res);
      // One-shot hash of the remembered text (no Hash object per answer); an answer not built by
      // jsonAnswer is read back from a clone (correct, only slower).
      tag =
        text !== undefined
          ? etagOf(text)
          : `"${createHash('sha1')
              .update(new Uint8Array(await res.clone().arrayBuffer()))
              .digest('hex')}"`;
    }
    if (!matches(tag, ifNoneMatch)) {
      res.headers.set('etag', tag);
      return;
    }
    // Setting c.res copies the old answer's headers onto the new one; keep only those a 304 carries.
    c.res = new Response(null, { status: 304, statusText: 'Not Modified', headers: { etag: tag } });
    for (const key of [...c.res.headers.keys()]) if (!RETAINED_304_HEADERS.has(key)) c.res.headers.delete(key);
  };
}
