/**
 * Similar users (nearest neighbours of a user's vector, with optional filters) and free-text search
 * over the text block. With pgvector the store answers nearest-neighbour queries in SQL, filters
 * included. Otherwise filters run in SQL to an allowed-id set; small sets are scored exactly, large
 * ones by the in-process HNSW index with over-fetching (growing k until k results pass or the index
 * is exhausted).
 */
import { NotFoundError, UnprocessableError } from '../core/errors.ts';
import type { Trait } from '../core/types.ts';
import { allOf, compileFilter, type Compiled, type Filter } from '../db/filters.ts';
import type { Neighbour } from '../db/stores/profiles.ts';
import { blockCosine, composeVector, cosine, type BlockName, type VectorLayout } from '../profile/vector.ts';
import type { ProfileServices } from './services.ts';

export type { Neighbour };

/** Below this many allowed users, a filter is answered by exact scoring instead of the index. */
export const EXACT_FILTER_MAX = 2000;
const TRAIT_KINDS_SHOWN = new Set(['semantic', 'declared', 'predicted', 'computed']);

export interface SharedTrait {
  key: string;
  value: unknown;
  kind: string;
  /** [this user's confidence, the neighbour's] */
  confidence: [number, number];
}

export interface SimilarResult {
  userId: string;
  similarity: number;
  /** per block cosine, null when either side lacks the block */
  blocks: Partial<Record<BlockName, number | null>>;
  sharedTraits: SharedTrait[];
}

const valueKey = (t: Pick<Trait, 'key' | 'value'>) => `${t.key}\u0000${JSON.stringify(t.value).toLowerCase()}`;

/** Traits both users hold with the same value (computed numbers excluded: they rarely match exactly and say little). */
export function sharedTraits(a: readonly Trait[], b: readonly Trait[]): SharedTrait[] {
  const mine = new Map(a.filter((t) => TRAIT_KINDS_SHOWN.has(t.kind) && t.kind !== 'computed').map((t) => [valueKey(t), t]));
  const out: SharedTrait[] = [];
  for (const t of b) {
    const m = mine.get(valueKey(t));
    if (m) out.push({ key: t.key, value: t.value, kind: t.kind, confidence: [m.confidence, t.confidence] });
  }
  return out.sort((x, y) => y.confidence[0] * y.confidence[1] - x.confidence[0] * x.confidence[1]);
}

/** The SQL condition for a filter and extra conditions (e.g. marketing consent), or null for none. */
export function filterCondition(s: ProfileServices, filter: Filter | null, extra: Compiled[] = []): Compiled | null {
  return allOf([...(filter ? [compileFilter(filter, s.store.dialect)] : []), ...extra]);
}

/**
 * The k nearest users to `vector` that pass `where` (a condition over users) and are not in
 * `exclude`. pgvector: one SQL query. In process: exact over the allowed rows when they are few,
 * else HNSW with over-fetching.
 */
export async function nearest(s: ProfileServices, vector: Float32Array, k: number, opts: { where?: Compiled | null; exclude?: Set<number> } = {}): Promise<Neighbour[]> {
  const { exclude } = opts;
  const layout = await s.index.currentLayout();
  if (s.store.profiles.nearest) return s.store.profiles.nearest({ version: layout.version, vector, k, where: opts.where ?? null, exclude: [...(exclude ?? [])] });
  const allowed = opts.where ? new Set(await s.store.segments.selectUserIds(opts.where)) : null;
  const ok = (id: number) => (!allowed || allowed.has(id)) && !exclude?.has(id);
  if (allowed && allowed.size <= EXACT_FILTER_MAX) {
    const rows = await s.store.profiles.getMany([...allowed].filter(ok));
    return [...rows.values()]
      .filter((r) => r.version === layout.version)
      .map((r) => ({ userId: r.userId, similarity: cosine(vector, r.vector) }))
      .sort((a, b) => b.similarity - a.similarity || a.userId - b.userId)
      .slice(0, k);
  }
  let fetch = Math.max(k * 2, k + (exclude?.size ?? 0) + 8);
  for (;;) {
    const hits = await s.index.search(vector, fetch);
    const out = hits.filter((h) => ok(h.label)).map((h) => ({ userId: h.label, similarity: h.similarity }));
    if (out.length >= k || hits.length < fetch || fetch >= s.index.size) return out.slice(0, k);
    fetch = Math.min(fetch * 4, s.index.size);
  }
}

export interface SimilarQuery {
  k: number;
  filter?: Filter | null;
  /** extra SQL conditions, e.g. marketing consent */
  extra?: Compiled[];
}

