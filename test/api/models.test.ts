import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/predict/backend.ts';
import { parseSpec } from '../../src/predict/spec.ts';
import { trainModel } from '../../src/predict/train.ts';
import { ingest } from '../features/helpers.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { tempDir } from '../support/temp-db.ts';
import { toyEvents, toySpecJson } from '../predict/toy.ts';

let api: TestApi;
let models: { dir: string; remove(): void };
beforeAll(async () => {
  await initBackend({ log: () => {} });
  models = tempDir('traitlens-api-models-');
  api = createTestApi({ TRAITLENS_MODELS_DIR: models.dir });
  ingest(api.db, toyEvents(120));
  const spec = parseSpec({ ...toySpecJson('toy_api'), training: { epochs: 5, batchSize: 32, hidden: [4] } });
  await trainModel(api.store, spec, { modelsDir: models.dir, version: 'v1', log: () => {} });
  await trainModel(api.store, spec, { modelsDir: models.dir, version: 'v2', log: () => {} });
}, 60_000);
afterAll(() => {
  api.cleanup();
  models.remove();
});

describe('models API', () => {
  it('GET /v1/models lists trained models with their newest card', async () => {
    const r = await api.request('GET', '/v1/models', { key: api.keys['profiles:read'] });
    expect(r.status).toBe(200);
    expect(r.body.models).toHaveLength(1);
    const m = r.body.models[0];
    expect(m).toMatchObject({ name: 'toy_api', versions: ['v1', 'v2'], latest: { name: 'toy_api', version: 'v2', traitKey: 'toy_api_trait', producer: 'model:toy_api' } });
    expect(m.latest.metrics.test.kind).toBe('binary');
    expect(typeof m.latest.metrics.test.auc).toBe('number');
    expect(m.latest.baseline.logisticRegression).toBeDefined();
  });

  it('GET /v1/models/:name gives every version, newest first; unknown names are 404', async () => {
    const r = await api.request('GET', '/v1/models/toy_api', { key: api.keys['profiles:read'] });
    expect(r.status).toBe(200);
    expect(r.body.versions.map((c: { version: string }) => c.version)).toEqual(['v2', 'v1']);
    for (const name of ['nope', '..%2F..%2Fetc', 'Toy_Api']) {
      const miss = await api.request('GET', `/v1/models/${name}`, { key: api.keys['profiles:read'] });
      expect(miss.status, name).toBe(404);
      expect(miss.body.error.code).toBe('not_found');
    }
  });

  it('needs profiles:read', async () => {
    const r = await api.request('GET', '/v1/models', { key: api.keys['events:write'] });
    expect(r.status).toBe(403);
  });

  it('no models directory: an empty list, not an error', async () => {
    const empty = createTestApi({ TRAITLENS_MODELS_DIR: `${models.dir}/does-not-exist` });
    try {
      const r = await empty.request('GET', '/v1/models');
      expect(r).toMatchObject({ status: 200, body: { models: [] } });
    } finally {
      empty.cleanup();
    }
  });
});
