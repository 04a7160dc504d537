/**
 * Similar users (nearest neighbours of a user's vector, with optional filters) and free-text search
 * over the text block. Filters run in SQL to an allowed-id set; small sets are scored exactly, large
 * ones by HNSW with over-fetching (doubling k until k results pass or the index is exhausted).
 */
import { NotFoundError, UnprocessableError } from '../core/errors.ts';
import type { Trait } from '../core/types.ts';
import type { Db } from '../db/connection.ts';
import { getProfile, getProfiles, publicIds, selectUserIds } from '../db/profiles.ts';
import { currentTraits } from '../db/users.ts';
import { blockCosine, composeVector, cosine, type BlockName, type VectorLayout } from '../profile/vector.ts';
import { compileFilter, type Compiled, type Filter } from '../segments/dsl.ts';
import type { ProfileServices } from './services.ts';

/** Below this many allowed users, a filter is answered by exact scoring instead of the index. */
export const EXACT_FILTER_MAX = 2000;
const TRAIT_KINDS_SHOWN = new Set(['semantic', 'declared', 'predicted', 'computed']);

export interface Neighbour {
  userId: number;
  similarity: number;
}

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

/** Allowed user ids for a filter, or null for no filter. */
export function allowedIds(db: Db, filter: Filter | null, extra: Compiled[] = []): Set<number> | null {
  const parts: Compiled[] = [...(filter ? [compileFilter(filter)] : []), ...extra];
  if (!parts.length) return null;
  return new Set(selectUserIds(db, parts.map((p) => `(${p.where})`).join(' AND '), parts.flatMap((p) => p.params)));
}

/**
 * The k nearest users to `vector` that pass `allowed` and are not in `exclude`. Exact over the
 * allowed rows when the set is small, else HNSW with over-fetching.
 */
export function nearest(s: ProfileServices, vector: Float32Array, k: number, opts: { allowed?: Set<number> | null; exclude?: Set<number> } = {}): Neighbour[] {
  const { allowed, exclude } = opts;
  const ok = (id: number) => (!allowed || allowed.has(id)) && !exclude?.has(id);
  if (allowed && allowed.size <= EXACT_FILTER_MAX) {
    const layout = s.index.currentLayout();
    const rows = getProfiles(s.db, [...allowed].filter(ok));
    return [...rows.values()]
      .filter((r) => r.version === layout.version)
      .map((r) => ({ userId: r.userId, similarity: cosine(vector, r.vector) }))
      .sort((a, b) => b.similarity - a.similarity)
      .slice(0, k);
  }
  let fetch = Math.max(k * 2, k + (exclude?.size ?? 0) + 8);
  for (;;) {
    const hits = s.index.search(vector, fetch);
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

/** Users most like `userId` (internal id), with why: block similarities and shared traits. */
export function similarUsers(s: ProfileServices, userId: number, q: SimilarQuery): { results: SimilarResult[]; vectorVersion: string | null; note?: string } {
  const layout = s.index.currentLayout();
  const me = getProfile(s.db, userId);
  if (!me || me.version !== layout.version)
    return { results: [], vectorVersion: null, note: me ? 'the profile vector is being rebuilt (new vector version); try again shortly' : 'this user has no profile vector yet (no data processed, or no profiling consent)' };
  const allowed = allowedIds(s.db, q.filter ?? null, q.extra ?? []);
  const hits = nearest(s, me.vector, q.k, { allowed, exclude: new Set([userId]) });
  return { results: explain(s, layout, userId, me.vector, hits), vectorVersion: layout.version };
}

export function explain(s: ProfileServices, layout: VectorLayout, userId: number | null, vector: Float32Array, hits: readonly Neighbour[]): SimilarResult[] {
  const mine = userId === null ? [] : currentTraits(s.db, userId);
  const ids = publicIds(s.db, hits.map((h) => h.userId));
  const rows = getProfiles(s.db, hits.map((h) => h.userId));
  return hits.map((h) => {
    const r = rows.get(h.userId);
    const blocks: Partial<Record<BlockName, number | null>> = {};
    for (const b of layout.blocks) blocks[b.name] = r ? round(blockCosine(layout, b.name, vector, r.vector)) : null;
    return {
      userId: ids.get(h.userId) ?? String(h.userId),
      similarity: round(h.similarity) as number,
      blocks,
      sharedTraits: userId === null ? [] : sharedTraits(mine, currentTraits(s.db, h.userId)).slice(0, 10),
    };
  });
}

const round = (x: number | null) => (x === null ? null : Math.round(x * 10_000) / 10_000);

/**
 * Free-text search: the query embedded with the profile embedder, placed in the text block, HNSW
 * candidates over-fetched and re-ranked by exact text-block cosine (the index's cosine mixes in the
 * other blocks' share of each user's norm).
 */
export async function searchUsers(s: ProfileServices, query: string, k: number, opts: { allowed?: Set<number> | null } = {}): Promise<{ results: { userId: string; score: number; internalId: number }[]; vectorVersion: string }> {
  const layout = s.index.currentLayout();
  const text = layout.blocks.find((b) => b.name === 'text');
  if (!text) throw new UnprocessableError('free-text search needs the text block (TRAITLENS_VECTOR_W_TEXT > 0)');
  const [q] = await s.providers.embedder.embed([query]);
  const composed = q ? composeVector(layout, { text: q }) : null;
  if (!composed) return { results: [], vectorVersion: layout.version };
  const candidates = nearest(s, composed.vector, Math.min(s.index.size, Math.max(k * 10, 50)), { allowed: opts.allowed ?? null });
  const rows = getProfiles(s.db, candidates.map((c) => c.userId));
  const scored = candidates
    .map((c) => ({ id: c.userId, score: rows.get(c.userId) ? (blockCosine(layout, 'text', composed.vector, (rows.get(c.userId) as { vector: Float32Array }).vector) ?? -1) : -1 }))
    .filter((x) => x.score > -1)
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
  const ids = publicIds(s.db, scored.map((x) => x.id));
  return { results: scored.map((x) => ({ userId: ids.get(x.id) ?? String(x.id), score: round(x.score) as number, internalId: x.id })), vectorVersion: layout.version };
}

export function requireProfileVector(s: ProfileServices, userId: number, ref: string): Float32Array {
  const p = getProfile(s.db, userId);
  if (!p) throw new NotFoundError(`user "${ref}" has no profile vector yet`, { userId: ref });
  return p.vector;
}
