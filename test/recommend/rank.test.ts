import { describe, expect, it } from 'vitest';
import { rankRecommendations, type RankInput } from '../../src/recommend/rank.ts';

// Five items in 2-d: mug and plate point the same way (bought together), card is orthogonal,
// jug sits between them, wrap opposite the mug.
const embeddings = {
  items: ['mug', 'plate', 'card', 'jug', 'wrap'],
  dim: 2,
  vectors: Float32Array.from([1, 0, 0.99, 0.141, 0, 1, Math.SQRT1_2, Math.SQRT1_2, -1, 0]),
};
const popularity = new Map([
  ['card', 50],
  ['mug', 40],
  ['wrap', 30],
  ['plate', 5],
  ['jug', 3],
]);
const base = (over: Partial<RankInput>): RankInput => ({ owned: new Map(), embeddings, neighbourItems: [], popularity, k: 3, excludeOwned: true, ...over });

describe('rankRecommendations', () => {
  it('leaves out what the user owns when excluding owned, and ranks items bought with it first', () => {
    const input = base({ owned: new Map([['mug', 3]]), titles: new Map([['mug', 'RED MUG']]), k: 5 });
    expect(rankRecommendations(input).map((x) => x.item)).not.toContain('mug');
    // popularity weighed lightly: the item bought with the mug comes first
    const r = rankRecommendations({ ...input, weights: { boughtWith: 1, similarUsers: 0, popular: 0.2, boughtBefore: 0 } });
    expect(r.map((x) => x.item)).not.toContain('mug');
    expect(r[0]!.item).toBe('plate');
    expect(r[0]!.reasons[0]).toEqual({ kind: 'bought_with', item: 'mug', text: 'bought with RED MUG' });
  });

  it('keeps owned items when re-buying is the point, with a "bought before" reason', () => {
    const r = rankRecommendations(base({ owned: new Map([['mug', 3]]), excludeOwned: false }));
    const mug = r.find((x) => x.item === 'mug');
    expect(mug).toBeDefined();
    expect(mug!.reasons.map((x) => x.kind)).toContain('bought_before');
  });

  it('falls back to popularity for a new user (no items, no neighbours), each with a reason', () => {
    const r = rankRecommendations(base({}));
    expect(r.map((x) => x.item)).toEqual(['card', 'mug', 'wrap']);
    for (const x of r) expect(x.reasons).toEqual([{ kind: 'popular', text: 'popular overall' }]);
    // no embeddings at all: still popularity
    expect(rankRecommendations(base({ embeddings: undefined })).map((x) => x.item)).toEqual(['card', 'mug', 'wrap']);
  });

  it('counts similar users per item and says so', () => {
    const r = rankRecommendations(
      base({
        popularity: new Map(),
        neighbourItems: [
          { item: 'jug', score: 0.9, via: 'u1' },
          { item: 'jug', score: 0.8, via: 'u2' },
          { item: 'card', score: 0.5, via: 'u1' },
          { item: 'wrap', score: -0.2, via: 'u3' },
        ],
      }),
    );
    expect(r.map((x) => x.item)).toEqual(['jug', 'card']);
    expect(r[0]!.reasons).toEqual([{ kind: 'similar_users', users: 2, text: 'popular with users like you (2 similar users)' }]);
    expect(r[1]!.reasons[0]!.text).toBe('popular with users like you (1 similar user)');
  });

  it('blends the signals with the given weights, every result has a reason, and never returns an excluded item', () => {
    const input = base({
      owned: new Map([['mug', 1]]),
      neighbourItems: [{ item: 'card', score: 1, via: 'u1' }],
      exclude: new Set(['plate']),
      k: 10,
    });
    const r = rankRecommendations({ ...input, weights: { boughtWith: 1, similarUsers: 0, popular: 0, boughtBefore: 0 } });
    expect(r.map((x) => x.item)).toEqual(['jug']);
    const all = rankRecommendations(input);
    expect(all.map((x) => x.item)).not.toContain('plate');
    expect(all.map((x) => x.item)).not.toContain('mug');
    for (const x of all) expect(x.reasons.length).toBeGreaterThan(0);
    const scores = all.map((x) => x.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  it('returns at most k items', () => {
    expect(rankRecommendations(base({ k: 2 }))).toHaveLength(2);
    expect(rankRecommendations(base({ k: 0 }))).toHaveLength(0);
  });
});
