import { z } from 'zod';
import { ValidationError } from '../../core/errors.ts';
import { PORTRAIT_BINS, PORTRAIT_MIN_GROUP, segmentPortrait } from '../../segments/portrait.ts';
import { compileDescription, createSegment, deleteSegment, lookalikes, previewFilter, requireSegment, segmentMembers, segmentOut, updateSegment } from '../../segments/segments.ts';
import type { ProfileServices } from '../../similar/services.ts';
import type { Catalogue } from '../../traits/catalogue.ts';
import { defineRoute } from '../registry.ts';

const segmentSchema = z.object({ id: z.number().int(), name: z.string(), description: z.string().nullable(), filter: z.unknown(), createdAt: z.string() }).meta({ id: 'Segment' });

const createBody = z.object({
  name: z.string().trim().min(1).max(200).optional().describe('Required with `filter`.'),
  filter: z.unknown().optional().describe('The segment filter DSL (see the description).'),
  description: z.string().trim().min(1).max(2000).optional().describe('Natural language; compiled to a proposed filter that is returned, not saved.'),
  segmentDescription: z.string().trim().min(1).max(2000).optional().describe('With `filter`: a note saved as the segment’s description (e.g. the words it was compiled from).'),
});

const proposalSchema = z
  .union([
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
  ])
  .meta({ id: 'SegmentProposal', description: 'A filter proposed from words (not saved): save it with POST /v1/segments {name, filter}.' });

const lookalikesSchema = z
  .object({
    segmentId: z.number().int(),
    members: z.number().int(),
    membersWithVectors: z.number().int(),
    results: z.array(z.object({ userId: z.string(), similarity: z.number(), blocks: z.record(z.string(), z.number().nullable()) })),
    note: z.string().optional(),
  })
  .meta({ id: 'Lookalikes' });

const segmentParams = z.object({ id: z.coerce.number().int().min(1).describe('Segment id.') });

const share = z.number().min(0).max(1);
const quantilesSchema = z.object({ n: z.number().int(), p25: z.number().nullable(), median: z.number().nullable(), p75: z.number().nullable() });
const portraitSchema = z.object({
  segmentId: z.number().int(),
  name: z.string(),
  asOf: z.string(),
  size: z.number().int().describe('Users matching the filter (everyone, whatever their consent).'),
  population: z.number().int(),
  share,
  marketingConsent: z.object({ members: z.number().int(), share }).describe('Members with marketing consent: the ones member lists and lookalikes show.'),
  minGroupSize: z.number().int().describe(`Groups (a trait or attribute value, an item) held by fewer members are not shown (${PORTRAIT_MIN_GROUP}).`),
  overRepresented: z
    .array(
      z.object({
        source: z.enum(['trait', 'attribute']),
        kind: z.string().optional(),
        key: z.string(),
        value: z.unknown(),
        members: z.number().int(),
        segmentShare: share,
        populationShare: share,
        lift: z.number().describe('segmentShare / populationShare'),
        inFilter: z.boolean().describe('The filter tests this key and value, so its share is high by definition.'),
      }),
    )
    .describe('Traits and declared attributes most over-represented against everyone, highest lift first.'),
  lifecycle: z.array(
    z.object({ stage: z.enum(['new', 'active', 'lapsing', 'churned', 'unknown']), meaning: z.string(), members: z.number().int(), segmentShare: share, populationShare: share }),
  ),
  behaviour: z.array(z.object({ metric: z.string(), label: z.string(), segment: quantilesSchema, population: quantilesSchema })),
  predictions: z
    .array(
      z.object({
        key: z.string(),
        of: z.string().describe('The value whose probability is binned: `true` for yes/no models.'),
        histogram: z.array(z.object({ from: z.number(), to: z.number(), segment: z.number().int(), population: z.number().int() })),
        segmentAtLeastHalf: share,
        populationAtLeastHalf: share,
      }),
    )
    .describe(`Each model's predicted probability in ${PORTRAIT_BINS} bins, members and everyone.`),
  items: z.array(z.object({ item: z.string(), title: z.string().nullable(), members: z.number().int(), segmentShare: share, lift: z.number() })),
  description: z.string().describe('Paragraphs separated by a blank line.'),
  generator: z.string().describe('template.v1, or llm:<model>:segment-portrait.v1'),
  fallbackReason: z.string().optional().describe('Why the LLM answer was replaced by the template.'),
});

const previewSchema = z.object({
  filter: z.unknown(),
  population: z.number().int(),
  matched: z.number().int(),
  excludedNoConsent: z.number().int(),
  total: z.number().int().describe('Matching users with marketing consent.'),
  sample: z.array(z.string()).describe('The first of those, by internal id (marketing consent only).'),
});

const patchBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    description: z.string().trim().min(1).max(2000).nullable().optional().describe('null clears it.'),
  })
  .strict()
  .refine((b) => b.name !== undefined || b.description !== undefined, { message: 'give name or description' });

