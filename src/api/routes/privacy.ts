import { z } from 'zod';
import type { ConsentFlag } from '../../core/types.ts';
import { eraseUser, exportUser } from '../../db/privacy.ts';
import type { Store } from '../../db/store.ts';
import type { UserDataSection } from '../../db/user-data.ts';
import { requireUser } from '../middleware/audit/index.ts';
import type { ProfileCache } from '../profile-cache.ts';
import { defineRoute } from '../registry.ts';
import { userRefParams } from './users.ts';

const time = z
  .string()
  .max(40)
  .transform((v, ctx) => {
    const t = /^-?\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (!Number.isSafeInteger(t)) {
      ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 time or epoch milliseconds' });
      return z.NEVER;
    }
    return t;
  });

const auditQuery = z.object({
  key: z.string().min(1).max(64).optional().describe('Only calls made with this API key id (e.g. key_0123abcd).'),
  user: z.string().min(1).max(256).optional().describe('Only entries about this user (external or anonymous id).'),
  route: z.string().min(1).max(200).optional().describe('Only this route pattern, e.g. /v1/users/:id/traits.'),
  action: z.string().min(1).max(64).optional().describe('Only this action, e.g. profile.read, traits.read, user.export, user.erase.'),
  since: time.optional().describe('From this time (inclusive): ISO 8601 or epoch ms.'),
  until: time.optional().describe('Before this time (exclusive): ISO 8601 or epoch ms.'),
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('Page size, 1 to 1000.'),
  cursor: z
    .string()
    .regex(/^\d{1,15}$/, 'not a cursor from this endpoint')
    .optional()
    .describe('`nextCursor` from the previous page.'),
});

const auditResponse = z.object({
  entries: z.array(
    z.object({
      id: z.number().int(),
      at: z.string(),
      keyId: z.string().nullable(),
      action: z.string(),
      method: z.string().nullable(),
      route: z.string().nullable(),
      status: z.number().int().nullable(),
      userId: z.string().nullable().describe("The user's current external id (null when erased or never identified)."),
      details: z.unknown(),
    }),
  ),
  nextCursor: z.string().nullable(),
});

const eraseResponse = z.object({
  erased: z.literal(true),
  removed: z.record(z.string(), z.number().int()).describe('Rows (or store entries) removed per table or store.'),
  failed: z.array(z.string()).describe('Rebuildable stores that could not be cleaned now (see the server log).'),
  checkpointed: z.boolean().describe('Whether the write-ahead log was truncated, so no old page image remains.'),
});

/** Erasure, export and the audit trail: all admin-only. */
export function privacyRoutes(deps: {
  store: Store;
  defaultConsent: readonly ConsentFlag[];
  /** every kind of per-user data, for erasure and export alike; defaults to the database's own sections */
  userData?: readonly UserDataSection[];
  /** this server's recent profile answers: an erased user's leave memory with the erasure */
  profileCache: ProfileCache;
}) {
  const { store } = deps;
  const userData = () => deps.userData ?? store.userData;
  return [
    defineRoute({
      method: 'delete',
      path: '/v1/users/:id',
      scope: 'admin',
      tag: 'privacy',
      summary: 'Erase a user and everything derived from them',
      description:
        'Removes the user, every alias, event, trait (with history), embedding, profile vector, summary, cached model answer, job and audit entry naming them ' +
        '(the same sections the export returns) in one transaction, then index entries outside the database; then truncates the write-ahead log. ' +
        'An audit entry with counts only (no id) records the erasure. A client re-sending old events afterwards creates a new user.',
      params: userRefParams,
      responses: { 200: { description: 'Erased; counts of what was removed', schema: eraseResponse }, 404: { description: 'No such user' } },
      handler: async (c, { params }) => {
        const u = await store.users.require(params.id);
        const r = await eraseUser(store.exec, userData(), u.id, { keyId: c.get('auth')?.keyId ?? null });
        deps.profileCache.forgetUser(u.id);
        if (r.failed.length) c.get('logger')?.error({ stores: r.failed, reqId: c.get('requestId') }, 'erasure: some stores could not be cleaned');
        return c.json({ erased: true as const, ...r });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/users/:id/export',
      scope: 'admin',
      audit: 'user.export',
      tag: 'privacy',
      summary: 'Everything held about a user (subject access request)',
      description:
        'One key per kind of data held, named like the counts erasure returns: the user (attributes, declared consent), identities, every event, every trait ' +
        'version with evidence, embeddings and profile-vector metadata, summaries, cached model answers, LLM usage, jobs, audit entries naming the user, ' +
        'index entries; plus the effective consent. Exactly what erasure deletes. Audited.',
      params: userRefParams,
      responses: { 200: { description: 'The export', schema: z.record(z.string(), z.unknown()) }, 404: { description: 'No such user' } },
      handler: async (c, { params }) => {
        // Resolved once: the audit middleware names the user from this lookup.
        const u = await requireUser(c, store.users, params.id);
        const body = await exportUser(userData(), u, deps.defaultConsent);
        c.header('content-disposition', 'attachment; filename="traitlens-export.json"');
        return c.json(body);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/audit',
      scope: 'admin',
      tag: 'privacy',
      summary: 'The audit trail of reads of personal data',
      description: 'Newest first, keyset-paged. Every read of a profile, events, traits, summary or export is recorded with key id, route, user and time.',
      query: auditQuery,
      responses: { 200: { description: 'One page', schema: auditResponse } },
      handler: async (c, { query }) => {
        let userId: number | undefined;
        if (query.user !== undefined) {
          const u = await store.users.find(query.user.normalize('NFC').trim());
          if (!u) return c.json({ entries: [], nextCursor: null });
          userId = u.id;
        }
        const page = await store.audit.query({
          keyId: query.key,
          userId,
          route: query.route,
          action: query.action,
          since: query.since,
          until: query.until,
          before: query.cursor === undefined ? undefined : Number(query.cursor),
          limit: query.limit,
        });
        const ext = await store.users.externalIds(page.rows.flatMap((r) => (r.userId === null ? [] : [r.userId])));
        const externalOf = (id: number | null) => (id === null ? null : (ext.get(id) ?? null));
        return c.json({
          entries: page.rows.map((r) => ({
            id: r.id,
            at: new Date(r.at).toISOString(),
            keyId: r.keyId,
            action: r.action,
            method: r.method,
            route: r.route,
            status: r.status,
            userId: externalOf(r.userId),
            details: r.details ?? null,
          })),
          nextCursor: page.next === null ? null : String(page.next),
        });
      },
    }),
  ];
}
