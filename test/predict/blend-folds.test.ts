import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.ts';
import { initBackend } from '../../src/predict/backend.ts';
import { loadModel, predictUsers } from '../../src/predict/score.ts';
import { parseSpec } from '../../src/predict/spec.ts';
import { trainModel } from '../../src/predict/train.ts';
import { ingest } from '../features/helpers.ts';
import { createTempDb, tempDir, type TempDb } from '../support/temp-db.ts';
import { TOY_ASOF, toyEvents, toySpecJson } from './toy.ts';

let t: TempDb;
let models: { dir: string; remove(): void };
beforeAll(async () => {
  await initBackend({ log: () => {} });
  t = createTempDb();
  models = tempDir('traitlens-blend-');
  ingest(t.db, toyEvents(200));
});
afterAll(() => {
  t.cleanup();
  models.remove();
});

const spec = (name: string, over: Record<string, unknown> = {}, training: Record<string, unknown> = {}) => {
  const base = toySpecJson(name);
  return parseSpec({ ...base, ...over, training: { ...(base.training as object), ...training } });
};

describe('blend with logistic regression', () => {
  it('an untrained network is out-voted on validation; scoring reproduces the blended test scores', async () => {
    // One tiny epoch at a negligible learning rate: the network is near random, the regression separates.
    const r = await trainModel(t.store, spec('weak_net', {}, { epochs: 1, learningRate: 1e-6, hidden: [2] }), { modelsDir: models.dir, version: 'v1', log: () => {} });
    expect(r.card.blend?.networkWeight).toBe(0);
    expect(r.card.blend?.chosenBy).toMatch(/validation/);
    const test = r.card.metrics.test;
    const net = r.card.metrics.networkTest;
    expect(test.kind === 'binary' && net?.kind === 'binary' && test.auc > net.auc).toBe(true);
    const m = await loadModel('weak_net', { dir: models.dir });
    expect(m.artefact.blend?.logreg.length).toBe(m.artefact.preprocessor.inputs.length + 1);
    const preds = await predictUsers(t.store.features, m, { asOf: TOY_ASOF, userIds: r.test.userIds.slice(0, 5) });
    preds.forEach((p, i) => expect(p.probability).toBeCloseTo(r.test.scores[i] as number, 5));
  });

  it('blend "none" keeps the network alone', async () => {
    const r = await trainModel(t.store, spec('net_only', {}, { epochs: 1, learningRate: 1e-6, hidden: [2], blend: 'none' }), {
      modelsDir: models.dir,
      version: 'v1',
      log: () => {},
    });
    expect(r.card.blend).toBeNull();
    expect(r.card.metrics.networkTest).toBeUndefined();
    expect((await loadModel('net_only', { dir: models.dir })).artefact.blend).toBeNull();
  });
});

describe('k-fold user split', () => {
  it('the folds test disjoint user sets that cover everyone', async () => {
    const seen: number[] = [];
    for (let fold = 0; fold < 4; fold++) {
      const r = await trainModel(t.store, spec('cv', { split: { kind: 'users', validation: 0.15, seed: 3, folds: 4, fold } }, { epochs: 1 }), {
        modelsDir: models.dir,
        version: `f${fold}`,
        log: () => {},
      });
      expect(r.card.examples.test).toBeGreaterThan(30);
      seen.push(...r.test.userIds);
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(200);
  });

  it('folds need a users split and fold < folds', async () => {
    const base = toySpecJson('x');
    expect(() => parseSpec({ ...base, split: { kind: 'users', folds: 4, fold: 4 } })).toThrow(ValidationError);
    expect(() => parseSpec({ ...base, split: { kind: 'time', folds: 4, fold: 0 } })).toThrow(/users/);
  });
});