/** Segments: DSL filters, LLM-proposed filters, members and lookalikes (marketing consent only). */
export function segmentRoutes(s: ProfileServices, catalogue: Catalogue) {
  const { segments } = s.store;
  return [
    defineRoute({
      method: 'post',
      path: '/v1/segments',
      scope: 'segments:write',
      idempotent: true,
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
        '{"attribute":{"key","eq"|"in"|"exists"}}, {"fact":{"text"?,"topic"?,"minConfidence"?}} (a current fact whose statement holds every word of `text`), {"and":[...]}, {"or":[...]}, {"not":{...}}.',
      body: createBody,
      responses: {
        201: { description: 'Saved', schema: segmentSchema },
        200: { description: 'A proposed filter (not saved), or the embedding-search fallback', schema: proposalSchema },
        409: { description: 'A segment with this name exists (`segment_name_taken`)' },
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
          return c.json(await createSegment(segments, { name: body.name, filter: body.filter, description: body.segmentDescription ?? null }), 201);
        }
        return c.json(await compileDescription(s, { chat: s.providers.chat, catalogue }, body.description as string));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/segments',
      scope: 'segments:read',
      tag: 'segments',
      summary: 'Saved segments',
      responses: { 200: { description: 'Segments', schema: z.object({ segments: z.array(segmentSchema) }) } },
      handler: async (c) => c.json({ segments: (await segments.list()).map(segmentOut) }),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/segments/:id/users',
      scope: 'segments:read',
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
      scope: 'segments:read',
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
    defineRoute({
      method: 'post',
      path: '/v1/segments/preview',
      scope: 'segments:read',
      audit: 'segment.preview',
      returnsUsers: { body: ['sample[]'] },
      tag: 'segments',
      summary: 'Count and sample a filter without saving it',
      description:
        'Validates the filter DSL and answers how many users match, how many of those have marketing consent, and the first `sample` of them (marketing consent only). Nothing is saved.',
      body: z.object({
        filter: z.unknown().describe('The segment filter DSL.'),
        sample: z.number().int().min(0).max(100).default(10).describe('How many member ids to return, 0 to 100.'),
      }),
      responses: { 200: { description: 'Counts and a sample', schema: previewSchema }, 400: { description: 'Invalid filter (the details name the bad part)' } },
      handler: async (c, { body }) => {
        if (body.filter === undefined) throw new ValidationError('invalid request body: filter: required', [{ field: 'filter', message: 'required' }]);
        return c.json(await previewFilter(s, body.filter, body.sample));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/segments/:id',
      scope: 'segments:read',
      tag: 'segments',
      summary: 'One saved segment',
      params: segmentParams,
      responses: { 200: { description: 'The segment', schema: segmentSchema }, 404: { description: 'No such segment' } },
      handler: async (c, { params }) => c.json(await requireSegment(segments, params.id)),
    }),
    defineRoute({
      method: 'patch',
      path: '/v1/segments/:id',
      scope: 'segments:write',
      tag: 'segments',
      summary: 'Rename a segment or change its description',
      description: 'The filter is fixed (a different filter is a different segment). Names are unique: 409 `segment_name_taken`.',
      params: segmentParams,
      body: patchBody,
      responses: {
        200: { description: 'The segment', schema: segmentSchema },
        404: { description: 'No such segment' },
        409: { description: 'Another segment has this name' },
      },
      handler: async (c, { params, body }) => c.json(await updateSegment(segments, params.id, body)),
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/segments/:id',
      scope: 'segments:write',
      tag: 'segments',
      summary: 'Delete a segment',
      params: segmentParams,
      responses: { 200: { description: 'Deleted', schema: z.object({ id: z.number().int(), deleted: z.literal(true) }) }, 404: { description: 'No such segment' } },
      handler: async (c, { params }) => {
        await deleteSegment(segments, params.id);
        return c.json({ id: params.id, deleted: true as const });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/segments/:id/portrait',
      scope: 'segments:read',
      audit: 'segment.portrait.read',
      tag: 'segments',
      summary: 'Who is in a segment, compared with everyone',
      description:
        'Size and share of the population; the traits and declared attributes most over-represented (lift and share); lifecycle mix; median spend, purchases and recency; ' +
        `each model's predicted-probability histogram; top items; and a description (template offline, the LLM when configured). Counts only: groups under ${PORTRAIT_MIN_GROUP} members are not shown, sensitive categories and contact attributes never.`,
      params: segmentParams,
      responses: { 200: { description: 'The portrait', schema: portraitSchema }, 404: { description: 'No such segment' } },
      handler: async (c, { params }) => c.json(await segmentPortrait(s, { chat: s.providers.chat }, await requireSegment(segments, params.id))),
    }),
  ];
}
