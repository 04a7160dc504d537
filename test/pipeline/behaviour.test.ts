import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listCurrentTraits } from '../../src/db/traits.ts';
import { setAttributes } from '../../src/db/users.ts';
import { computeFeatureRows, featureRowsFromEvents, fitFeatureSchema, loadUserEvents } from '../../src/features/compute.ts';
import { computeSequences } from '../../src/features/sequence.ts';
import { assembleRuntime } from '../../src/runtime/runtime.ts';
import { behaviourVectorFromEvents, behaviourVectors, fitBehaviourScaler } from '../../src/profile/behaviour.ts';
import { initBackend } from '../../src/predict/backend.ts';
import { parseSpec } from '../../src/predict/spec.ts';
import { trainModel } from '../../src/predict/train.ts';
import { ingest, userId } from '../features/helpers.ts';
import { TOY_ASOF, toyEvents, toySpecJson } from '../predict/toy.ts';
import { testConfig } from '../support/api.ts';
import { createTempDb, tempDir, type TempDb } from '../support/temp-db.ts';

let t: TempDb;
let models: { dir: string; remove(): void };
beforeAll(async () => {
  await initBackend({ log: () => {} });
  t = createTempDb();
  models = tempDir('traitlens-pipeline-models-');
  ingest(t.db, toyEvents(120));
  setAttributes(t.db, 't2', {}, { profiling: false });
});
afterAll(() => {
  t.cleanup();
  models.remove();
});

const pipelineWith = (dir: string) => assembleRuntime(t.store, testConfig(t.path, { TRAITLENS_MODELS_DIR: dir }), { embeddings: false, featuresAsOf: TOY_ASOF }).pipeline;

describe('refresh job: computed traits and model scores', () => {
  it('without a trained model: computed traits only, scoring skipped quietly', async () => {
    const r = await pipelineWith(`${models.dir}/none`).refreshUser(userId(t.db, 't0'));
    expect(r.behaviour?.scores).toEqual([]);
    expect(r.behaviour?.computed.written).toBeGreaterThan(0);
    const computed = listCurrentTraits(t.db, userId(t.db, 't0'), { kind: 'computed' });
    expect(computed.find((c) => c.key === 'purchase_count')?.value).toBe(3);
    expect(listCurrentTraits(t.db, userId(t.db, 't0'), { kind: 'predicted' })).toEqual([]);
  });

  it('with a trained model: the user is scored; without profiling consent nothing is derived', async () => {
    await trainModel(t.store, parseSpec(toySpecJson('toy_refresh')), { modelsDir: models.dir, version: 'v1', log: () => {} });
    const p = pipelineWith(models.dir);
    const r = await p.refreshUser(userId(t.db, 't4'));
    expect(r.behaviour?.scores).toEqual([expect.objectContaining({ model: 'toy_refresh', version: 'v1', users: 1 })]);
    expect(listCurrentTraits(t.db, userId(t.db, 't4'), { kind: 'predicted' })[0]).toMatchObject({ key: 'toy_refresh_trait', value: true, version: 'v1' });

    const none = await p.refreshUser(userId(t.db, 't2'));
    expect(none.traits.skipped).toBe('no_profiling_consent');
    expect(none.behaviour).toBeUndefined();
    expect(listCurrentTraits(t.db, userId(t.db, 't2'), { kind: 'predicted' })).toEqual([]);
    expect(listCurrentTraits(t.db, userId(t.db, 't2'), { kind: 'computed' })).toEqual([]);
  });
});