/**
 * Users most like `userId` (internal id), with why: block similarities and shared traits.
 * `users` maps each result's public id to its internal id (the audit records whose data the answer
 * carried without resolving the ids back).
 */
export async function similarUsers(
  s: ProfileServices,
  userId: number,
  q: SimilarQuery,
): Promise<{ results: SimilarResult[]; vectorVersion: string | null; note?: string; users: Map<string, number> }> {
  const layout = await s.index.currentLayout();
  const me = await s.store.profiles.get(userId);
  if (!me || me.version !== layout.version)
    return {
      results: [],
      vectorVersion: null,
      users: new Map(),
      note: me ? 'the profile vector is being rebuilt (new vector version); try again shortly' : 'this user has no profile vector yet (no data processed, or no profiling consent)',
    };
  const hits = await nearest(s, me.vector, q.k, { where: filterCondition(s, q.filter ?? null, q.extra ?? []), exclude: new Set([userId]) });
  const results = await explain(s, layout, userId, me.vector, hits);
  // explain keeps the hits' order
  return { results, vectorVersion: layout.version, users: new Map(results.map((r, i) => [r.userId, (hits[i] as Neighbour).userId])) };
}

export async function explain(s: ProfileServices, layout: VectorLayout, userId: number | null, vector: Float32Array, hits: readonly Neighbour[]): Promise<SimilarResult[]> {
  // The caller's and every neighbour's current traits in one statement (was one per neighbour).
  const traits = userId === null ? null : await s.store.traits.currentOfMany([userId, ...hits.map((h) => h.userId)]);
  const mine = userId === null ? [] : (traits?.get(userId) ?? []);
  const ids = await s.store.profiles.publicIds(hits.map((h) => h.userId));
  const rows = await s.store.profiles.getMany(hits.map((h) => h.userId));
  const out: SimilarResult[] = [];
  for (const h of hits) {
    const r = rows.get(h.userId);
    const blocks: Partial<Record<BlockName, number | null>> = {};
    for (const b of layout.blocks) blocks[b.name] = r ? round(blockCosine(layout, b.name, vector, r.vector)) : null;
    out.push({
      userId: ids.get(h.userId) ?? String(h.userId),
      similarity: round(h.similarity) as number,
      blocks,
      sharedTraits: userId === null ? [] : sharedTraits(mine, traits?.get(h.userId) ?? []).slice(0, 10),
    });
  }
  return out;
}

const round = (x: number | null) => (x === null ? null : Math.round(x * 10_000) / 10_000);

/**
 * Free-text search: the query embedded with the profile embedder, placed in the text block, HNSW
 * candidates over-fetched and re-ranked by exact text-block cosine (the index's cosine mixes in the
 * other blocks' share of each user's norm).
 */
export async function searchUsers(
  s: ProfileServices,
  query: string,
  k: number,
  opts: { where?: Compiled | null } = {},
): Promise<{ results: { userId: string; score: number; internalId: number }[]; vectorVersion: string }> {
  const layout = await s.index.currentLayout();
  const text = layout.blocks.find((b) => b.name === 'text');
  if (!text) throw new UnprocessableError('free-text search needs the text block (TRAITLENS_VECTOR_W_TEXT > 0)');
  const [q] = await s.providers.embedder.embed([query]);
  const composed = q ? composeVector(layout, { text: q }) : null;
  if (!composed) return { results: [], vectorVersion: layout.version };
  const candidates = await nearest(s, composed.vector, Math.max(k * 10, 50), { where: opts.where ?? null });
  const rows = await s.store.profiles.getMany(candidates.map((c) => c.userId));
  const scored = candidates
    .map((c) => ({ id: c.userId, score: rows.get(c.userId) ? (blockCosine(layout, 'text', composed.vector, (rows.get(c.userId) as { vector: Float32Array }).vector) ?? -1) : -1 }))
    .filter((x) => x.score > -1)
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
  const ids = await s.store.profiles.publicIds(scored.map((x) => x.id));
  return { results: scored.map((x) => ({ userId: ids.get(x.id) ?? String(x.id), score: round(x.score) as number, internalId: x.id })), vectorVersion: layout.version };
}

export async function requireProfileVector(s: ProfileServices, userId: number, ref: string): Promise<Float32Array> {
  const p = await s.store.profiles.get(userId);
  if (!p) throw new NotFoundError(`user "${ref}" has no profile vector yet`, { userId: ref });
  return p.vector;
}
