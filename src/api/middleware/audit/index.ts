import type { Context, MiddlewareHandler } from 'hono';
import { NotFoundError, ServiceUnavailableError } from '../../../core/errors.ts';
import type { AuditStore } from '../../../db/stores/audit.ts';
import type { UserProfileRead, UserRow, UserStore } from '../../../db/stores/users.ts';
import type { ApiEnv } from '../../types.ts';

/**
 * `users.require(ref)` that remembers the answer on the request, so the audit middleware names the
 * user without resolving the reference a second time. Only for reads: after an erasure or a merge
 * the reference must be looked up again (the audit then finds nobody, or the surviving user).
 */
export async function requireUser(c: Context<ApiEnv>, users: Pick<UserStore, 'find'>, ref: string): Promise<UserRow> {
  return resolved(c, ref, await users.find(ref), (u) => u.id);
}

/** `users.profile(ref)` (the user and what a profile read answers, one snapshot), remembered like `requireUser`. */
export async function requireProfile(c: Context<ApiEnv>, users: Pick<UserStore, 'profile'>, ref: string): Promise<UserProfileRead> {
  return resolved(c, ref, await users.profile(ref), (p) => p.user.id);
}

function resolved<T>(c: Context<ApiEnv>, ref: string, found: T | undefined, idOf: (found: T) => number): T {
  let seen = c.get('resolvedUsers');
  if (!seen) c.set('resolvedUsers', (seen = new Map()));
  seen.set(ref, found === undefined ? null : idOf(found));
  if (found === undefined) throw new NotFoundError(`no user with id or alias "${ref}"`, { userId: ref });
  return found;
}

export interface AuditDeps {
  audit: AuditStore;
  /** the internal id of the user a path's `:id` (external id or alias) names, or null */
  userIdOf(ref: string): Promise<number | null>;
}

/**
 * Records an authorised read in audit_log: key id, action, method, route pattern, status, time and
 * the internal id of each user the answer carried data of (`auditUsers`; the external id is never stored).
 * Mounted by the registry for routes declaring `audit: '<action>'`, after auth and the scope check,
 * so what is logged is what was actually served (failed lookups included, with their status).
 * Fails closed: a read that cannot be audited is answered 503, not served unrecorded; the response
 * leaves only after the audit row is committed (concurrent requests share that commit).
 */
export function audit(deps: AuditDeps, action: string): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    await next();
    // The users whose data the answer carried, as the registry collected them from the route's
    // `returnsUsers` (never a bare `:id`: on /v1/segments/:id/users that is a segment id). One row each.
    const userIds = new Set<number>();
    const resolved = c.get('resolvedUsers');
    for (const ref of c.get('auditUsers') ?? []) {
      try {
        const known = resolved?.get(ref);
        const id = known !== undefined ? known : await deps.userIdOf(ref);
        if (id !== null) userIds.add(id);
      } catch {
        // an id that cannot be resolved names nobody
      }
    }
    try {
      const base = { at: Date.now(), keyId: c.get('auth')?.keyId ?? null, action, method: c.req.method, route: c.get('route') ?? null, status: c.res.status };
      // Concurrent writes share one commit (group commit in the store).
      await Promise.all((userIds.size ? [...userIds] : [null]).map((userId) => deps.audit.write({ ...base, userId })));
    } catch (err) {
      c.get('logger')?.error({ err, reqId: c.get('requestId') }, 'audit write failed');
      throw new ServiceUnavailableError('the access could not be audited; retry shortly');
    }
  };
}