describe('one read of the events per refresh', () => {
  it('events read once give the same feature rows, sequences and behaviour vector as separate reads', async () => {
    const schema = {
      ...(await fitFeatureSchema(t.store.features, {
        asOf: TOY_ASOF,
        properties: [
          { key: 'price', agg: 'max', type: 'monetary', top: 12 },
          { key: 'category', agg: 'onehot', type: 'share', top: 3 },
        ],
      })),
      purchaseHistory: true,
    };
    const scaler = await fitBehaviourScaler(t.store, TOY_ASOF);
    for (const ext of ['t0', 't1', 't7']) {
      const u = userId(t.db, ext);
      const events = await loadUserEvents(t.store.features, u, TOY_ASOF, [schema]);
      expect(events.events.length).toBeGreaterThan(0);
      expect(featureRowsFromEvents(events, schema)).toEqual(await computeFeatureRows(t.store.features, { asOf: TOY_ASOF, schema, userIds: [u] }));
      expect(await computeSequences(t.store.features, { asOf: TOY_ASOF, schema, length: 5, events })).toEqual(
        await computeSequences(t.store.features, { asOf: TOY_ASOF, schema, length: 5, userIds: [u] }),
      );
      expect(behaviourVectorFromEvents(scaler, events)).toEqual((await behaviourVectors(t.store, scaler, TOY_ASOF, [u])).get(u));
    }
    // A user with no event before the cut-off: no rows, no vector.
    const none = await loadUserEvents(t.store.features, 999_999, TOY_ASOF, [schema]);
    expect(featureRowsFromEvents(none, schema).userIds).toEqual([]);
    expect(behaviourVectorFromEvents(scaler, none)).toBeNull();
  });
});

describe('trait history only on change', () => {
  const rowsOf = (u: number) => (t.db.sqlite.prepare('SELECT COUNT(*) AS n FROM traits WHERE user_id = ?').get(u) as { n: number }).n;
  const historyOf = (u: number, key: string) =>
    t.db.sqlite.prepare('SELECT value, valid_to AS validTo FROM traits WHERE user_id = ? AND key = ? ORDER BY id').all(u, key) as { value: string; validTo: number | null }[];

  it('a second refresh with no new signals adds zero history rows; a changed value writes one', async () => {
    const p = pipelineWith(models.dir);
    const u = userId(t.db, 't6');
    await p.refreshUser(u);
    const after1 = rowsOf(u);
    expect(after1).toBeGreaterThan(0);
    await p.refreshUser(u);
    expect(rowsOf(u)).toBe(after1);

    // A new purchase before the cut-off changes purchase_count: that key gets one new row, the old one is closed.
    const before = historyOf(u, 'purchase_count');
    expect(before.filter((r) => r.validTo === null)).toHaveLength(1);
    ingest(t.db, [{ userId: 't6', type: 'purchase', timestamp: TOY_ASOF - 20 * 86_400_000, properties: { price: 11, category: 'books' } }]);
    await p.refreshUser(u);
    const after = historyOf(u, 'purchase_count');
    expect(after).toHaveLength(before.length + 1);
    expect(after.filter((r) => r.validTo === null).map((r) => JSON.parse(r.value))).toEqual([4]);
  });
});

describe('models kept in memory, reloaded when a model changes', () => {
  it('a newly trained version is picked up by a running pipeline at the next refresh', async () => {
    const dir = `${models.dir}/fresh`;
    const p = pipelineWith(dir);
    const u = userId(t.db, 't8');
    expect((await p.refreshUser(u)).behaviour?.scores).toEqual([]);
    await trainModel(t.store, parseSpec(toySpecJson('toy_fresh')), { modelsDir: dir, version: 'v1', log: () => {} });
    expect((await p.refreshUser(u)).behaviour?.scores).toEqual([expect.objectContaining({ model: 'toy_fresh', version: 'v1' })]);
    await trainModel(t.store, parseSpec(toySpecJson('toy_fresh')), { modelsDir: dir, version: 'v2', log: () => {} });
    expect((await p.refreshUser(u)).behaviour?.scores).toEqual([expect.objectContaining({ model: 'toy_fresh', version: 'v2' })]);
    expect(listCurrentTraits(t.db, u, { kind: 'predicted' }).find((r) => r.key === 'toy_fresh_trait')?.version).toBe('v2');
  });
});
