/**
 * Segments: a saved DSL filter (src/segments/dsl.ts). A natural-language description is compiled by
 * the LLM into a filter that is returned for review and saved only when the client posts the filter
 * itself; offline, the words compiler (words.ts) proposes one the same way, with the phrase of each
 * condition and the words not understood (embedding search when nothing was understood). Member
 * lists and lookalikes are marketing-facing: users without marketing consent are left out.
 */
import { z } from 'zod';
import { NotFoundError, UnprocessableError, ValidationError } from '../core/errors.ts';
import { allOf, compileFilter, consentCondition, parseFilter, type Compiled, type Filter } from '../db/filters.ts';
import type { SegmentRow, SegmentStore } from '../db/stores/segments.ts';
import type { ChatModel } from '../providers/types.ts';
import { describeCatalogue, type Catalogue } from '../traits/catalogue.ts';
import { loadPrompt } from '../traits/prompts.ts';
import { sensitiveCategoryOf } from '../traits/sensitive.ts';
import { l2normalise } from '../profile/vector.ts';
import type { ProfileServices } from '../similar/services.ts';
import { explain, nearest, searchUsers } from '../similar/similar.ts';
import { FILTER_GRAMMAR } from './dsl.ts';
import { compileWords, type CompiledWords } from './words.ts';
import { offlineWordsVocab } from './words-vocab.ts';

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

export async function createSegment(segments: SegmentStore, input: { name: string; description?: string | null; filter: unknown }, now = Date.now()): Promise<Segment> {
  const filter = parseFilter(input.filter);
  return segmentOut(await segments.insert({ name: input.name, description: input.description ?? null, filter: JSON.stringify(filter) }, now));
}

export async function requireSegment(segments: SegmentStore, id: number): Promise<Segment> {
  const r = await segments.get(id);
  if (!r) throw new NotFoundError(`no segment ${id}`, { segmentId: id });
  return segmentOut(r);
}

/** Renames or redescribes a segment (its filter is fixed: a different filter is a different segment). */
export async function updateSegment(segments: SegmentStore, id: number, patch: { name?: string; description?: string | null }, now = Date.now()): Promise<Segment> {
  const r = await segments.update(id, patch, now);
  if (!r) throw new NotFoundError(`no segment ${id}`, { segmentId: id });
  return segmentOut(r);
}

export async function deleteSegment(segments: SegmentStore, id: number): Promise<void> {
  if (!(await segments.delete(id))) throw new NotFoundError(`no segment ${id}`, { segmentId: id });
}

export interface Preview {
  filter: Filter;
  /** every user */
  population: number;
  /** users matching the filter */
  matched: number;
  excludedNoConsent: number;
  /** matched users with marketing consent */
  total: number;
  /** the first `sample` of those (by internal id): consenting users only */
  sample: string[];
}

/** A filter's count and a sample of members (marketing consent only), without saving anything. */
export async function previewFilter(s: ProfileServices, raw: unknown, sample: number): Promise<Preview> {
  const filter = parseFilter(raw);
  const matching = compileFilter(filter, s.store.dialect);
  const consented = allOf([matching, marketing(s)]) as Compiled;
  const [population, matched, total] = [await s.store.segments.count(null), await s.store.segments.count(matching), await s.store.segments.count(consented)];
  const ids = sample > 0 ? await s.store.segments.sample(consented, sample) : [];
  const names = await s.store.profiles.publicIds(ids);
  return { filter, population, matched, excludedNoConsent: matched - total, total, sample: ids.map((id) => names.get(id) ?? String(id)) };
}

const marketing = (s: ProfileServices): Compiled => consentCondition('marketing', s.config.TRAITLENS_DEFAULT_CONSENT, s.store.dialect);
const members = (s: ProfileServices, seg: Segment): Compiled => compileFilter(seg.filter, s.store.dialect);

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

/** Members with marketing consent, paged by a cursor on the last id (ids ascend, so pages are stable). */
export async function segmentMembers(s: ProfileServices, seg: Segment, opts: { limit: number; cursor?: string | undefined }): Promise<MemberPage> {
  const after = opts.cursor ? decodeAfter(opts.cursor) : 0;
  const matching = members(s, seg);
  const consented = allOf([matching, marketing(s)]) as Compiled;
  const matched = await s.store.segments.count(matching);
  const total = await s.store.segments.count(consented);
  const ids = await s.store.segments.sample(consented, opts.limit + 1, after);
  const page = ids.slice(0, opts.limit);
  const names = await s.store.profiles.publicIds(page);
  return {
    segmentId: seg.id,
    matched,
    excludedNoConsent: matched - total,
    total,
    users: page.map((id) => names.get(id) ?? String(id)),
    nextCursor: ids.length > opts.limit ? Buffer.from(String(page.at(-1))).toString('base64url') : null,
  };
}

