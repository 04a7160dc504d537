import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listCurrentTraits } from '../../src/db/traits.ts';
import { setAttributes } from '../../src/db/users.ts';
import { createPipeline } from '../../src/pipeline/pipeline.ts';
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

const pipelineWith = (dir: string) => createPipeline(t.db, testConfig(t.path, { TRAITLENS_MODELS_DIR: dir }), { embeddings: false, featuresAsOf: TOY_ASOF });

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
