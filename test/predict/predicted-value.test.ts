import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/predict/backend.ts';
import { loadModel, predictUsers } from '../../src/predict/score.ts';
import { parseSpec } from '../../src/predict/spec.ts';
import { trainModel } from '../../src/predict/train.ts';
import { ingest } from '../features/helpers.ts';
import { createTempDb, tempDir, type TempDb } from '../support/temp-db.ts';

// Issue 16 item 7: a predicted yes/no trait states the likelier outcome with the probability of that
// outcome, so `true` never comes with a probability under 50 % (whatever decision threshold the model
// card chose for its F1 figure).
const ASOF = Date.parse('2024-03-01T00:00:00Z');
const D = 86_400_000;

function events(n: number): Record<string, unknown>[] {
  const ev: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const u = `p${i}`;
    // Overlapping groups, so the model is unsure about many users (probabilities on both sides of 0.5).
    const buys = i % 3 !== 0;
    ev.push({ userId: u, type: 'purchase', timestamp: ASOF - (5 + (i % 40)) * D, properties: { price: 10 + (i % 13), category: 'books' } });
    if (buys && i % 4 !== 1) ev.push({ userId: u, type: 'purchase', timestamp: ASOF + (2 + (i % 20)) * D, properties: { price: 12, category: 'books' } });
    if (!buys && i % 2 === 0) ev.push({ userId: u, type: 'purchase', timestamp: ASOF + 10 * D, properties: { price: 9, category: 'games' } });
  }
  return ev;
}

let t: TempDb;
let models: { dir: string; remove(): void };
beforeAll(async () => {
  await initBackend({ log: () => {} });
  t = createTempDb();
  models = tempDir('traitlens-predicted-value-');
  ingest(t.db, events(160));
  const spec = parseSpec({
    name: 'pv',
    asOf: new Date(ASOF).toISOString(),
    target: { kind: 'event_in_horizon', eventTypes: ['purchase'], horizonDays: 30 },
    architecture: 'mlp',
    split: { kind: 'users', validation: 0.25, test: 0.25, seed: 3 },
    training: { epochs: 6, patience: 6, batchSize: 32, learningRate: 0.01, hidden: [4] },
    trait: { key: 'will_buy' },
  });
  await trainModel(t.store, spec, { modelsDir: models.dir, log: () => {}, version: 'v1', now: ASOF });
}, 120_000);
afterAll(() => {
  t.cleanup();
  models.remove();
});

describe('predicted yes/no traits', () => {
  it('carry the likelier outcome and its probability, whatever the card’s decision threshold', async () => {
    const m = await loadModel('pv', { dir: models.dir });
    for (const threshold of [0.01, 0.99, m.artefact.threshold]) {
      const preds = await predictUsers(t.store.features, { ...m, artefact: { ...m.artefact, threshold } }, { asOf: ASOF });
      expect(preds.length).toBeGreaterThan(100);
      for (const p of preds) {
        const prob = p.probability as number;
        expect(p.value, `p=${prob} threshold=${threshold}`).toBe(prob >= 0.5);
        expect(p.confidence).toBeGreaterThanOrEqual(0.5);
        expect(p.confidence).toBeCloseTo(p.value ? prob : 1 - prob, 6);
      }
    }
  });
});
