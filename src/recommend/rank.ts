/**
 * Ranking recommendations (pure; the recommendation service and `traitlens eval recommend` both
 * call it, so the figures measure the code that serves). Four signals, each scaled to [0, 1] per
 * user by its maximum over the candidates, then blended with weights tuned on Online Retail
 * (docs/eval-recommend.md; tuned on a validation window carved from the training period only):
 *
 * - bought_with: item-embedding neighbours of the user's items. For each of the user's items o
 *   (the heaviest `maxOwnedSeeds`), its `neighboursPerItem` nearest items c add
 *   w(o) · max(0, cos(o, c)), with w(o) = log(1 + weight(o)). The reason names the item that
 *   contributed most ("bought with X").
 * - similar_users: items of the user's nearest users (`neighbourItems`, one entry per neighbour and
 *   item, score = that neighbour's similarity); an item's signal is the sum. The reason counts the
 *   distinct neighbours ("popular with users like you").
 * - popular: overall popularity (interaction counts), log-scaled; the only signal for a user with
 *   no items and no neighbours (a new user).
 * - bought_before: only when owned items are not excluded (re-buying is the point): the user's own
 *   weight for the item, log-scaled.
 *
 * Owned items are excluded unless `excludeOwned` is false.
 */
import { nearestItems, type ItemVectors } from '../items/vectors.ts';

export type ReasonKind = 'bought_with' | 'similar_users' | 'popular' | 'bought_before';
export const REASON_KINDS: readonly ReasonKind[] = ['bought_with', 'similar_users', 'popular', 'bought_before'];

export interface Reason {
  kind: ReasonKind;
  /** bought_with: the user's item that this one is nearest to */
  item?: string;
  /** similar_users: how many of the user's neighbours have it */
  users?: number;
  text: string;
}

export interface Ranked {
  item: string;
  score: number;
  reasons: Reason[];
}

export interface BlendWeights {
  boughtWith: number;
  similarUsers: number;
  popular: number;
  /** used only when owned items are not excluded */
  boughtBefore: number;
}

/**
 * Chosen on Online Retail's validation window (training period only; docs/eval-recommend.md) for
 * each owned-items setting, with MF item embeddings, 50 similar users and popularity counted over
 * the last 30 days of history: `traitlens eval recommend` prints the weights it chose.
 */
export const DEFAULT_BLEND: Readonly<Record<'excludeOwned' | 'includeOwned', BlendWeights>> = {
  excludeOwned: { boughtWith: 1, similarUsers: 0.25, popular: 2, boughtBefore: 0 },
  includeOwned: { boughtWith: 1, similarUsers: 1, popular: 4, boughtBefore: 4 },
};

export interface RankInput {
  /** the user's items → aggregated weight (interaction count or summed weight property) */
  owned: Map<string, number>;
  embeddings?: ItemVectors;
  /** items of similar users: one entry per (neighbour, item); score = the neighbour's similarity; via = the neighbour's external id */
  neighbourItems: readonly { item: string; score: number; via: string }[];
  popularity: Map<string, number>;
  k: number;
  excludeOwned: boolean;
  titles?: Map<string, string>;
  /** blend weights; default DEFAULT_BLEND for the owned-items setting */
  weights?: BlendWeights;
  /** nearest items of one item (default: nearestItems over `embeddings`); callers ranking many users pass a precomputed lookup */
  itemNeighbours?: (item: string) => readonly { item: string; score: number }[];
  /** neighbours per seed item (default 50) */
  neighboursPerItem?: number;
  /** at most this many of the user's items seed bought_with, heaviest first (default 100) */
  maxOwnedSeeds?: number;
  /** items never recommended (e.g. postage or fee codes) */
  exclude?: ReadonlySet<string>;
}

/** Per-candidate signals before blending, each in [0, 1]; exported so the eval can tune the blend on the same signals. */
export interface Candidate {
  item: string;
  boughtWith: number;
  boughtWithVia?: string;
  similarUsers: number;
  users: number;
  popular: number;
  boughtBefore: number;
}

const POPULAR_POOL = 200;

/** Items by popularity (desc, then id), memoised per popularity map: callers ranking many users pass the same map. */
const popularOrder = new WeakMap<ReadonlyMap<string, number>, string[]>();
function byPopularity(pop: ReadonlyMap<string, number>): string[] {
  let order = popularOrder.get(pop);
  if (!order) {
    order = [...pop.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([item]) => item);
    popularOrder.set(pop, order);
  }
  return order;
}

