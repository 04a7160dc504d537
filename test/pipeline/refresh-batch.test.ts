import { afterAll, beforeAll, expect, it } from 'vitest';
import { REFRESH_JOB } from '../../src/db/stores/events.ts';
import { systemClock } from '../../src/jobs/worker.ts';
import { fitBehaviourScaler } from '../../src/profile/behaviour.ts';
import { initBackend } from '../../src/predict/backend.ts';
import { parseSpec } from '../../src/predict/spec.ts';
import { trainModel } from '../../src/predict/train.ts';
import { assembleRuntime } from '../../src/runtime/runtime.ts';
import { ingest } from '../features/helpers.ts';
import { TOY_ASOF, toyEvents, toySpecJson } from '../predict/toy.ts';
import { testConfig } from '../support/api.ts';
import { createTempDb, tempDir, type TempDb } from '../support/temp-db.ts';

// Two identical databases: one refreshed user by user, the other in batches (the worker's slices).
let one: TempDb;
let many: TempDb;
let models: { dir: string; remove(): void };
beforeAll(async () => {
  await initBackend({ log: () => {} });
  one = createTempDb();
  many = createTempDb();
  models = tempDir('traitlens-refresh-batch-');
  const events = [
    ...toyEvents(120),
    { userId: 't1', type: 'message', timestamp: TOY_ASOF - 3_600_000, text: 'I love hiking in the mountains with my dog on weekends.' },
    { userId: 't3', type: 'message', timestamp: TOY_ASOF - 7_200_000, text: 'I work as a nurse and I enjoy cooking Italian food at home.' },
  ];
  ingest(one.db, events);
  ingest(many.db, events);
  // The behaviour scaler fitted once per database as of the same time (it is population state).
  await fitBehaviourScaler(one.store, TOY_ASOF);
  await fitBehaviourScaler(many.store, TOY_ASOF);
  await trainModel(one.store, parseSpec(toySpecJson('toy_batch')), { modelsDir: models.dir, version: 'v1', log: () => {} });
});
afterAll(() => {
  one.cleanup();
  many.cleanup();
  models.remove();
});

const runtime = (t: TempDb) => assembleRuntime(t.store, testConfig(t.path, { TRAITLENS_MODELS_DIR: models.dir }), { featuresAsOf: TOY_ASOF });
const ids = (t: TempDb) => (t.db.sqlite.prepare('SELECT id FROM users ORDER BY id').all() as { id: number }[]).map((r) => r.id);
const traits = (t: TempDb) =>
  t.db.sqlite.prepare('SELECT user_id, key, value, kind, confidence, producer, version, valid_to IS NULL AS current FROM traits ORDER BY user_id, kind, key, producer, id').all();
const vectors = (t: TempDb) => t.db.sqlite.prepare('SELECT user_id, version, vector, blocks, profile_version FROM user_profiles ORDER BY user_id').all();
const texts = (t: TempDb) => t.db.sqlite.prepare('SELECT user_id, vector, signals FROM user_embeddings ORDER BY user_id').all();

it('refreshing in batches writes the same traits, predictions, text embeddings and vectors as user by user, and a second pass writes nothing', async () => {
  const a = runtime(one).pipeline;
  const b = runtime(many).pipeline;
  const users = ids(one);
  expect(ids(many)).toEqual(users);
  for (const u of users) await a.refreshUser(u);
  for (let i = 0; i < users.length; i += 16) {
    const outs = await b.refreshUsers(users.slice(i, i + 16));
    expect(outs.every((o) => o.ok)).toBe(true);
  }
  expect(traits(many)).toEqual(traits(one));
  expect(vectors(many)).toEqual(vectors(one));
  expect(texts(many)).toEqual(texts(one));
  const predicted = many.db.sqlite.prepare("SELECT COUNT(*) AS n FROM traits WHERE kind = 'predicted' AND valid_to IS NULL").get() as { n: number };
  expect(predicted.n).toBeGreaterThan(0);

  const before = { traits: traits(many), changes: many.db.sqlite.prepare('SELECT total_changes() AS n').get() as { n: number } };
  const again = await b.refreshUsers(users);
  expect(again.every((o) => o.ok && o.report.behaviour?.computed.written === 0 && o.report.behaviour.scores.every((s) => s.changed === 0))).toBe(true);
  expect(traits(many)).toEqual(before.traits);
  expect((many.db.sqlite.prepare('SELECT total_changes() AS n').get() as { n: number }).n).toBe(before.changes.n);
});

it('a batch with an unknown user refreshes the others; the worker runs refresh jobs through batches', async () => {
  const { pipeline } = runtime(many);
  const users = ids(many);
  const outs = await pipeline.refreshUsers([users[0] as number, 999_999, users[1] as number]);
  expect(outs.map((o) => o.ok)).toEqual([true, true, true]);
  expect(outs[1]?.ok && outs[1].report.traits.skipped).toBe('unknown_user');
  for (const u of users.slice(0, 6)) await many.store.jobs.enqueue(REFRESH_JOB, u);
  const pending = (many.db.sqlite.prepare("SELECT COUNT(*) AS n FROM jobs WHERE kind = ? AND status = 'pending'").get(REFRESH_JOB) as { n: number }).n;
  expect(pending).toBeGreaterThanOrEqual(6);
  // The ingest stamped the jobs at its own clock (2030): the worker's clock is after it.
  const clock = { ...systemClock, now: () => Date.parse('2030-01-02T00:00:00Z') };
  const tally = await pipeline.createWorker({ concurrency: 6, clock }).drain();
  expect(tally).toEqual({ done: pending, retried: 0, parked: 0 });
});
