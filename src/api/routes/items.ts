import { z } from 'zod';
import { NotFoundError } from '../../core/errors.ts';
import type { ItemRow } from '../../db/stores/items.ts';
import { itemBodySchema, itemIdSchema } from '../../ingest/items.ts';
import type { ItemService } from '../../recommend/recommend.ts';
import type { ReasonKind } from '../../recommend/rank.ts';
import type { ProfileServices } from '../../similar/services.ts';
import { requireUser } from '../middleware/audit/index.ts';
import { defineRoute } from '../registry.ts';
import { userRefParams } from './users.ts';

const itemParams = z.object({ id: itemIdSchema.describe('The item id (as events name it in TRAITLENS_ITEM_PROPERTIES).') });

const itemSchema = z
  .object({
    id: z.string(),
    title: z.string().nullable(),
    category: z.string().nullable(),
    price: z.number().nullable(),
    attributes: z.record(z.string(), z.unknown()),
    source: z.enum(['import', 'learned']).describe('import: from the catalogue (PUT or import-items); learned: an id seen in events only.'),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Item' });

const itemJson = (r: ItemRow) => ({ ...r, createdAt: new Date(r.createdAt).toISOString(), updatedAt: new Date(r.updatedAt).toISOString() });

const itemSummary = z.object({ item: z.string(), title: z.string().nullable(), category: z.string().nullable() });

const reasonSchema = z.object({
  kind: z.enum(['bought_with', 'similar_users', 'popular', 'bought_before'] as const satisfies readonly ReasonKind[]),
  item: z.string().optional().describe('bought_with: the user’s item it goes with'),
  users: z.number().int().optional().describe('similar_users: how many of the user’s similar users have it'),
  text: z.string().describe('e.g. "bought with WHITE HANGING HEART T-LIGHT HOLDER", "popular with users like you (3 similar users)"'),
});

const recResponse = z.object({
  userId: z.string(),
  embeddingsVersion: z.string().nullable().describe('The item embeddings used (null when none is trained: no "bought with" candidates).'),
  neighbours: z.number().int().describe('Similar users drawn from.'),
  owned: z.number().int().describe('The user’s own items considered (0 without profiling consent).'),
  excludeOwned: z.boolean(),
  recommendations: z.array(itemSummary.extend({ score: z.number(), reasons: z.array(reasonSchema).describe('Why, strongest first.') })),
  note: z.string().optional(),
});

const k = (max: number, def = 10) => z.coerce.number().int().min(1).max(max).default(def).describe(`How many results, 1 to ${max}.`);

/** The item catalogue, similar items and recommendations. Items are no per-user data: reading them is not audited. */
export function itemRoutes(s: ProfileServices, items: ItemService) {
  const { store } = s;
  const maxK = s.config.TRAITLENS_SIMILAR_MAX_K;
  return [
    defineRoute({
      method: 'put',
      path: '/v1/items/:id',
      scope: 'events:write',
      tag: 'items',
      summary: 'Create or replace a catalogue entry',
      description:
        'Sets the item’s title, category, price and attributes (every field replaced; omitted ones become empty) and marks it imported. ' +
        'Items events name without an entry are learned (id only) when item embeddings are trained. Bulk: `traitlens import-items FILE`.',
      params: itemParams,
      body: itemBodySchema,
      responses: { 200: { description: 'The item after the change', schema: itemSchema }, 400: { description: 'Invalid id or fields' } },
      handler: async (c, { params, body }) => {
        await store.items.upsert([{ id: params.id, ...body }], 'import');
        const row = await store.items.get(params.id);
        return c.json(itemJson(row!));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/items',
      scope: 'profiles:read',
      tag: 'items',
      summary: 'The item catalogue, paged',
      description: 'Items by id; `q` matches id or title (case-insensitive substring). Pass `nextCursor` as `after` for the next page.',
      query: z.object({
        limit: z.coerce.number().int().min(1).max(1000).default(50),
        after: z.string().max(1000).optional().describe('Cursor: the last id of the previous page.'),
        q: z.string().trim().min(1).max(200).optional(),
      }),
      responses: {
        200: {
          description: 'A page of items',
          schema: z.object({ items: z.array(itemSchema), total: z.number().int().describe('Items in the catalogue.'), nextCursor: z.string().nullable() }),
        },
      },
      handler: async (c, { query }) => {
        const rows = await store.items.list({ limit: query.limit + 1, after: query.after, q: query.q });
        const page = rows.slice(0, query.limit);
        return c.json({ items: page.map(itemJson), total: await store.items.count(), nextCursor: rows.length > query.limit ? page[page.length - 1]!.id : null });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/items/:id',
      scope: 'profiles:read',
      tag: 'items',
      summary: 'One item',
      params: itemParams,
      responses: { 200: { description: 'The item', schema: itemSchema }, 404: { description: 'Not in the catalogue' } },
      handler: async (c, { params }) => {
        const row = await store.items.get(params.id);
        if (!row) throw new NotFoundError(`no item ${params.id}`, { item: params.id });
        return c.json(itemJson(row));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/items/:id/similar',
      scope: 'profiles:read',
      tag: 'items',
      summary: 'Items bought together / similar items',
      description:
        'Nearest items by the active item embeddings (learned from interactions: items that share baskets or buyers), cosine scores. ' +
        '409 `item_embeddings_missing` when none is trained yet; 404 when the item is unknown or had too few interactions to be embedded.',
      params: itemParams,
      query: z.object({ k: k(maxK) }),
      responses: {
        200: {
          description: 'Nearest items, best first',
          schema: z.object({ item: itemSummary, embeddingsVersion: z.string(), results: z.array(itemSummary.extend({ score: z.number().describe('Cosine similarity.') })) }),
        },
        404: { description: 'Unknown item, or no embedding for it' },
        409: { description: 'No item embeddings trained yet' },
      },
      handler: async (c, { params, query }) => c.json(await items.similarItems(params.id, query.k)),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/users/:id/items',
      scope: 'profiles:read',
      audit: 'items.read',
      returnsUsers: { param: true },
      tag: 'items',
      summary: "A user's top items",
      description: 'The items the user interacted with most (summed weight, then count), with catalogue titles.',
      params: userRefParams,
      query: z.object({ k: k(1000, 20) }),
      responses: {
        200: {
          description: 'Items, most interacted first',
          schema: z.object({
            userId: z.string(),
            items: z.array(itemSummary.extend({ n: z.number().int().describe('Interactions.'), weight: z.number(), lastAt: z.string() })),
          }),
        },
        404: { description: 'No such user' },
      },
      handler: async (c, { params, query }) => {
        const u = await requireUser(c, store.users, params.id);
        const top = await items.userTopItems(u.id, query.k);
        return c.json({ userId: params.id, items: top.map(({ lastTs, ...r }) => ({ ...r, lastAt: new Date(lastTs).toISOString() })) });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/users/:id/recommendations',
      scope: 'profiles:read',
      audit: 'recommendations.read',
      returnsUsers: { param: true },
      tag: 'items',
      summary: 'Recommended items, with reasons',
      description:
        'Candidates from the item-embedding neighbours of the user’s items ("bought with X"), from the items of similar users ("popular with users like you") and from popularity (the only source for a new user), ranked by one blend (docs/items.md; the same code `traitlens eval recommend` measures). ' +
        'Items the user already has are left out unless `excludeOwned=false` (default TRAITLENS_RECOMMEND_EXCLUDE_OWNED). ' +
        'Consent: without profiling consent the answer is popular items only; only users with profiling consent count as similar users or towards popularity. Reasons name no other user.',
      params: userRefParams,
      query: z.object({
        k: k(100),
        neighbours: z.coerce.number().int().min(1).max(maxK).default(Math.min(20, maxK)).describe('How many similar users to draw from.'),
        excludeOwned: z
          .enum(['true', 'false'])
          .optional()
          .transform((v) => (v === undefined ? undefined : v === 'true')),
      }),
      responses: { 200: { description: 'Recommendations, best first', schema: recResponse }, 404: { description: 'No such user' } },
      handler: async (c, { params, query }) => {
        const u = await requireUser(c, store.users, params.id);
        const r = await items.recommend(u.id, { k: query.k, neighbours: query.neighbours, ...(query.excludeOwned !== undefined ? { excludeOwned: query.excludeOwned } : {}) });
        return c.json({ userId: params.id, ...r });
      },
    }),
  ];
}