export function candidates(input: RankInput): Candidate[] {
  const excluded = (item: string) => input.exclude?.has(item) === true || (input.excludeOwned && input.owned.has(item));
  const acc = new Map<string, Candidate>();
  const get = (item: string) => {
    let c = acc.get(item);
    if (!c) {
      c = { item, boughtWith: 0, similarUsers: 0, users: 0, popular: 0, boughtBefore: 0 };
      acc.set(item, c);
    }
    return c;
  };

  // bought_with
  const per = input.neighboursPerItem ?? 50;
  const lookup = input.itemNeighbours ?? (input.embeddings ? (item: string) => nearestItems(input.embeddings!, item, per) : undefined);
  if (lookup) {
    const seeds = [...input.owned.entries()]
      .filter(([, w]) => w > 0)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, input.maxOwnedSeeds ?? 100);
    const best = new Map<string, number>();
    for (const [o, w] of seeds) {
      const wo = Math.log1p(w);
      const ns = lookup(o);
      for (let i = 0; i < ns.length && i < per; i++) {
        const n = ns[i]!;
        if (n.score <= 0 || excluded(n.item)) continue;
        const c = get(n.item);
        const add = wo * n.score;
        c.boughtWith += add;
        if (add > (best.get(n.item) ?? 0)) {
          best.set(n.item, add);
          c.boughtWithVia = o;
        }
      }
    }
  }

  // similar_users
  const via = new Map<string, Set<string>>();
  for (const n of input.neighbourItems) {
    if (!(n.score > 0) || excluded(n.item)) continue;
    get(n.item).similarUsers += n.score;
    let s = via.get(n.item);
    if (!s) via.set(n.item, (s = new Set()));
    s.add(n.via);
  }
  for (const [item, s] of via) get(item).users = s.size;

  // popular: the most popular items are always candidates (the new-user fallback)
  let maxPop = 0;
  for (const v of input.popularity.values()) if (v > maxPop) maxPop = v;
  if (maxPop > 0) {
    const pool = Math.max(POPULAR_POOL, input.k);
    let added = 0;
    for (const item of byPopularity(input.popularity)) {
      if (added >= pool) break;
      if (excluded(item)) continue;
      get(item);
      added++;
    }
    for (const c of acc.values()) c.popular = Math.log1p(input.popularity.get(c.item) ?? 0) / Math.log1p(maxPop);
  }

  // bought_before
  if (!input.excludeOwned) {
    let maxOwn = 0;
    for (const [item, w] of input.owned) if (w > maxOwn && !excluded(item)) maxOwn = w;
    if (maxOwn > 0) for (const [item, w] of input.owned) if (w > 0 && !excluded(item)) get(item).boughtBefore = Math.log1p(w) / Math.log1p(maxOwn);
  }

  const all = [...acc.values()];
  let maxBw = 0;
  let maxSu = 0;
  for (const c of all) {
    if (c.boughtWith > maxBw) maxBw = c.boughtWith;
    if (c.similarUsers > maxSu) maxSu = c.similarUsers;
  }
  for (const c of all) {
    if (maxBw > 0) c.boughtWith /= maxBw;
    if (maxSu > 0) c.similarUsers /= maxSu;
  }
  return all;
}

/** Blends the signals and returns the top k with reasons, best first (ties by item id). */
export function blend(cands: readonly Candidate[], weights: BlendWeights, k: number, titles?: Map<string, string>): Ranked[] {
  const name = (item: string) => titles?.get(item) ?? item;
  const scored = cands.map((c) => ({
    c,
    parts: {
      bought_with: weights.boughtWith * c.boughtWith,
      similar_users: weights.similarUsers * c.similarUsers,
      popular: weights.popular * c.popular,
      bought_before: weights.boughtBefore * c.boughtBefore,
    } satisfies Record<ReasonKind, number>,
  }));
  const total = (p: Record<ReasonKind, number>) => p.bought_with + p.similar_users + p.popular + p.bought_before;
  const top = scored
    .map((s) => ({ ...s, score: total(s.parts) }))
    .filter((s) => s.score > 0)
    .sort((a, b) => b.score - a.score || (a.c.item < b.c.item ? -1 : 1))
    .slice(0, Math.max(0, k));
  return top.map(({ c, parts, score }) => {
    const reasons: Reason[] = [];
    for (const kind of (Object.keys(parts) as ReasonKind[]).filter((x) => parts[x] > 0).sort((a, b) => parts[b] - parts[a])) {
      if (kind === 'bought_with' && c.boughtWithVia) reasons.push({ kind, item: c.boughtWithVia, text: `bought with ${name(c.boughtWithVia)}` });
      else if (kind === 'similar_users') reasons.push({ kind, users: c.users, text: `popular with users like you (${c.users} similar ${c.users === 1 ? 'user' : 'users'})` });
      else if (kind === 'popular') reasons.push({ kind, text: 'popular overall' });
      else if (kind === 'bought_before') reasons.push({ kind, text: 'you bought this before' });
    }
    return { item: c.item, score: Math.round(score * 10_000) / 10_000, reasons };
  });
}

export function rankRecommendations(input: RankInput): Ranked[] {
  const weights = input.weights ?? DEFAULT_BLEND[input.excludeOwned ? 'excludeOwned' : 'includeOwned'];
  return blend(candidates(input), weights, input.k, input.titles);
}
