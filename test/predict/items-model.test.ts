import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnprocessableError } from '../../src/core/errors.ts';
import { loadUserEvents } from '../../src/features/compute.ts';
import { computeUserItems, fitItemVocabulary, RARE_ITEM, userItemsFromEvents } from '../../src/features/items.ts';
import { initBackend } from '../../src/predict/backend.ts';
import { rocAuc } from '../../src/predict/metrics.ts';
import { loadModel, predictUsers, scoreUser } from '../../src/predict/score.ts';
import { parseSpec } from '../../src/predict/spec.ts';
import { trainModel } from '../../src/predict/train.ts';
import { listCurrentTraits } from '../../src/db/traits.ts';
import { ingest, userId } from '../features/helpers.ts';
import { createTempDb, tempDir, type TempDb } from '../support/temp-db.ts';

const ASOF = Date.parse('2024-03-01T00:00:00Z');
const D = 86_400_000;
const N = 240;

/**
 * Users come in pairs with identical timing, counts, prices and quantities; one of each pair buys
 * from catalogue A, the other from catalogue B. The declared attribute `team` is the catalogue: only
 * *which* items were bought predicts it, so aggregates cannot, items can. Every user also buys one
 * catalogue-B item after the cut-off (which must never be seen) and views a page.
 */
function fixture(): Record<string, unknown>[] {
  const ev: Record<string, unknown>[] = [];
  for (let i = 0; i < N; i++) {
    const u = `u${i}`;
    const pair = Math.floor(i / 2);
    const cat = i % 2 === 0 ? 'a' : 'b';
    const n = 2 + (pair % 3);
    for (let k = 0; k < n; k++) {
      const item = `${cat}${(pair + k) % 6}`;
      ev.push({
        userId: u,
        type: 'purchase',
        timestamp: ASOF - (5 + k * 7 + (pair % 11)) * D,
        properties: { item, price: 10 + ((pair + k) % 5), quantity: 1 + (k % 2), category: 'shop' },
      });
    }
    ev.push({ userId: u, type: 'page_view', timestamp: ASOF - (2 + (pair % 5)) * D, properties: { dwell_ms: 1000 } });
    ev.push({ userId: u, type: 'purchase', timestamp: ASOF + (3 + (pair % 9)) * D, properties: { item: 'b0', price: 12, quantity: 1, category: 'shop' } });
  }
  return ev;
}

let t: TempDb;
let models: { dir: string; remove(): void };
beforeAll(async () => {
  await initBackend({ log: () => {} });
  t = createTempDb();
  models = tempDir('traitlens-item-models-');
  ingest(t.db, fixture());
  for (let i = 0; i < N; i++) await t.store.users.setAttributes(`u${i}`, { team: i % 2 === 0 ? 'a' : 'b' }, undefined);
});
afterAll(() => {
  t?.cleanup();
  models?.remove();
});

const spec = (name: string, items: Record<string, unknown> | null, architecture: 'mlp' | 'gru' = 'mlp') =>
  parseSpec({
    name,
    asOf: new Date(ASOF).toISOString(),
    target: { kind: 'attribute', key: 'team', positive: 'a' },
    architecture,
    sequenceLength: 6,
    features: { maxEventTypes: 2, topCategories: 0, ...(items ? { items } : {}) },
    split: { kind: 'users', validation: 0.2, test: 0.3, seed: 3 },
    training: { epochs: architecture === 'gru' ? 40 : 80, patience: 15, batchSize: 32, learningRate: 0.02, hidden: [8], recurrentUnits: 6, l2: 0, dropout: 0, blend: 'none' },
  });

