import { afterAll, beforeAll, expect, it } from 'vitest';
import { fitBehaviourScaler, loadBehaviourScaler } from '../../src/profile/behaviour.ts';
import { assembleRuntime } from '../../src/runtime/runtime.ts';
import { ingest } from '../features/helpers.ts';
import { TOY_ASOF, toyEvents } from '../predict/toy.ts';
import { testConfig } from '../support/api.ts';
import { createTempDb, type TempDb } from '../support/temp-db.ts';

// A population from a fixed past period (the demo's, the toy's): the first refresh fits the
// behaviour scaler, and it must fit it as of the pipeline's featuresAsOf, as it computes every
// other feature, not as of the wall clock (recency features then measure years, not days).
let piped: TempDb;
let fitted: TempDb;
beforeAll(() => {
  piped = createTempDb();
  fitted = createTempDb();
  ingest(piped.db, toyEvents(40));
  ingest(fitted.db, toyEvents(40));
});
afterAll(() => {
  piped.cleanup();
  fitted.cleanup();
});

it("the scaler a refresh fits when there is none is fitted as of the pipeline's featuresAsOf", async () => {
  expect(await loadBehaviourScaler(piped.store)).toBeNull();
  const { pipeline } = assembleRuntime(piped.store, testConfig(piped.path), { featuresAsOf: TOY_ASOF });
  const u = (piped.db.sqlite.prepare('SELECT MIN(id) AS id FROM users').get() as { id: number }).id;
  const r = await pipeline.refreshUser(u);
  expect(r.profile?.stored).toBe(true);
  const stored = await loadBehaviourScaler(piped.store);
  const want = await fitBehaviourScaler(fitted.store, TOY_ASOF);
  expect(stored?.asOf).toBe(TOY_ASOF);
  expect(stored?.id).toBe(want.id);
  expect(stored?.pre).toEqual(want.pre);
});
