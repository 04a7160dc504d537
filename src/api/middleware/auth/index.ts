import type { MiddlewareHandler } from 'hono';
import { ForbiddenError, UnauthorizedError } from '../../../core/errors.ts';
import { IMPLIED_SCOPES, type Scope } from '../../../core/types.ts';
import type { KeyStore } from '../../../db/stores/keys.ts';
import type { ApiEnv } from '../../types.ts';

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;
// Keys are `tlk_` + 43 base64url chars; anything far longer is not worth hashing.
const MAX_SECRET_CHARS = 512;

/**
 * Verifies `Authorization: Bearer <key>` and stores the key on the context. Missing, unknown and
 * revoked keys are all the same 401 so a caller learns nothing about which keys exist.
 * `lastUsedAt` is written at most once per `touchIntervalMs` per key: a write on every request
 * would contend with ingestion for the one SQLite writer.
 */
export function auth(keys: KeyStore, opts: { touchIntervalMs?: number } = {}): MiddlewareHandler<ApiEnv> {
  const touchInterval = opts.touchIntervalMs ?? 60_000;
  const lastTouched = new Map<string, number>();
  return async (c, next) => {
    const m = BEARER.exec(c.req.header('authorization') ?? '');
    const secret = m?.[1];
    if (!secret || secret.length > MAX_SECRET_CHARS) throw new UnauthorizedError();
    const key = await keys.verify(secret);
    if (!key) throw new UnauthorizedError();
    const now = Date.now();
    if (now - (lastTouched.get(key.id) ?? 0) >= touchInterval) {
      lastTouched.set(key.id, now);
      try {
        await keys.touch(key.id, now);
      } catch (err) {
        // Bookkeeping only: a busy database must not fail the request itself.
        c.get('logger')?.debug({ err, keyId: key.id }, 'could not record key use');
      }
    }
    c.set('auth', { keyId: key.id, scopes: key.scopes });
    await next();
  };
}

/** 403 unless the authenticated key has `scope`; `admin` implies every scope. Runs after `auth`. */
export function requireScope(scope: Scope): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const a = c.get('auth');
    if (!a) throw new UnauthorizedError();
    if (!a.scopes.includes(scope) && !a.scopes.includes('admin') && !a.scopes.some((held) => IMPLIED_SCOPES[held]?.includes(scope)))
      throw new ForbiddenError(`this API key lacks the "${scope}" scope`, { requiredScope: scope, keyScopes: a.scopes });
    await next();
  };
}
