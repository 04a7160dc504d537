import { afterAll, beforeAll, expect, it } from 'vitest';
import { assembleRuntime } from '../../src/runtime/runtime.ts';
import { ingest, userId } from '../features/helpers.ts';
import { testConfig } from '../support/api.ts';
import { createTempDb, type TempDb } from '../support/temp-db.ts';

let t: TempDb;
const NOW = Date.parse('2029-12-01T00:00:00Z');
beforeAll(() => {
  t = createTempDb();
  ingest(t.db, [
    { userId: 'w1', type: 'message', timestamp: NOW - 3_600_000, text: 'I love hiking in the mountains with my dog on weekends.' },
    { userId: 'w1', type: 'purchase', timestamp: NOW - 7_200_000, properties: { price: 20, category: 'books' } },
  ]);
});
afterAll(() => t.cleanup());

it('a refresh with nothing new rewrites neither the text embedding nor the user vector; a new signal rewrites both', async () => {
  const { pipeline } = assembleRuntime(t.store, testConfig(t.path), { featuresAsOf: NOW });
  const u = userId(t.db, 'w1');
  const stamps = () => ({
    embedding: (t.db.sqlite.prepare('SELECT updated_at AS at FROM user_embeddings WHERE user_id = ?').get(u) as { at: number } | undefined)?.at,
    profile: (t.db.sqlite.prepare('SELECT updated_at AS at FROM user_profiles WHERE user_id = ?').get(u) as { at: number } | undefined)?.at,
  });
  await pipeline.refreshUser(u);
  const first = stamps();
  expect(first.embedding).toBeTypeOf('number');
  expect(first.profile).toBeTypeOf('number');
  // The stores stamp rows with Date.now(): make sure a rewrite would show.
  const t0 = Date.now();
  while (Date.now() === t0) await new Promise((r) => setImmediate(r));
  await pipeline.refreshUser(u);
  expect(stamps()).toEqual(first);

  ingest(t.db, [{ userId: 'w1', type: 'message', timestamp: NOW - 1_800_000, text: 'I work as a nurse at the city hospital and I really enjoy cooking Italian food at home.' }]);
  await pipeline.refreshUser(u);
  const after = stamps();
  expect(after.embedding).toBeGreaterThan(first.embedding as number);
  expect(after.profile).toBeGreaterThan(first.profile as number);
});
