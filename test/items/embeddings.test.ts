import { beforeAll, describe, expect, it } from 'vitest';
import { nearestItems, poolUserItems, trainItemEmbeddings, type ItemInteractionInput } from '../../src/items/embeddings.ts';
import { initBackend } from '../../src/predict/backend.ts';

// A small market: four product families of six items each; every basket (one invoice: one user,
// one timestamp) holds three items of one family, so items of a family are bought together and
// items of different families never are.
const FAMILIES = 4;
const PER = 6;
const item = (f: number, i: number) => `f${f}-i${i}`;

function fixture(): ItemInteractionInput[] {
  const rows: ItemInteractionInput[] = [];
  for (let u = 0; u < 120; u++)
    for (let b = 0; b < 4; b++) {
      const f = u % FAMILIES;
      for (let k = 0; k < 3; k++) rows.push({ user: `u${u}`, item: item(f, (u * 5 + b * 7 + k) % PER), weight: 1, ts: Date.UTC(2024, 0, 1 + b * 3, 10) + k * 1000 });
    }
  return rows;
}

const cos = (m: { items: string[]; vectors: Float32Array; dim: number }, a: string, b: string) => {
  const i = m.items.indexOf(a);
  const j = m.items.indexOf(b);
  let s = 0;
  for (let d = 0; d < m.dim; d++) s += m.vectors[i * m.dim + d]! * m.vectors[j * m.dim + d]!;
  return s;
};

function withinVsAcross(m: { items: string[]; vectors: Float32Array; dim: number }): { within: number; across: number } {
  let within = 0;
  let nw = 0;
  let across = 0;
  let na = 0;
  for (let f = 0; f < FAMILIES; f++)
    for (let i = 0; i < PER; i++)
      for (let g = 0; g < FAMILIES; g++)
        for (let j = 0; j < PER; j++) {
          if (f === g && i === j) continue;
          const c = cos(m, item(f, i), item(g, j));
          if (f === g) {
            within += c;
            nw++;
          } else {
            across += c;
            na++;
          }
        }
  return { within: within / nw, across: across / na };
}

const OPTS = { dim: 8, epochs: 12, learningRate: 0.05, batchSize: 256 };

beforeAll(async () => {
  await initBackend({ log: () => {} });
});

describe('trainItemEmbeddings', () => {
  for (const method of ['item2vec', 'mf'] as const) {
    it(`${method}: the same seed gives the same vectors (whatever the input order); another seed does not`, async () => {
      const rows = fixture();
      const a = await trainItemEmbeddings(rows, { ...OPTS, method, seed: 7, epochs: 2 });
      const b = await trainItemEmbeddings([...rows].reverse(), { ...OPTS, method, seed: 7, epochs: 2 });
      const c = await trainItemEmbeddings(rows, { ...OPTS, method, seed: 8, epochs: 2 });
      expect(a.items).toEqual(b.items);
      expect(Array.from(a.vectors)).toEqual(Array.from(b.vectors));
      expect(a.version.split('-').at(-1)).toBe(b.version.split('-').at(-1));
      expect(Array.from(c.vectors)).not.toEqual(Array.from(a.vectors));
    });

    it(`${method}: co-bought items end up nearer than items never bought together`, async () => {
      const m = await trainItemEmbeddings(fixture(), { ...OPTS, method, seed: 3 });
      const { within, across } = withinVsAcross(m);
      expect(within).toBeGreaterThan(across + 0.3);
      // the nearest items of an item are its family
      const near = nearestItems(m, item(2, 0), PER - 1).map((n) => n.item);
      expect(near.filter((x) => x.startsWith('f2-')).length).toBeGreaterThanOrEqual(PER - 2);
      const losses = m.card.lossCurve as number[];
      expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    });
  }

  it('writes a model card and a version; vectors are unit length', async () => {
    const m = await trainItemEmbeddings(fixture(), { ...OPTS, epochs: 2, seed: 1, now: () => Date.UTC(2024, 5, 1, 12) });
    expect(m.version).toMatch(/^item2vec-20240601T120000Z-[0-9a-f]{8}$/);
    expect(m.items).toHaveLength(FAMILIES * PER);
    expect(m.vectors).toHaveLength(m.items.length * m.dim);
    expect(m.card).toMatchObject({ method: 'item2vec', dim: 8, epochs: 2, items: 24, interactions: 120 * 4 * 3, users: 120, dataWindow: { from: '2024-01-01T10:00:00.000Z' } });
    expect(m.card.lossCurve).toHaveLength(2);
    for (let r = 0; r < m.items.length; r++) {
      let s = 0;
      for (let d = 0; d < m.dim; d++) s += m.vectors[r * m.dim + d]! ** 2;
      expect(Math.sqrt(s)).toBeCloseTo(1, 5);
    }
  });

  it('drops rare items (minCount) and refuses when nothing is left to learn from', async () => {
    const rows = [...fixture(), { user: 'x', item: 'rare', weight: 1, ts: 0 }];
    const m = await trainItemEmbeddings(rows, { ...OPTS, epochs: 1, minCount: 2 });
    expect(m.items).not.toContain('rare');
    await expect(trainItemEmbeddings([{ user: 1, item: 'a', weight: 1, ts: 0 }], { epochs: 1 })).rejects.toThrow(/not enough items/);
    await expect(trainItemEmbeddings(fixture(), { method: 'nope' })).rejects.toThrow(/unknown item embedding method/);
  });
});

describe('nearestItems and poolUserItems', () => {
  const model = { items: ['a', 'b', 'c'], dim: 2, vectors: Float32Array.from([1, 0, 0.6, 0.8, 0, 1]) };
  it('ranks by cosine and leaves the item itself out', () => {
    expect(nearestItems(model, 'a', 5)).toEqual([
      { item: 'b', score: expect.closeTo(0.6, 6) },
      { item: 'c', score: 0 },
    ]);
    expect(nearestItems(model, 'unknown', 5)).toEqual([]);
  });
  it('pools known items by weight and normalises; undefined when none is known', () => {
    const v = poolUserItems(model, [
      { item: 'a', weight: 3 },
      { item: 'c', weight: 1 },
      { item: 'zzz', weight: 5 },
    ])!;
    expect(v[0]).toBeCloseTo(3 / Math.sqrt(10), 6);
    expect(v[1]).toBeCloseTo(1 / Math.sqrt(10), 6);
    expect(poolUserItems(model, [{ item: 'zzz', weight: 1 }])).toBeUndefined();
    expect(poolUserItems(model, [{ item: 'a', weight: 0 }])).toBeUndefined();
  });
});
