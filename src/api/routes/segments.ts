import { z } from 'zod';
import { ValidationError } from '../../core/errors.ts';
import { compileDescription, createSegment, lookalikes, requireSegment, segmentMembers, segmentOut } from '../../segments/segments.ts';
import type { ProfileServices } from '../../similar/services.ts';
import type { Catalogue } from '../../traits/catalogue.ts';
import { defineRoute } from '../registry.ts';

const segmentSchema = z.object({ id: z.number().int(), name: z.string(), description: z.string().nullable(), filter: z.unknown(), createdAt: z.string() });

const createBody = z.object({
  name: z.string().trim().min(1).max(200).optional().describe('Required with `filter`.'),
  filter: z.unknown().optional().describe('The segment filter DSL (see the description).'),
  description: z.string().trim().min(1).max(2000).optional().describe('Natural language; compiled to a proposed filter that is returned, not saved.'),
});

const proposalSchema = z.union([
  z.object({ mode: z.literal('llm'), filter: z.unknown(), explanation: z.string(), saved: z.literal(false), generator: z.string(), next: z.string() }),
  z.object({
    mode: z.literal('words'),
    filter: z.unknown(),
    conditions: z.array(z.object({ phrase: z.string(), condition: z.unknown(), via: z.string().optional().describe('how a near-synonym was matched (word vectors)') })),
    notUnderstood: z.array(z.string()),
    saved: z.literal(false),
    generator: z.string(),
    next: z.string(),
  }),
  z.object({
    mode: z.literal('embedding_search'),
    note: z.string(),
    notUnderstood: z.array(z.string()),
    saved: z.literal(false),
    users: z.array(z.object({ userId: z.string(), score: z.number() })),
  }),
]);

const lookalikesSchema = z.object({
  segmentId: z.number().int(),
  members: z.number().int(),
  membersWithVectors: z.number().int(),
  results: z.array(z.object({ userId: z.string(), similarity: z.number(), blocks: z.record(z.string(), z.number().nullable()) })),
  note: z.string().optional(),
});

const segmentParams = z.object({ id: z.coerce.number().int().min(1).describe('Segment id.') });

/** Segments: DSL filters, LLM-proposed filters, members and lookalikes (marketing consent only). */
export function segmentRoutes(s: ProfileServices, catalogue: Catalogue) {
  const { segments } = s.store;
  return [
    defineRoute({
      method: 'post',
      path: '/v1/segments',
      scope: 'segments:write',
      // The no-LLM fallback answers with users: audited like any other list of users.
      audit: 'segment.write',
      returnsUsers: { body: ['users[].userId'] },
      tag: 'segments',
      summary: 'Create a segment, or propose a filter from a description',
      description:
        'With `filter` (and `name`): validates the DSL and saves the segment (201). With `description`: the LLM proposes a filter that is returned for review and NOT saved (200); ' +
        'without an LLM, the offline words compiler proposes the filter (`words`: each condition with the phrase it came from, and the words not understood), ' +
        'and only when it understood nothing are the nearest users by text embedding returned instead, labelled `embedding_search`. DSL: ' +
        '{"trait":{"key","value"?,"minConfidence"?,"kind"?}}, {"predicted":{"key","value"?,"min"?,"max"?}}, {"feature":{"key","gt|gte|lt|lte|eq"}}, ' +
        '{"attribute":{"key","eq"|"in"|"exists"}}, {"and":[...]}, {"or":[...]}, {"not":{...}}.',
      body: createBody,
      responses: {
        201: { description: 'Saved', schema: segmentSchema },
        200: { description: 'A proposed filter (not saved), or the embedding-search fallback', schema: proposalSchema },
        422: { description: 'The model proposed an invalid filter' },
      },
      handler: async (c, { body }) => {
        const hasFilter = body.filter !== undefined;
        if (hasFilter === (body.description !== undefined))
          throw new ValidationError('give either `filter` (with `name`) to save a segment, or `description` to get a proposed filter', [
            { field: 'filter', message: 'exactly one of filter, description' },
          ]);
        if (hasFilter) {
          if (!body.name) throw new ValidationError('invalid request body: name: required with filter', [{ field: 'name', message: 'required with filter' }]);
          return c.json(await createSegment(segments, { name: body.name, filter: body.filter }), 201);
        }
        return c.json(await compileDescription(s, { chat: s.providers.chat, catalogue }, body.description as string));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/segments',
      scope: 'segments:write',
      tag: 'segments',
      summary: 'Saved segments',
      responses: { 200: { description: 'Segments', schema: z.object({ segments: z.array(segmentSchema) }) } },
      handler: async (c) => c.json({ segments: (await segments.list()).map(segmentOut) }),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/segments/:id/users',
      scope: 'segments:write',
      audit: 'segment.members.read',
      returnsUsers: { body: ['users[]'] },
      tag: 'segments',
      summary: "A segment's members (marketing consent only), paged",
      params: segmentParams,
      query: z.object({
        limit: z.coerce.number().int().min(1).max(1000).default(100),
        cursor: z.string().max(100).optional().describe('`nextCursor` from the previous page.'),
      }),
      responses: {
        200: {
          description: 'Members',
          schema: z.object({
            segmentId: z.number().int(),
            matched: z.number().int(),
            excludedNoConsent: z.number().int(),
            total: z.number().int(),
            users: z.array(z.string()),
            nextCursor: z.string().nullable(),
          }),
        },
        404: { description: 'No such segment' },
      },
      handler: async (c, { params, query }) => c.json(await segmentMembers(s, await requireSegment(segments, params.id), { limit: query.limit, cursor: query.cursor })),
    }),
    defineRoute({
      method: 'post',
      path: '/v1/segments/:id/lookalikes',
      scope: 'segments:write',
      audit: 'segment.lookalikes.read',
      returnsUsers: { body: ['results[].userId'] },
      tag: 'segments',
      summary: 'Users like the segment who are not in it',
      description: 'Nearest users to the centroid of the members’ vectors, excluding members and users without marketing consent.',
      params: segmentParams,
      query: z.object({ k: z.coerce.number().int().min(1).max(s.config.TRAITLENS_SIMILAR_MAX_K).default(10) }),
      responses: { 200: { description: 'Lookalikes, most similar first', schema: lookalikesSchema }, 404: { description: 'No such segment' } },
      handler: async (c, { params, query }) => c.json(await lookalikes(s, await requireSegment(segments, params.id), query.k)),
    }),
  ];
}
