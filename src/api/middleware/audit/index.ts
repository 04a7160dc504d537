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
  /**
   * The internal ids the references (external ids or aliases) name, for all the users of one answer
   * at once (`ProfileStore.userIdsOf`: one statement per 64, not one per user); unknown ones absent.
   */
  userIdsOf(refs: readonly string[]): Promise<Map<string, number>>;
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
    // The handler already resolved the user it read (`requireUser`/`requireProfile`): not again.
    const unknown: string[] = [];
    for (const ref of c.get('auditUsers') ?? []) {
      const known = resolved?.get(ref);
      if (known === undefined) unknown.push(ref);
      else if (known !== null) userIds.add(known);
    }
    if (unknown.length) {
      let found: Map<string, number>;
      try {
        found = await deps.userIdsOf(unknown);
      } catch (err) {
        // Not knowing whose data the answer carried must not let it leave unrecorded.
        c.get('logger')?.error({ err, reqId: c.get('requestId') }, 'audit lookup failed');
        throw new ServiceUnavailableError('the access could not be audited; retry shortly');
      }
      for (const ref of unknown) {
        const id = found.get(ref);
        if (id !== undefined) userIds.add(id);
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
