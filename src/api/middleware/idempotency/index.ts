import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ConflictError, UnprocessableError, ValidationError } from '../../../core/errors.ts';
import type { IdempotencyStore } from '../../../db/stores/idempotency.ts';
import type { ApiEnv } from '../../types.ts';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
/** Set on an answer that is a replay of the first request's. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';
const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;
/** A claim still unanswered after this long belongs to a request that died with its process: it is dropped. */
const STALE_CLAIM_MS = 120_000;

/** JSON with object keys sorted, so the same body written in another key order is the same request. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

/**
 * The stored answer is encrypted (AES-256-GCM) with a key derived from the caller's API key secret,
 * which the server never stores: an answer holding a new API key's secret stays unreadable to anyone
 * reading the database, and only the same caller can have it replayed.
 */
function cipherKey(secret: string, apiKeyId: string, key: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'traitlens idempotency', `${apiKeyId}\n${key}`, 32));
}

function seal(plain: string, k: Buffer): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', k, iv);
  const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
}

function open(sealed: string, k: Buffer): string {
  const raw = Buffer.from(sealed, 'base64');
  const d = createDecipheriv('aes-256-gcm', k, raw.subarray(0, 12));
  d.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
}

/**
 * `Idempotency-Key` on a POST that creates something: the first request with a key runs and, when it
 * created something (201), its answer is kept for `ttlMs`; a retry with the same key and the same body
 * gets that answer again (`Idempotent-Replayed: true`) and creates nothing. The same key with another
 * body (or on another path) is a 422 `idempotency_key_reused`; a retry while the first request still
 * runs is a 409 `idempotency_in_progress`. A first request that created nothing (an error, a proposal)
 * leaves nothing behind, so its retry simply runs again. Keys are per API key. Runs after auth and the
 * body parser; without the header it does nothing.
 */
export function idempotency(deps: { store: IdempotencyStore; ttlMs: number; now?: () => number }): MiddlewareHandler<ApiEnv> {
  const now = deps.now ?? Date.now;
  return async (c, next) => {
    const key = c.req.header(IDEMPOTENCY_HEADER);
    const auth = c.get('auth');
    if (key === undefined || !auth) return next();
    if (!KEY_FORMAT.test(key))
      throw new ValidationError(`${IDEMPOTENCY_HEADER} must be 1 to 255 visible ASCII characters`, [{ field: IDEMPOTENCY_HEADER, message: 'invalid format' }]);
    const route = `${c.req.method} ${c.req.path}`;
    const requestHash = createHash('sha256')
      .update(`${route}\n${canonical(c.get('body') ?? null)}`)
      .digest('hex');
    // auth has verified the bearer secret; it only keys the cipher here.
    const secret = /^Bearer[ \t]+(\S+)/i.exec(c.req.header('authorization') ?? '')?.[1] ?? '';
    const k = cipherKey(secret, auth.keyId, key);
    const r = await deps.store.begin(auth.keyId, key, { route, requestHash, ttlMs: deps.ttlMs, staleMs: STALE_CLAIM_MS }, now());
    if (!r.claimed) {
      const rec = r.record;
      if (rec.requestHash !== requestHash)
        throw new UnprocessableError(
          `this ${IDEMPOTENCY_HEADER} was used for another request (${rec.route}, another body); use a new key for a new request`,
          { field: IDEMPOTENCY_HEADER, firstRoute: rec.route },
          'idempotency_key_reused',
        );
      if (rec.status === null || rec.response === null)
        throw new ConflictError(`the first request with this ${IDEMPOTENCY_HEADER} is still running; retry shortly`, { field: IDEMPOTENCY_HEADER }, 'idempotency_in_progress');
      const stored = JSON.parse(open(rec.response, k)) as { contentType: string; body: string };
      return new Response(stored.body, { status: rec.status, headers: { 'content-type': stored.contentType, [REPLAYED_HEADER]: 'true' } });
    }
    try {
      await next();
    } catch (err) {
      await deps.store.abandon(auth.keyId, key).catch(() => {});
      throw err;
    }
    const res = c.res;
    // Only a creation (201) is kept and replayed. Anything else created nothing: running it again gives the
    // same answer, and an answer that is not kept cannot hold per-user data outside the erasure list.
    if (res.status !== 201) {
      await deps.store.abandon(auth.keyId, key);
      return;
    }
    const body = await res.clone().text();
    try {
      await deps.store.finish(auth.keyId, key, res.status, seal(JSON.stringify({ contentType: res.headers.get('content-type') ?? 'application/json', body }), k));
    } catch (err) {
      // The work is done and answered; without a stored answer the claim must not block retries (409) until it expires.
      c.get('logger')?.warn({ err }, 'could not store the answer for an Idempotency-Key');
      await deps.store.abandon(auth.keyId, key).catch(() => {});
    }
  };
}