describe('item-aware models', () => {
  it('learn a target that depends only on which item was bought; aggregates alone cannot', async () => {
    const quiet = { modelsDir: models.dir, log: () => {}, now: ASOF };
    const agg = await trainModel(t.store, spec('team_aggregates', null), { ...quiet, version: 'v1' });
    const withItems = await trainModel(t.store, spec('team_items', { property: 'item', event: 'purchase', valueProperty: 'quantity', dim: 4, minUsers: 2 }), {
      ...quiet,
      version: 'v1',
    });
    const aucAgg = rocAuc(agg.test.labels, agg.test.scores);
    const aucItems = rocAuc(withItems.test.labels, withItems.test.scores);
    expect(aucItems).toBeGreaterThan(0.95);
    expect(aucAgg).toBeLessThan(0.7);
    // The card records the item inputs.
    expect(withItems.card.features.items).toMatchObject({ property: 'item', event: 'purchase', valueProperty: 'quantity', embedding: 'learned', dim: 4, vocabulary: 13 });
    expect(withItems.card.features.names).toContain('items_embedding_bag[13→4]');
    expect(agg.card.features.items).toBeNull();

    // Saved and loaded, scoring reproduces the test predictions (items read as of the same cut-off)…
    const m = await loadModel('team_items', { dir: models.dir });
    expect(m.artefact.items?.vocabulary[0]).toBe(RARE_ITEM);
    const some = withItems.test.userIds.slice(0, 6);
    const preds = await predictUsers(t.store.features, m, { asOf: ASOF, userIds: some });
    preds.forEach((p, i) => expect(p.probability).toBeCloseTo(withItems.test.scores[i] as number, 5));
    // …and the refresh path (one user's events read once, with the model's item keys) gives the same.
    const u = some[0] as number;
    const events = await loadUserEvents(t.store.features, u, ASOF, [m.artefact.schema]);
    const [one] = await predictUsers(t.store.features, m, { events });
    expect(one?.probability).toBeCloseTo(preds[0]?.probability as number, 5);
    await scoreUser(t.store, u, { models: [m], asOf: ASOF, now: ASOF });
    expect(listCurrentTraits(t.db, u, { kind: 'predicted' }).map((x) => x.key)).toContain('team_items');
  });

  it('attribute targets without `positive` (classes from the values) and GRU item sequences', async () => {
    const s = parseSpec({
      ...spec('team_seq', null, 'gru'),
      target: { kind: 'attribute', key: 'team' },
      features: { maxEventTypes: 2, topCategories: 0, items: { property: 'item', event: 'purchase', dim: 4, minUsers: 2, sequence: true } },
    });
    const r = await trainModel(t.store, s, { modelsDir: models.dir, log: () => {}, now: ASOF, version: 'v1' });
    expect(r.card.classes.sort()).toEqual(['a', 'b']);
    expect(r.card.features.items?.sequenceLength).toBe(6);
    expect(r.card.features.names).toContain('items_sequence[6×13]');
    expect(rocAuc(r.test.labels, r.test.scores)).toBeGreaterThan(0.9);
    const m = await loadModel('team_seq', { dir: models.dir });
    const preds = await predictUsers(t.store.features, m, { asOf: ASOF, userIds: r.test.userIds.slice(0, 3) });
    preds.forEach((p, i) => expect(p.probability).toBeCloseTo(r.test.scores[i] as number, 5));
  });

  it('multi-class targets (softmax) take item inputs too', async () => {
    // `tier`: a for catalogue A, b/c split within catalogue B by the pair number (items tell A from B only).
    for (let i = 0; i < N; i++) await t.store.users.setAttributes(`u${i}`, { tier: i % 2 === 0 ? 'a' : Math.floor(i / 2) % 2 ? 'b' : 'c' }, undefined);
    const s = parseSpec({
      ...spec('tier_items', { property: 'item', event: 'purchase', dim: 4, minUsers: 2 }),
      target: { kind: 'attribute', key: 'tier' },
      training: { epochs: 15, patience: 15, batchSize: 32, learningRate: 0.02, hidden: [8], l2: 0, dropout: 0 },
    });
    const r = await trainModel(t.store, s, { modelsDir: models.dir, log: () => {}, now: ASOF, version: 'v1' });
    expect([...r.card.classes].sort()).toEqual(['a', 'b', 'c']);
    expect(r.card.metrics.test.kind).toBe('multiclass');
    const m = await loadModel('tier_items', { dir: models.dir });
    const preds = await predictUsers(t.store.features, m, { asOf: ASOF, userIds: r.test.userIds.slice(0, 4) });
    expect(preds).toHaveLength(4);
    for (const p of preds) expect(['a', 'b', 'c']).toContain(p.value);
  });

  it('pretrained embeddings: a clear error without active ones', async () => {
    const s = spec('team_pre', { property: 'item', embedding: 'pretrained' });
    await expect(
      trainModel({ features: t.store.features, items: { activeEmbeddings: async () => undefined } }, s, { modelsDir: models.dir, log: () => {}, now: ASOF }),
    ).rejects.toThrow(UnprocessableError);
  });

  it('pretrained embeddings are pooled, copied into the model and scored identically', async () => {
    // Two directions: catalogue A items point one way, B the other (a stand-in for trained item2vec vectors).
    const ids = ['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'b0', 'b1', 'b2', 'b3', 'b4', 'b5'];
    const vectors = new Float32Array(ids.length * 3);
    ids.forEach((id, i) => vectors.set(id.startsWith('a') ? [1, 0.1 * (i % 3), 0] : [0, 0.1 * (i % 3), 1], i * 3));
    const src = { activeEmbeddings: async () => ({ version: 'emb-test-1', dim: 3, items: ids, vectors }) };
    const r = await trainModel({ features: t.store.features, items: src }, spec('team_pre', { property: 'item', event: 'purchase', embedding: 'pretrained', minUsers: 1 }), {
      modelsDir: models.dir,
      log: () => {},
      now: ASOF,
      version: 'v1',
    });
    expect(r.card.features.items).toMatchObject({ embedding: 'pretrained', embeddingsVersion: 'emb-test-1', dim: 3 });
    expect(rocAuc(r.test.labels, r.test.scores)).toBeGreaterThan(0.95);
    const m = await loadModel('team_pre', { dir: models.dir });
    const preds = await predictUsers(t.store.features, m, { asOf: ASOF, userIds: r.test.userIds.slice(0, 4) });
    preds.forEach((p, i) => expect(p.probability).toBeCloseTo(r.test.scores[i] as number, 5));
  });
});

describe('item inputs as of a cut-off', () => {
  it('never include interactions after the cut-off, in the scan or in a refresh', async () => {
    const keys = { property: 'item', event: 'purchase' };
    const u = userId(t.db, 'u0'); // catalogue A before the cut-off, b0 after it
    const before = await computeUserItems(t.store.features, { asOf: ASOF, keys, userIds: [u] });
    expect([...(before.get(u)?.items.keys() ?? [])].every((k) => k.startsWith('a'))).toBe(true);
    const after = await computeUserItems(t.store.features, { asOf: ASOF + 30 * D, keys, userIds: [u] });
    expect(after.get(u)?.items.has('b0')).toBe(true);
    const ev = await loadUserEvents(t.store.features, u, ASOF, [{ version: '1', asOf: ASOF, eventTypes: [], categories: [], properties: [], items: keys }]);
    expect(userItemsFromEvents(ev, keys).items.has('b0')).toBe(false);
    // Events handed in that lie after the cut-off are refused, not silently used.
    const late = await loadUserEvents(t.store.features, u, ASOF + 30 * D, [{ version: '1', asOf: ASOF, eventTypes: [], categories: [], properties: [], items: keys }]);
    expect(() => userItemsFromEvents({ ...late, asOf: ASOF }, keys)).toThrow(/leakage guard/);
  });

  it('weights: quantity weights an interaction, non-positive values are no interaction', () => {
    const ev = {
      userId: 1,
      asOf: ASOF,
      keys: ['item', 'quantity'],
      events: [
        { userId: 1, id: 1, ts: ASOF - 3, type: 'purchase', p0: 'x', p1: 3 },
        { userId: 1, id: 2, ts: ASOF - 2, type: 'purchase', p0: 'x', p1: -3 },
        { userId: 1, id: 3, ts: ASOF - 1, type: 'purchase', p0: 'y', p1: null },
        { userId: 1, id: 4, ts: ASOF, type: 'purchase', p0: '', p1: 2 },
      ],
    } as unknown as Parameters<typeof userItemsFromEvents>[0];
    const u = userItemsFromEvents(ev, { property: 'item', valueProperty: 'quantity' });
    expect(u.items.get('x')).toMatchObject({ n: 1, weight: 3 });
    expect(u.items.get('y')).toMatchObject({ n: 1, weight: 1 });
    expect(u.items.size).toBe(2);
  });

  it('the vocabulary is fitted on training users only; rare items share the first slot', () => {
    const mk = (...items: string[]) => ({ items: new Map(items.map((item) => [item, { item, n: 1, weight: 1, lastTs: 0 }])), sequence: [] });
    const v = fitItemVocabulary([mk('a', 'b'), mk('a', 'c'), mk('a', 'b'), undefined], { maxItems: 10, minUsers: 2 });
    expect(v.items).toEqual([RARE_ITEM, 'a', 'b']);
    expect(v.users).toEqual([1, 3, 2]);
    expect(fitItemVocabulary([mk('a', 'b'), mk('a', 'b')], { maxItems: 1, minUsers: 1 }).items).toEqual([RARE_ITEM, 'a']);
  });
});
