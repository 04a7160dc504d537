import { z } from 'zod';
import { AUDIENCES, summarise } from '../../profile/summary.ts';
import { parseFilterParam } from '../../db/filters.ts';
import type { ProfileServices } from '../../similar/services.ts';
import { searchUsers, similarUsers } from '../../similar/similar.ts';
import { requireUser } from '../middleware/audit/index.ts';
import { defineRoute } from '../registry.ts';
import { userRefParams } from './users.ts';

const kParam = (max: number, def = 10) => z.coerce.number().int().min(1).max(max).default(def).describe(`How many results, 1 to ${max}.`);

const similarResult = z.object({
  userId: z.string(),
  similarity: z.number().describe('Cosine similarity of the user vectors (1 = identical direction).'),
  blocks: z.record(z.string(), z.number().nullable()).describe('Cosine per vector block (text, behaviour, traits); null when either user lacks it.'),
  sharedTraits: z
    .array(z.object({ key: z.string(), value: z.unknown(), kind: z.string(), confidence: z.tuple([z.number(), z.number()]) }))
    .describe('Traits both hold with the same value: why they match.'),
});

const similarResponse = z.object({
  userId: z.string(),
  k: z.number().int(),
  vectorVersion: z.string().nullable(),
  results: z.array(similarResult),
  note: z.string().optional(),
});

/** The same `k` cap (TRAITLENS_SIMILAR_MAX_K) as /similar, so exceeding either gives the same 400. */
const searchBody = (maxK: number) =>
  z.object({
    query: z.string().trim().min(1).max(2000).describe('Free text, embedded with the profile embedder and matched against users’ text.'),
    k: z.number().int().min(1).max(maxK).default(10).describe(`How many results, 1 to ${maxK}.`),
  });

const summaryResponse = z.object({
  userId: z.string(),
  audience: z.enum(AUDIENCES),
  summary: z
    .string()
    .describe(
      'Paragraphs separated by a blank line. marketing: interests and life stage; preferences and habits; lifecycle stage and value; propensities. support: open problems; recent activity; background.',
    ),
  generator: z.string().describe('template.v3, or llm:<model>:summary.v2'),
  profileVersion: z.number().int(),
  cached: z.boolean(),
  facts: z
    .array(z.object({ n: z.number().int(), source: z.string(), key: z.string(), text: z.string(), confidence: z.number() }))
    .describe('What the summary was generated from (this audience’s facts: marketing’s hold no support history).'),
  fallbackReason: z.string().optional().describe('Why the LLM answer was replaced by the template.'),
});

/** Similar users, free-text user search and summaries (recommendations: routes/items.ts). */
export function profileRoutes(s: ProfileServices) {
  const { store } = s;
  const maxK = s.config.TRAITLENS_SIMILAR_MAX_K;
  return [
    defineRoute({
      method: 'get',
      path: '/v1/users/:id/similar',
      scope: 'profiles:read',
      audit: 'similar.read',
      returnsUsers: { param: true, body: ['results[].userId'] },
      tag: 'similar',
      summary: 'Users most like this one',
      description:
        'Nearest neighbours of the user vector (text, behaviour, traits; docs/user-vector.md) with the shared traits that explain each match. ' +
        '`filter`: `key:value[,key:value]` (a declared attribute or trait with that value), `fact~words` (a current fact holding those words) or the segment filter DSL as JSON. Filters are applied before the cut, so k results come back when k users pass.',
      params: userRefParams,
      query: z.object({
        k: kParam(maxK),
        filter: z.string().max(4000).optional().describe('e.g. country:DE, or {"trait":{"key":"interest","value":"hiking"}}'),
      }),
      responses: { 200: { description: 'Neighbours, most similar first', schema: similarResponse }, 404: { description: 'No such user' } },
      handler: async (c, { params, query }) => {
        const filter = query.filter ? parseFilterParam(query.filter) : null;
        const u = await requireUser(c, store.users, params.id);
        const { users, ...r } = await similarUsers(s, u.id, { k: query.k, filter });
        // The neighbours' internal ids are known here: the audit records them without resolving each public id back.
        const seen = c.get('resolvedUsers') ?? new Map<string, number | null>();
        for (const [ref, id] of users) seen.set(ref, id);
        c.set('resolvedUsers', seen);
        // results[].userId, named here so the registry need not re-parse the answer for the audit.
        c.set(
          'returnedUsers',
          r.results.map((x) => x.userId),
        );
        return c.json({ userId: params.id, k: query.k, ...r });
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/search/users',
      scope: 'profiles:read',
      audit: 'users.search',
      returnsUsers: { body: ['results[].userId'] },
      tag: 'similar',
      summary: 'Find users by free text',
      description: 'Embeds the query with the profile embedder and ranks users by the cosine of their text block (what they wrote, and the facts they told us: kind fact).',
      body: searchBody(maxK),
      responses: {
        200: {
          description: 'Matches, best first',
          schema: z.object({ query: z.string(), vectorVersion: z.string(), results: z.array(z.object({ userId: z.string(), score: z.number() })) }),
        },
      },
      handler: async (c, { body }) => {
        const r = await searchUsers(s, body.query, Math.min(body.k, maxK));
        return c.json({ query: body.query, vectorVersion: r.vectorVersion, results: r.results.map(({ userId, score }) => ({ userId, score })) });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/users/:id/summary',
      scope: 'summaries:read',
      audit: 'summary.read',
      tag: 'summaries',
      summary: "A readable summary of a user's profile",
      description:
        'Generated from the profile only (traits with confidence, predictions with the probability of the predicted value, lifecycle stage, key stats, free-form facts) by the LLM when one is configured and the user consented to LLM processing, else by a template; paragraphs. ' +
        '`marketing` speaks of interests and life stage, preferences, channel and time-of-day habits, lifecycle stage (new, active, lapsing, churned: docs/marketing.md), value and propensities, and leaves out support history; it needs the user’s marketing consent (403 otherwise). ' +
        '`support` leads with open problems and tone, then recent activity. Cached per profile version.',
      params: userRefParams,
      query: z.object({ audience: z.enum(AUDIENCES).default('support').describe('support or marketing') }),
      responses: {
        200: { description: 'Summary', schema: summaryResponse },
        403: { description: 'No marketing consent (audience=marketing)' },
        404: { description: 'No such user' },
      },
      handler: async (c, { params, query }) => {
        const u = await requireUser(c, store.users, params.id);
        const r = await summarise({ store, chat: s.providers.chat, defaultConsent: s.config.TRAITLENS_DEFAULT_CONSENT }, u, query.audience);
        return c.json({ userId: params.id, ...r });
      },
    }),
  ];
}
