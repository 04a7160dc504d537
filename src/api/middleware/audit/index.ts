import type { MiddlewareHandler } from 'hono';
import { ServiceUnavailableError } from '../../../core/errors.ts';
import type { Db } from '../../../db/connection.ts';
import { writeAudit } from '../../../db/audit.ts';
import { findUser } from '../../../db/users.ts';
import type { ApiEnv } from '../../types.ts';

/**
 * Records an authorised read in audit_log: key id, action, method, route pattern, status, time and
 * the internal user id resolved from the `:id` path parameter (the external id is never stored).
 * Mounted by the registry for routes declaring `audit: '<action>'`, after auth and the scope check,
 * so what is logged is what was actually served (failed lookups included, with their status).
 * Fails closed: a read that cannot be audited is answered 503, not served unrecorded.
 */
export function audit(db: Db, action: string): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    await next();
    const ref = c.req.param('id');
    let userId: number | null = null;
    if (ref !== undefined) {
      try {
        // Normalised as userRefParams does; a ref that fails validation simply resolves to nobody.
        userId = findUser(db, decodeURIComponentSafe(ref).normalize('NFC').trim())?.id ?? null;
      } catch {
        userId = null;
      }
    }
    try {
      writeAudit(db, {
        at: Date.now(),
        keyId: c.get('auth')?.keyId ?? null,
        action,
        method: c.req.method,
        route: c.get('route') ?? null,
        status: c.res.status,
        userId,
      });
    } catch (err) {
      c.get('logger')?.error({ err, reqId: c.get('requestId') }, 'audit write failed');
      throw new ServiceUnavailableError('the access could not be audited; retry shortly');
    }
  };
}

function decodeURIComponentSafe(s: string): string {
  // hono's param() already decodes; this only guards against a stray raw '%'.
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
