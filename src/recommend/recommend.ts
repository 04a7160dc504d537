/**
 * Neighbourhood recommendations: items (product_id, else category) that the user's nearest
 * neighbours engaged with and the user has not. score(item) = Σ_neighbours similarity ·
 * Σ_events weight(type), weights purchase 3 > add_to_cart 2 > product_view 1; each neighbour's
 * count per item is log-damped so one heavy viewer cannot dominate.
 */
import type { ProfileServices } from '../similar/services.ts';
import { nearest } from '../similar/similar.ts';

export const EVENT_WEIGHTS: Readonly<Record<string, number>> = { purchase: 3, add_to_cart: 2, product_view: 1 };

export interface Recommendation {
  item: string;
  kind: 'product' | 'category';
  score: number;
  reason: { neighbours: { userId: string; similarity: number; events: Record<string, number> }[] };
}

export async function recommend(
  s: ProfileServices,
  userId: number,
  opts: { k: number; neighbours: number; by: 'product' | 'category' },
): Promise<{ recommendations: Recommendation[]; neighbours: number; note?: string }> {
  const me = await s.store.profiles.get(userId);
  const layout = await s.index.currentLayout();
  if (!me || me.version !== layout.version) return { recommendations: [], neighbours: 0, note: 'this user has no profile vector yet' };
  const hits = (await nearest(s, me.vector, opts.neighbours, { exclude: new Set([userId]) })).filter((h) => h.similarity > 0);
  const types = Object.keys(EVENT_WEIGHTS);
  const itemOf = (r: { productId: string | null; category: string | null }) => (opts.by === 'product' ? r.productId : r.category);
  const seen = new Set((await s.store.profiles.engagements([userId], types)).map(itemOf).filter((x): x is string => !!x));
  const sim = new Map(hits.map((h) => [h.userId, h.similarity]));
  const acc = new Map<string, { score: number; by: Map<number, Record<string, number>> }>();
  for (const e of await s.store.profiles.engagements(
    hits.map((h) => h.userId),
    types,
  )) {
    const item = itemOf(e);
    if (!item || seen.has(item)) continue;
    const a = acc.get(item) ?? { score: 0, by: new Map() };
    const ev = a.by.get(e.userId) ?? {};
    ev[e.type] = (ev[e.type] ?? 0) + e.n;
    a.by.set(e.userId, ev);
    acc.set(item, a);
  }
  for (const a of acc.values())
    for (const [uid, ev] of a.by) a.score += (sim.get(uid) ?? 0) * Object.entries(ev).reduce((t, [type, n]) => t + (EVENT_WEIGHTS[type] ?? 0) * Math.log2(1 + n), 0);
  const top = [...acc.entries()].sort((x, y) => y[1].score - x[1].score || (x[0] < y[0] ? -1 : 1)).slice(0, opts.k);
  const names = await s.store.profiles.publicIds([...new Set(top.flatMap(([, a]) => [...a.by.keys()]))]);
  return {
    neighbours: hits.length,
    recommendations: top.map(([item, a]) => ({
      item,
      kind: opts.by,
      score: Math.round(a.score * 1000) / 1000,
      reason: {
        neighbours: [...a.by.entries()]
          .sort((x, y) => (sim.get(y[0]) ?? 0) - (sim.get(x[0]) ?? 0))
          .slice(0, 5)
          .map(([uid, events]) => ({ userId: names.get(uid) ?? String(uid), similarity: Math.round((sim.get(uid) ?? 0) * 10_000) / 10_000, events })),
      },
    })),
  };
}
