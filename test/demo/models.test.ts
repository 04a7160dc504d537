import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { listCurrentTraits } from '../../src/db/traits.ts';
import { runDemo, type DemoResult } from '../../src/demo/run-demo.ts';
import { getModel } from '../../src/predict/registry.ts';
import { sqliteStore } from '../../src/db/store.ts';
import { assembleRuntime } from '../../src/runtime/runtime.ts';
import { testConfig } from '../support/api.ts';
import { tempDir } from '../support/temp-db.ts';

let dir: { dir: string; remove(): void };
let demo: DemoResult;
beforeAll(async () => {
  dir = tempDir('traitlens-demo-models-');
  const dbPath = join(dir.dir, 'demo.db');
  demo = await runDemo(testConfig(dbPath, { TRAITLENS_DATA_DIR: dir.dir }), { dbPath, users: 300, seed: 7 });
}, 120_000);
afterAll(() => {
  demo?.db.close();
  dir.remove();
});

describe('demo: behavioural models', () => {
  it('trains purchase propensity and churn in the data directory (TRAITLENS_MODELS_DIR), not in the repository', async () => {
    expect(demo.modelsDir).toBe(join(dir.dir, 'models'));
    expect(demo.models.models.map((m) => m.name)).toEqual(['purchase_30d', 'churn_30d']);
    for (const m of demo.models.models) expect(getModel(m.name, { dir: demo.modelsDir }).versions[0]?.version).toBe(m.version);
  });

  it('every user with events carries the predicted traits with the model versions', async () => {
    const users = demo.db.sqlite.prepare('SELECT DISTINCT user_id FROM events').pluck().all() as number[];
    const versions = Object.fromEntries(demo.models.models.map((m) => [m.traitKey, m.version]));
    for (const u of users) {
      const predicted = listCurrentTraits(demo.db, u, { kind: 'predicted' });
      expect(predicted.map((p) => p.key).sort(), `user ${u}`).toEqual(['churn_risk_30d', 'will_purchase_30d']);
      for (const p of predicted) {
        expect(p.version).toBe(versions[p.key]);
        expect(typeof p.value).toBe('boolean');
      }
    }
    const computed = listCurrentTraits(demo.db, users[0] as number, { kind: 'computed' });
    expect(computed.map((c) => c.key)).toContain('purchase_count');
  });
});

describe('demo: the first refresh after it', () => {
  it('rewrites no user vector: the demo built them as of its data’s end, as the pipeline pinned to it computes them', async () => {
    const store = sqliteStore(demo.db);
    const dataEnd = (await store.features.maxEventTs()) as number;
    const before = demo.db.sqlite.prepare('SELECT user_id, version, vector, updated_at FROM user_profiles ORDER BY user_id').all();
    expect(before.length).toBeGreaterThan(100);
    const { pipeline } = assembleRuntime(store, testConfig(demo.db.path, { TRAITLENS_DATA_DIR: dir.dir, TRAITLENS_MODELS_DIR: demo.modelsDir }), { featuresAsOf: dataEnd });
    const users = demo.db.sqlite.prepare('SELECT DISTINCT user_id FROM events ORDER BY user_id').pluck().all() as number[];
    for (let i = 0; i < users.length; i += 50) {
      const outs = await pipeline.refreshUsers(users.slice(i, i + 50));
      expect(outs.every((o) => o.ok)).toBe(true);
    }
    const after = demo.db.sqlite.prepare('SELECT user_id, version, vector, updated_at FROM user_profiles ORDER BY user_id').all() as typeof before;
    const rewritten = after.filter((r, i) => JSON.stringify(r) !== JSON.stringify(before[i]));
    expect(rewritten.length).toBe(0);
    expect(after.length).toBe(before.length);
  }, 120_000);
});
