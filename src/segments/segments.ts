/**
 * Segments: a saved DSL filter (src/segments/dsl.ts). A natural-language description is compiled by
 * the LLM into a filter that is returned for review and saved only when the client posts the filter
 * itself; offline, the description falls back to free-text embedding search and says so. Member
 * lists and lookalikes are marketing-facing: users without marketing consent are left out.
 */
import { z } from 'zod';
import { NotFoundError, UnprocessableError, ValidationError } from '../core/errors.ts';
import type { Db } from '../db/connection.ts';
import { getProfiles, getSegment, insertSegment, publicIds, type SegmentRow } from '../db/profiles.ts';
import type { ChatModel } from '../providers/types.ts';
import { describeCatalogue, type Catalogue } from '../traits/catalogue.ts';
import { loadPrompt } from '../traits/prompts.ts';
import { sensitiveCategoryOf } from '../traits/sensitive.ts';
import { l2normalise } from '../profile/vector.ts';
import type { ProfileServices } from '../similar/services.ts';
import { allowedIds, explain, nearest, searchUsers } from '../similar/similar.ts';
import { compileFilter, consentCondition, FILTER_GRAMMAR, parseFilter, type Filter } from './dsl.ts';

export interface Segment {
  id: number;
  name: string;
  description: string | null;
  filter: Filter;
  createdAt: string;
}

export const segmentOut = (r: SegmentRow): Segment => ({
  id: r.id,
  name: r.name,
  description: r.description,
  filter: JSON.parse(r.filter) as Filter,
  createdAt: new Date(r.createdAt).toISOString(),
});

export function createSegment(db: Db, input: { name: string; description?: string | null; filter: unknown }): Segment {
  const filter = parseFilter(input.filter);
  return segmentOut(insertSegment(db, { name: input.name, description: input.description ?? null, filter: JSON.stringify(filter) }));
}

export function requireSegment(db: Db, id: number): Segment {
  const r = getSegment(db, id);
  if (!r) throw new NotFoundError(`no segment ${id}`, { segmentId: id });
  return segmentOut(r);
}

const marketingDefault = (s: ProfileServices) => s.config.TRAITLENS_DEFAULT_CONSENT.includes('marketing');

export interface MemberPage {
  segmentId: number;
  /** users matching the filter */
  matched: number;
  /** of those, left out for lack of marketing consent */
  excludedNoConsent: number;
  /** matched - excludedNoConsent: what pages through */
  total: number;
  users: string[];
  nextCursor: string | null;
}

/** Members with marketing consent, paged by offset cursor (ids ascend, so pages are stable). */
export function segmentMembers(s: ProfileServices, seg: Segment, opts: { limit: number; cursor?: string | undefined }): MemberPage {
  const all = allowedIds(s.db, seg.filter) as Set<number>;
  const consented = allowedIds(s.db, seg.filter, [consentCondition('marketing', marketingDefault(s))]) as Set<number>;
  const ids = [...consented].sort((a, b) => a - b);
  const offset = opts.cursor ? decodeOffset(opts.cursor) : 0;
  const page = ids.slice(offset, offset + opts.limit);
  const names = publicIds(s.db, page);
  return {
    segmentId: seg.id,
    matched: all.size,
    excludedNoConsent: all.size - consented.size,
    total: ids.length,
    users: page.map((id) => names.get(id) ?? String(id)),
    nextCursor: offset + opts.limit < ids.length ? Buffer.from(String(offset + opts.limit)).toString('base64url') : null,
  };
}

function decodeOffset(c: string): number {
  const n = Number(Buffer.from(c, 'base64url').toString());
  if (!Number.isSafeInteger(n) || n < 0) throw new ValidationError('cursor is not valid', { field: 'cursor' }, 'invalid_cursor');
  return n;
}

/** Users nearest the segment's centroid (mean of members' vectors) who are not members; marketing consent only. */
export function lookalikes(s: ProfileServices, seg: Segment, k: number) {
  const members = allowedIds(s.db, seg.filter) as Set<number>;
  const layout = s.index.currentLayout();
  const rows = [...getProfiles(s.db, [...members]).values()].filter((r) => r.version === layout.version);
  if (!rows.length) return { segmentId: seg.id, members: members.size, membersWithVectors: 0, results: [], note: 'no member of this segment has a profile vector yet, so there is no centroid' };
  const centroid = new Float32Array(layout.dim);
  for (const r of rows) for (let i = 0; i < centroid.length; i++) centroid[i] = (centroid[i] as number) + (r.vector[i] as number);
  l2normalise(centroid);
  const consented = allowedIds(s.db, null, [consentCondition('marketing', marketingDefault(s))]) as Set<number>;
  const hits = nearest(s, centroid, k, { allowed: consented, exclude: members });
  return { segmentId: seg.id, members: members.size, membersWithVectors: rows.length, results: explain(s, layout, null, centroid, hits).map(({ sharedTraits: _drop, ...r }) => r) };
}

export const compileAnswerSchema = z.strictObject({
  filter: z.record(z.string(), z.unknown()),
  explanation: z.string().max(1000),
});

export type DescriptionOutcome =
  | { mode: 'llm'; filter: Filter; explanation: string; saved: false; generator: string; next: string }
  | { mode: 'embedding_search'; note: string; saved: false; users: { userId: string; score: number }[] };

/**
 * A description → a proposed filter (LLM), never executed or saved here. Without an LLM: the
 * nearest users to the description by text embedding, labelled as such.
 */
export async function compileDescription(s: ProfileServices, deps: { chat: ChatModel | null; catalogue: Catalogue }, description: string, k = 20): Promise<DescriptionOutcome> {
  if (sensitiveCategoryOf(description)) throw new UnprocessableError('segments on sensitive categories (health, religion, sexual orientation, ethnicity, political opinion, union membership) are not allowed', { field: 'description' }, 'sensitive_segment');
  if (!deps.chat) {
    const consented = allowedIds(s.db, null, [consentCondition('marketing', marketingDefault(s))]);
    const r = await searchUsers(s, description, k, { allowed: consented });
    return {
      mode: 'embedding_search',
      note: 'No LLM is configured, so the description could not be compiled into a filter. These are the users whose text is nearest the description (embedding search, marketing consent only); nothing was saved. POST a `filter` to create a segment.',
      saved: false,
      users: r.results.map(({ userId, score }) => ({ userId, score })),
    };
  }
  const chat = deps.chat;
  const prompt = loadPrompt('segment-filter', 'v1');
  const system = await prompt.system.format({ grammar: FILTER_GRAMMAR, catalogue: describeCatalogue(deps.catalogue) });
  const user = await prompt.user.format({ description });
  // Usage (success or failure) and the daily budget: the metered chat model (src/providers/usage.ts).
  const r = await chat.extractStructured({ system, user, schema: compileAnswerSchema, schemaName: 'segment_filter', usage: { operation: 'segment_filter', promptVersion: prompt.id } });
  let filter: Filter;
  try {
    filter = parseFilter(r.data.filter);
  } catch (err) {
    throw new UnprocessableError('the model proposed a filter that is not valid; rephrase the description or write the filter', { proposed: r.data.filter, issues: err instanceof ValidationError ? err.details : null }, 'filter_compile_failed');
  }
  compileFilter(filter);
  return { mode: 'llm', filter, explanation: r.data.explanation, saved: false, generator: `llm:${chat.id}:${prompt.id}`, next: 'Check and edit the filter, then POST {"name", "filter"} to /v1/segments to save it.' };
}
