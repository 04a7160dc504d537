import { z } from 'zod';
import { TRAIT_KINDS } from '../../core/types.ts';
import type { Store } from '../../db/store.ts';
import { requireUser } from '../middleware/audit/index.ts';
import { jsonAnswer } from '../middleware/etag/index.ts';
import { defineRoute } from '../registry.ts';
import { traitOut, traitSchema, userRefParams } from './users.ts';

const traitsQuery = z.object({
  kind: z.enum(TRAIT_KINDS).optional().describe('Only traits of this kind; `fact` lists the free-form facts the user disclosed (statement, evidence, confidence).'),
  key: z.string().min(1).max(64).optional().describe('Only this trait key.'),
  minConfidence: z.coerce.number().min(0).max(1).optional().describe('Only traits at least this confident (0 to 1).'),
});

const historyParams = userRefParams.extend({
  key: z.string().min(1).max(64).describe('Trait key, e.g. occupation, or a fact key, e.g. fact:residence.'),
});

const traitsResponse = z.object({
  userId: z.string(),
  profileVersion: z.number().int(),
  traits: z.array(traitSchema),
});

const historyResponse = z.object({
  userId: z.string(),
  key: z.string(),
  versions: z.array(traitSchema.extend({ supersededBy: z.number().int().nullable() })).describe('Newest first; validTo is null for the current value(s).'),
});

const refreshResponse = z.object({
  userId: z.string(),
  queued: z.boolean(),
  signalsToReread: z.number().int(),
});

/** Traits with their evidence and history, and an on-demand refresh. */
export function traitRoutes(deps: { store: Pick<Store, 'traits' | 'users'>; onWork?: () => void }) {
  const { traits, users } = deps.store;
  return [
    defineRoute({
      method: 'get',
      path: '/v1/users/:id/traits',
      scope: 'profiles:read',
      etag: true,
      audit: 'traits.read',
      tag: 'traits',
      summary: "A user's current traits and facts with their evidence",
      description:
        'Each trait has its kind, confidence, evidence (event ids and quoted spans) and the producer and version that made it. Facts are traits of kind `fact`: free-form statements the user made about themselves that no catalogue key captures, keyed `fact:<topic>` (value: the statement); `?kind=fact` lists only them, and their history is under the same history route.',
      params: userRefParams,
      query: traitsQuery,
      responses: { 200: { description: 'Current traits', schema: traitsResponse }, 404: { description: 'No such user' } },
      handler: async (c, { params, query }) => {
        // Resolved once: the audit middleware names the user from this lookup.
        const u = await requireUser(c, users, params.id);
        const current = await traits.current(u.id, { kind: query.kind, key: query.key, minConfidence: query.minConfidence });
        return jsonAnswer(c, { userId: params.id, profileVersion: u.profileVersion, traits: current.map(traitOut) });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/users/:id/traits/:key/history',
      scope: 'profiles:read',
      etag: true,
      audit: 'traits.read',
      tag: 'traits',
      summary: "Every version of one of a user's traits",
      params: historyParams,
      responses: { 200: { description: 'Versions, newest first', schema: historyResponse }, 404: { description: 'No such user' } },
      handler: async (c, { params }) => {
        const u = await requireUser(c, users, params.id);
        // A key the user never had has an empty history, like an empty trait list: not an error.
        const versions = await traits.history(u.id, params.key);
        return jsonAnswer(c, { userId: params.id, key: params.key, versions: versions.map((t) => ({ ...traitOut(t), supersededBy: t.supersededBy })) });
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/users/:id/refresh',
      scope: 'events:write',
      tag: 'traits',
      summary: "Recompute a user's derived profile",
      description:
        'Queues the user for the pipeline and makes the extractor re-read all their text signals. Unchanged signals are answered from the LLM cache, so this costs no model calls unless something changed.',
      params: userRefParams,
      responses: { 202: { description: 'Queued', schema: refreshResponse }, 404: { description: 'No such user' } },
      handler: async (c, { params }) => {
        const u = await users.require(params.id);
        const reread = await traits.requestReread(u.id, Date.now());
        deps.onWork?.();
        return c.json({ userId: params.id, queued: true, signalsToReread: reread }, 202);
      },
    }),
  ];
}
