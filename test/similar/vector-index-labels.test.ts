import { describe, expect, it } from 'vitest';
import { VectorIndex } from '../../src/similar/hnsw-index.ts';

describe('VectorIndex live labels (a bitmap, not a Set on the JS heap)', () => {
  it('tracks adds, updates and removals of sparse labels across word and growth boundaries', () => {
    const ix = VectorIndex.create(4, { m: 8, efConstruction: 50, ef: 50 }, 'v', 16);
    const labels = [1, 31, 32, 33, 63, 64, 5000, 70_001];
    labels.forEach((l, i) => ix.upsert(l, [1, i + 1, 0.5, -i]));
    ix.upsert(32, [0, 1, 0, 0]); // an update: still one label
    expect(ix.size).toBe(labels.length);
    expect([...ix.labels()]).toEqual(labels);
    for (const l of labels) expect(ix.has(l)).toBe(true);
    for (const l of [0, 2, 30, 34, 65, 4999, 70_000, 70_002, 1_000_000]) expect(ix.has(l)).toBe(false);
    expect(ix.remove(33)).toBe(true);
    expect(ix.remove(33)).toBe(false);
    expect(ix.remove(2)).toBe(false);
    expect(ix.has(33)).toBe(false);
    expect(ix.size).toBe(labels.length - 1);
    expect(ix.search([1, 1, 0.5, 0], 20).map((h) => h.label)).not.toContain(33);
    ix.upsert(33, [1, 0, 0, 0]); // re-added after removal
    expect(ix.has(33)).toBe(true);
    expect(ix.size).toBe(labels.length);
    expect(ix.search([1, 0, 0, 0], 1)[0]?.label).toBe(33);
  });
});
