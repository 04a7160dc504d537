import { afterAll, beforeAll, expect, it } from 'vitest';
import { recencyWeight } from '../../src/embed/embed-stage.ts';
import { assembleRuntime } from '../../src/runtime/runtime.ts';
import { ingest, userId } from '../features/helpers.ts';
import { testConfig } from '../support/api.ts';
import { createTempDb, type TempDb } from '../support/temp-db.ts';

// A population from a fixed past period (as the demo's): the pipeline is pinned to its data's end.
// The text vector's recency weights must be taken as of that time too, not the wall clock: decades
// of halvings underflow every weight to zero and the user's text vector vanishes.
let t: TempDb;
const AS_OF = Date.parse('1994-06-01T00:00:00Z');
const DAY = 86_400_000;
beforeAll(() => {
  t = createTempDb();
  ingest(
    t.db,
    [
      { userId: 'r1', type: 'message', timestamp: AS_OF - 3_600_000, text: 'I love hiking in the mountains with my dog on weekends.' },
      { userId: 'r1', type: 'message', timestamp: AS_OF - 60 * DAY, text: 'I work as a nurse at the city hospital and I enjoy cooking Italian food.' },
    ],
    AS_OF,
  );
});
afterAll(() => t.cleanup());

it("the text vector's recency weights are taken as of the pipeline's featuresAsOf, not the wall clock", async () => {
  const { pipeline } = assembleRuntime(t.store, testConfig(t.path), { featuresAsOf: AS_OF });
  const u = userId(t.db, 'r1');
  const r = await pipeline.refreshUser(u);
  const embedder = r.embeddings?.embedder as string;
  expect(r.embeddings?.signals).toBe(2);
  const signals = await t.store.embeddings.signalEmbeddings(u, embedder, 100);
  expect(signals).toHaveLength(2);
  // Expected: the mean of the signal vectors weighted as of AS_OF (the newer one counts 4× the one 60 days older).
  const dim = (signals[0] as { vector: Float32Array }).vector.length;
  const want = new Float64Array(dim);
  for (const s of signals) for (let k = 0; k < dim; k++) want[k] = (want[k] as number) + recencyWeight(s.ts, AS_OF) * (s.vector[k] as number);
  const wn = Math.hypot(...want);
  const got = (await t.store.embeddings.getUserEmbedding(u, embedder))?.vector as Float32Array;
  expect(Math.hypot(...got)).toBeCloseTo(1, 5);
  for (let k = 0; k < dim; k++) expect(got[k] as number).toBeCloseTo((want[k] as number) / wn, 5);
});
