import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../src/core/errors.ts';
import { listCurrentTraits, traitHistory } from '../../src/db/traits.ts';
import { initBackend } from '../../src/predict/backend.ts';
import { loadModelFromDir, saveModelToDir } from '../../src/predict/io.ts';
import { buildNet, predictProba } from '../../src/predict/nets.ts';
import { getModel, listModels } from '../../src/predict/registry.ts';
import { evaluateModel } from '../../src/predict/evaluate.ts';
import { loadModel, predictUsers, scoreAll, scoreUser } from '../../src/predict/score.ts';
import { parseSpec } from '../../src/predict/spec.ts';
import { trainModel } from '../../src/predict/train.ts';
import { ingest, userId } from '../features/helpers.ts';
import { createTempDb, tempDir, type TempDb } from '../support/temp-db.ts';

const ASOF = Date.parse('2024-03-01T00:00:00Z');
const D = 86_400_000;

/** Separable toy data: buyers bought recently and buy again after the cut-off; the rest only browsed long ago. */
function toyEvents(n: number): Record<string, unknown>[] {
  const ev: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const u = `t${i}`;
    if (i % 2 === 0) {
      for (let k = 1; k <= 3; k++) ev.push({ userId: u, type: 'purchase', timestamp: ASOF - (k + (i % 5)) * D, properties: { price: 10 + (i % 7), category: 'books' } });
      ev.push({ userId: u, type: 'purchase', timestamp: ASOF + (3 + (i % 9)) * D, properties: { price: 12, category: 'books' } });
    } else {
      for (let k = 0; k < 2; k++) ev.push({ userId: u, type: 'page_view', timestamp: ASOF - (60 + k + (i % 11)) * D, properties: { dwell_ms: 2000, category: 'games' } });
    }
  }
  return ev;
}

let t: TempDb;
let models: { dir: string; remove(): void };
beforeAll(async () => {
  const b = await initBackend({ log: () => {} });
  expect(['tensorflow', 'wasm', 'cpu']).toContain(b);
  t = createTempDb();
  models = tempDir('traitlens-models-');
  ingest(t.db, toyEvents(240));
});
afterAll(() => {
  t.cleanup();
  models.remove();
});

const toySpec = (name: string, architecture: 'mlp' | 'gru') =>
  parseSpec({
    name,
    asOf: new Date(ASOF).toISOString(),
    target: { kind: 'event_in_horizon', eventTypes: ['purchase'], horizonDays: 30 },
    architecture,
    sequenceLength: 6,
    split: { kind: 'users', validation: 0.2, test: 0.25, seed: 1 },
    training: { epochs: architecture === 'gru' ? 6 : 40, patience: 40, batchSize: 32, learningRate: 0.01, hidden: [8], recurrentUnits: 4 },
    trait: { key: `${name}_trait` },
  });

describe('training, saving, scoring', () => {
  it('save/load round trip gives identical predictions', async () => {
    const net = buildNet({ architecture: 'mlp', inputShape: [5], outputs: 1, hidden: [4], recurrentUnits: 1, dropout: 0.1, l2: 0, learningRate: 0.01, seed: 3 });
    const x = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i));
    const before = predictProba(net, x, [5]);
    const d = tempDir('traitlens-io-');
    try {
      await saveModelToDir(net, d.dir);
      const loaded = await loadModelFromDir(d.dir);
      expect(Array.from(predictProba(loaded, x, [5]))).toEqual(Array.from(before));
      loaded.dispose();
    } finally {
      d.remove();
      net.dispose();
    }
    expect(tf.getBackend()).toMatch(/wasm|cpu|tensorflow/);
  });

  it('a tiny MLP converges on separable data; card, registry and scoring work', async () => {
    const losses: number[] = [];
    const r = await trainModel(t.store, toySpec('toy_mlp', 'mlp'), {
      modelsDir: models.dir,
      log: () => {},
      onEpoch: (e) => losses.push(e.loss),
      version: '20240301T000000Z',
      now: ASOF,
    });
    expect(losses.length).toBeGreaterThan(5);
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! / 2);
    expect(r.card.training.finalLoss).toBeLessThan(0.3);
    expect(r.card.metrics.test.kind).toBe('binary');
    if (r.card.metrics.test.kind !== 'binary') return;
    expect(r.card.metrics.test.auc).toBeGreaterThan(0.9);
    expect(r.card.examples.train + r.card.examples.validation + r.card.examples.test).toBe(240);
    expect(r.card.baseline.majority.accuracy).toBeLessThan(0.7);

    expect(listModels({ dir: models.dir }).map((m) => m.name)).toEqual(['toy_mlp']);
    expect(getModel('toy_mlp', { dir: models.dir }).versions[0]?.version).toBe('20240301T000000Z');
    expect(() => getModel('nope', { dir: models.dir })).toThrow(NotFoundError);

    // Loaded from disk, the model reproduces the test predictions of the trained one.
    const m = await loadModel('toy_mlp', { dir: models.dir });
    const preds = await predictUsers(t.store.features, m, { asOf: ASOF, userIds: r.test.userIds.slice(0, 5) });
    preds.forEach((p, i) => expect(p.probability).toBeCloseTo(r.test.scores[i] as number, 5));

    const ev = await evaluateModel(t.store, 'toy_mlp', { dir: models.dir, asOf: ASOF });
    expect(ev.metrics.kind === 'binary' && ev.metrics.auc).toBeGreaterThan(0.9);

    const summary = await scoreAll(t.store, { dir: models.dir, now: ASOF });
    expect(summary[0]).toMatchObject({ model: 'toy_mlp', users: 240, changed: 240 });
    const buyer = userId(t.db, 't0');
    const trait = listCurrentTraits(t.db, buyer, { kind: 'predicted' })[0]!;
    expect(trait).toMatchObject({ key: 'toy_mlp_trait', value: true, producer: 'model:toy_mlp', version: '20240301T000000Z' });
    expect(trait.confidence).toBeGreaterThan(0.5);
    // Unchanged prediction: nothing new is written.
    expect((await scoreUser(t.store, buyer, { dir: models.dir, now: ASOF + 1000 }))[0]?.changed).toBe(0);
    expect(traitHistory(t.db, buyer, 'toy_mlp_trait')).toHaveLength(1);
  });

  it('a GRU trains on event sequences and scores', async () => {
    const r = await trainModel(t.store, toySpec('toy_gru', 'gru'), { modelsDir: models.dir, log: () => {}, version: '20240301T000001Z', now: ASOF });
    expect(r.card.features.sequenceLength).toBe(6);
    expect(r.card.training.epochsRun).toBeGreaterThan(0);
    const m = await loadModel('toy_gru', { dir: models.dir });
    const preds = await predictUsers(t.store.features, m, { asOf: ASOF, userIds: r.test.userIds.slice(0, 3) });
    preds.forEach((p, i) => expect(p.probability).toBeCloseTo(r.test.scores[i] as number, 5));
  });
});