/** The last id of the previous page. */
function decodeAfter(c: string): number {
  const n = Number(Buffer.from(c, 'base64url').toString());
  if (!Number.isSafeInteger(n) || n < 0) throw new ValidationError('cursor is not valid', { field: 'cursor' }, 'invalid_cursor');
  return n;
}

/** Users nearest the segment's centroid (mean of members' vectors) who are not members; marketing consent only. */
export async function lookalikes(s: ProfileServices, seg: Segment, k: number) {
  const memberIds = new Set(await s.store.segments.selectUserIds(members(s, seg)));
  const layout = await s.index.currentLayout();
  const rows = [...(await s.store.profiles.getMany([...memberIds])).values()].filter((r) => r.version === layout.version);
  if (!rows.length)
    return { segmentId: seg.id, members: memberIds.size, membersWithVectors: 0, results: [], note: 'no member of this segment has a profile vector yet, so there is no centroid' };
  const centroid = new Float32Array(layout.dim);
  for (const r of rows) for (let i = 0; i < centroid.length; i++) centroid[i] = (centroid[i] as number) + (r.vector[i] as number);
  l2normalise(centroid);
  const hits = await nearest(s, centroid, k, { where: marketing(s), exclude: memberIds });
  const results = (await explain(s, layout, null, centroid, hits)).map(({ sharedTraits: _drop, ...r }) => r);
  return { segmentId: seg.id, members: memberIds.size, membersWithVectors: rows.length, results };
}

export const compileAnswerSchema = z.strictObject({
  filter: z.record(z.string(), z.unknown()),
  explanation: z.string().max(1000),
});

export type DescriptionOutcome =
  | { mode: 'llm'; filter: Filter; explanation: string; saved: false; generator: string; next: string }
  | { mode: 'words'; filter: Filter; conditions: CompiledWords['conditions']; notUnderstood: string[]; saved: false; generator: string; next: string }
  | { mode: 'embedding_search'; note: string; notUnderstood: string[]; saved: false; users: { userId: string; score: number }[] };

/**
 * A description → a proposed filter (LLM, or offline the words compiler), never executed or saved
 * here. Offline with nothing understood: the nearest users by text embedding, labelled as such.
 */
export async function compileDescription(s: ProfileServices, deps: { chat: ChatModel | null; catalogue: Catalogue }, description: string, k = 20): Promise<DescriptionOutcome> {
  if (sensitiveCategoryOf(description))
    throw new UnprocessableError(
      'segments on sensitive categories (health, religion, sexual orientation, ethnicity, political opinion, union membership) are not allowed',
      { field: 'description' },
      'sensitive_segment',
    );
  if (!deps.chat) {
    // Offline: the words compiler (src/segments/words.ts); embedding search only when it understood nothing.
    const words = compileWords(description, await offlineWordsVocab(deps.catalogue, s.config));
    if (words.filter) {
      compileFilter(words.filter, s.store.dialect);
      return {
        mode: 'words',
        filter: words.filter,
        conditions: words.conditions,
        notUnderstood: words.notUnderstood,
        saved: false,
        generator: 'offline:words',
        next: 'Check each condition against the phrase it came from and the words not understood, edit the filter, then POST {"name", "filter"} to /v1/segments to save it.',
      };
    }
    const r = await searchUsers(s, description, k, { where: marketing(s) });
    return {
      mode: 'embedding_search',
      note: 'No LLM is configured and no phrase of the description matched the offline vocabulary (catalogue traits, attributes, predicted traits, features), so it could not be compiled into a filter. These are the users whose text is nearest the description (embedding search, marketing consent only); nothing was saved. POST a `filter` to create a segment.',
      notUnderstood: words.notUnderstood,
      saved: false,
      users: r.results.map(({ userId, score }) => ({ userId, score })),
    };
  }
  const chat = deps.chat;
  const prompt = loadPrompt('segment-filter', 'v1');
  const system = await prompt.system.format({ grammar: FILTER_GRAMMAR, catalogue: describeCatalogue(deps.catalogue) });
  const user = await prompt.user.format({ description });
  // Usage (success or failure) and the daily budget: the metered chat model (src/providers/usage.ts).
  const r = await chat.extractStructured({
    system,
    user,
    schema: compileAnswerSchema,
    schemaName: 'segment_filter',
    usage: { operation: 'segment_filter', promptVersion: prompt.id },
  });
  let filter: Filter;
  try {
    filter = parseFilter(r.data.filter);
  } catch (err) {
    throw new UnprocessableError(
      'the model proposed a filter that is not valid; rephrase the description or write the filter',
      { proposed: r.data.filter, issues: err instanceof ValidationError ? err.details : null },
      'filter_compile_failed',
    );
  }
  compileFilter(filter, s.store.dialect);
  return {
    mode: 'llm',
    filter,
    explanation: r.data.explanation,
    saved: false,
    generator: `llm:${chat.id}:${prompt.id}`,
    next: 'Check and edit the filter, then POST {"name", "filter"} to /v1/segments to save it.',
  };
}
