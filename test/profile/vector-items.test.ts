import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.ts';
import { ingestBatch } from '../../src/ingest/ingest.ts';
import { poolUserItems } from '../../src/items/embeddings.ts';
import { rebuildAllProfiles, updateUserProfile, profileDepsFromConfig } from '../../src/profile/profile-stage.ts';
import { composeVector, vectorLayout, weightsFromConfig, blockCosine, type VectorLayout } from '../../src/profile/vector.ts';
import { OfflineEmbedder } from '../../src/providers/index.ts';
import { testConfig } from '../support/api.ts';
import { createTempDb, type TempDb } from '../support/temp-db.ts';

const emb = { id: 'test:emb', dim: 4 };
const unit = (v: number[]) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};

describe('the item block of the user vector (layout)', () => {
  it('has its own slot, weight and version part; absent without an item model or with weight 0', () => {
    const w = weightsFromConfig(loadConfig({ TRAITLENS_ITEM_VECTOR_WEIGHT: '0.7', TRAITLENS_VECTOR_W_BEHAVIOUR: '0' }));
    expect(w.items).toBe(0.7);
    const l = vectorLayout(emb, null, w, { version: 'v9', dim: 3 });
    expect(l.blocks.map((b) => b.name)).toEqual(['text', 'traits', 'items']);
    expect(l.blocks[2]).toEqual({ name: 'items', offset: 8, dim: 3, weight: 0.7 });
    expect(l.dim).toBe(11);
    expect(l.version).toBe('uv2;text=test:emb/4@1;behaviour=none;traits=test:emb/4@1;items=emb-v9/3@0.7');
    const none = vectorLayout(emb, null, w, null);
    expect(none.version).toBe('uv2;text=test:emb/4@1;behaviour=none;traits=test:emb/4@1;items=none');
    expect(none.dim).toBe(8);
    expect(vectorLayout(emb, null, { ...w, items: 0 }, { version: 'v9', dim: 3 }).version).toMatch(/;items=none$/);
    expect(loadConfig({}).TRAITLENS_ITEM_VECTOR_WEIGHT).toBe(1);
  });

  it('the block is L2-normalised then weighted; its share of the cosine follows the weight', () => {
    const w = { text: 1, behaviour: 0, traits: 0, items: 2 };
    const l: VectorLayout = vectorLayout(emb, null, w, { version: 'v', dim: 2 });
    const r = composeVector(l, { text: Float32Array.from([1, 0, 0, 0]), items: Float32Array.from([3, 4]) })!;
    expect(r.present).toEqual({ text: true, behaviour: false, traits: false, items: true });
    // [1·(1,0,0,0) | 2·(0.6, 0.8)] / sqrt(1 + 4)
    const s = Math.sqrt(5);
    expect(Array.from(r.vector).map((x) => +x.toFixed(5))).toEqual([1 / s, 0, 0, 0, 1.2 / s, 1.6 / s].map((x) => +x.toFixed(5)));
    const noItems = composeVector(l, { text: Float32Array.from([1, 0, 0, 0]) })!;
    expect(noItems.present.items).toBe(false);
    expect(Array.from(noItems.vector.subarray(4))).toEqual([0, 0]);
    expect(blockCosine(l, 'items', r.vector, r.vector)).toBeCloseTo(1, 6);
  });
});

describe('the item block in stored vectors', () => {
  let t: TempDb;
  beforeAll(() => {
    t = createTempDb();
  });
  afterAll(() => t.cleanup());
  const T = 1_780_000_000_000;

  it('pools the user items in the pinned model (as of the vector time), is zero for users without items, and keeps its version until reindex', async () => {
    const config = testConfig(t.path, { TRAITLENS_ITEM_VECTOR_WEIGHT: '0.8', TRAITLENS_ITEM_WEIGHT_PROPERTY: 'quantity' });
    const embedder = new OfflineEmbedder({ cacheDir: config.TRAITLENS_CACHE_DIR, removePrincipalComponent: config.TRAITLENS_OFFLINE_REMOVE_PC });
    const deps = profileDepsFromConfig(t.store, embedder, config);
    await ingestBatch(t.store.events, [
      { userId: 'buyer', type: 'purchase', properties: { item: 'x', quantity: 3, price: 2 }, timestamp: T },
      { userId: 'buyer', type: 'purchase', properties: { product_id: 'y', price: 5 }, timestamp: T + 1 },
      { userId: 'buyer', type: 'purchase', properties: { item: 'z', price: 5 }, timestamp: T + 5000 },
      { userId: 'viewer', type: 'page_view', properties: { dwell_ms: 100 }, timestamp: T },
    ]);
    const buyer = (await t.store.users.require('buyer')).id;
    const viewer = (await t.store.users.require('viewer')).id;

    // No item model yet: no item block, and the version says so.
    const before = await updateUserProfile(deps, buyer, { now: T + 10 });
    expect(before.version).toMatch(/;items=none$/);

    const items = ['x', 'y', 'z'];
    const vectors = Float32Array.from([...unit([1, 0, 0]), ...unit([0, 1, 0]), ...unit([0, 0, 1])]);
    await t.store.items.saveEmbeddings({ version: 'm1', dim: 3, card: {}, items, vectors, createdAt: T });
    const r = await updateUserProfile(deps, buyer, { now: T + 10 });
    expect(r.version).toMatch(/;items=emb-m1\/3@0\.8$/);
    expect(r.blocks?.items).toBe(true);
    const row = (await t.store.profiles.get(buyer))!;
    const blk = row.version.split(';');
    expect(blk.at(-1)).toBe('items=emb-m1/3@0.8');
    // As of T + 10 the buyer has x (quantity 3) and y (weight 1), not z (bought later).
    const expected = poolUserItems({ items, vectors, dim: 3 }, [
      { item: 'x', weight: Math.log1p(3) },
      { item: 'y', weight: Math.log1p(1) },
    ])!;
    const itemSlice = Array.from(row.vector.subarray(row.vector.length - 3));
    const n = Math.hypot(...itemSlice);
    itemSlice.forEach((x, i) => expect(x / n).toBeCloseTo(expected[i] as number, 5));
    expect(itemSlice[2]).toBe(0);
    // The item block's share of the vector is its weight against the other present blocks'.
    const others = Math.hypot(...Array.from(row.vector.subarray(0, row.vector.length - 3)));
    const presentWeights = Object.entries(row.blocks)
      .filter(([, v]) => v)
      .map(([k]) => ({ text: 1, behaviour: 0.5, traits: 1, items: 0.8 })[k as 'items']);
    expect(n).toBeCloseTo(0.8 / Math.hypot(...presentWeights), 5);
    expect(others).toBeGreaterThan(0);

    const v = await updateUserProfile(deps, viewer, { now: T + 10 });
    expect(v.blocks?.items).toBe(false);

    // A new active item model does not change the vectors' version under a running index...
    await t.store.items.saveEmbeddings({ version: 'm2', dim: 3, card: {}, items, vectors, createdAt: T + 20 });
    expect((await updateUserProfile(deps, buyer, { now: T + 30 })).version).toMatch(/items=emb-m1\//);
    // ...reindex re-pins it and recomputes every vector.
    const rebuilt = await rebuildAllProfiles(deps, { now: T + 40 });
    expect(rebuilt.version).toMatch(/items=emb-m2\/3@0\.8$/);
    expect((await t.store.profiles.get(buyer))!.version).toBe(rebuilt.version);
  });
});
