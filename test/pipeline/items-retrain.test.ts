import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eraseUser } from '../../src/db/privacy.ts';
import { ingestBatch } from '../../src/ingest/ingest.ts';
import type { WorkerClock } from '../../src/jobs/worker.ts';
import { ITEMS_TRAIN_JOB, itemRetrainStatus, startItemRetrainSchedule } from '../../src/pipeline/item-embeddings.ts';
import { initBackend } from '../../src/predict/backend.ts';
import { assembleRuntime, type Runtime } from '../../src/runtime/runtime.ts';
import { testConfig } from '../support/api.ts';
import { createTempDb, type TempDb } from '../support/temp-db.ts';

// Issue 13.6: an erased user's interactions no longer influence item embeddings after retraining.
// Shoppers buy baskets of a shared range; `eve` alone buys p1 and p2 (together, three times), so
// while her interactions count both are embedded next to each other, and once she is erased and
// the embeddings retrained neither can be.

const HOUR = 3_600_000;
const T = Date.now() - 10 * 24 * HOUR;

/** A clock the test moves by hand; `every` records the schedule's period. */
function manualClock(start: number): WorkerClock & { set(t: number): void; periods: number[] } {
  let t = start;
  const periods: number[] = [];
  return {
    now: () => t,
    set: (v) => {
      t = v;
    },
    periods,
    every(ms) {
      periods.push(ms);
      return () => {};
    },
    sleep: () => ({ done: Promise.resolve(), wake: () => {} }),
  };
}

const shopperEvents = (from: number, users: number, tag = '') => {
  const out: unknown[] = [];
  for (let u = 0; u < users; u++)
    for (let b = 0; b < 3; b++)
      for (let k = 0; k < 3; k++)
        out.push({ userId: `s${tag}${u}`, type: 'purchase', timestamp: from + b * 24 * HOUR + u * 60_000 + k, properties: { item: `a${(u + b + k) % 8}` } });
  return out;
};

let t: TempDb;
let rt: Runtime;
beforeAll(async () => {
  await initBackend({ log: () => {} });
  t = createTempDb();
  rt = assembleRuntime(t.store, testConfig(t.path, { TRAITLENS_ITEM_RETRAIN_INTERACTIONS: '50', TRAITLENS_ITEM_RETRAIN_MS: String(HOUR), TRAITLENS_ITEM_DIM: '8' }), {
    embeddings: false,
  });
  const eve: unknown[] = [];
  for (let b = 0; b < 3; b++) for (const item of ['p1', 'p2', 'a1']) eve.push({ userId: 'eve', type: 'purchase', timestamp: T + b * 24 * HOUR + 5, properties: { item } });
  await ingestBatch(t.store.events, [...shopperEvents(T, 10), ...eve]);
}, 60_000);
afterAll(async () => {
  await rt?.close();
  t?.cleanup();
});

describe('item embeddings: retraining by the pipeline', () => {
  it('trains a first model through the queue, forgets an erased user at the next retrain, and retrains on new interactions', async () => {
    const clock = manualClock(Date.now());
    const schedule = startItemRetrainSchedule(t.store, rt.config, { clock });
    expect(clock.periods).toEqual([60_000]);
    const worker = rt.pipeline.createWorker({ clock });

    // no model yet: one job is enqueued, not two
    expect(await itemRetrainStatus(t.store, rt.config, clock.now())).toMatchObject({ due: true, reason: 'no_model' });
    expect(await schedule.tick()).toBe(true);
    expect(await schedule.tick()).toBe(false);
    expect((await t.store.jobs.list('pending')).filter((j) => j.kind === ITEMS_TRAIN_JOB)).toHaveLength(1);
    await worker.drain();
    const first = await t.store.items.activeEmbeddings();
    expect(first?.items).toEqual(expect.arrayContaining(['p1', 'p2', 'a1']));
    expect(first?.card.data).toMatchObject({ users: 11 });
    clock.set(Math.max(clock.now(), first!.createdAt) + 60_000);
    expect(await itemRetrainStatus(t.store, rt.config, clock.now())).toMatchObject({ due: false, reason: 'up_to_date', newInteractions: 0 });

    // erasure: the events go at once; the active embeddings keep eve's influence until the next retrain
    const eve = (await t.store.users.require('eve')).id;
    await eraseUser(t.store.exec, rt.userData, eve);
    expect((await t.store.items.activeEmbeddings())?.items).toContain('p1');
    expect(await itemRetrainStatus(t.store, rt.config, clock.now())).toMatchObject({ due: false });
    // ... which comes within one retrain period, even with no new data
    clock.set(first!.createdAt + HOUR);
    expect(await itemRetrainStatus(t.store, rt.config, clock.now())).toMatchObject({ due: true, reason: 'data_removed' });
    expect(await schedule.tick()).toBe(true);
    await worker.drain();
    const second = await t.store.items.activeEmbeddings();
    expect(second?.version).not.toBe(first?.version);
    expect(second?.items).not.toContain('p1');
    expect(second?.items).not.toContain('p2');
    expect(second?.card.data).toMatchObject({ users: 10 });
    // the catalogue keeps the item ids (no personal data), the embeddings do not
    expect(await t.store.items.get('p1')).toMatchObject({ source: 'learned' });

    // volume: 50 new interactions make it due before the period is over
    clock.set(second!.createdAt + 60_000);
    expect(await itemRetrainStatus(t.store, rt.config, clock.now())).toMatchObject({ due: false, reason: 'up_to_date' });
    await ingestBatch(t.store.events, shopperEvents(T + 5 * 24 * HOUR, 2, 'n'));
    expect(await itemRetrainStatus(t.store, rt.config, clock.now())).toMatchObject({ due: false, newInteractions: 18 });
    await ingestBatch(t.store.events, shopperEvents(T + 6 * 24 * HOUR, 4, 'm'));
    expect(await itemRetrainStatus(t.store, rt.config, clock.now())).toMatchObject({ due: true, reason: 'new_interactions', newInteractions: 54 });
    schedule.stop();
  }, 120_000);

  it('a duplicate job finds the model newer than itself and does nothing', async () => {
    const before = await t.store.items.activeEmbeddingsVersion();
    await t.store.jobs.enqueue(ITEMS_TRAIN_JOB, null, {}, before!.createdAt - 1);
    await rt.pipeline.createWorker().drain();
    expect(await t.store.items.activeEmbeddingsVersion()).toEqual(before);
  });

  it('is off when both settings are 0', async () => {
    const clock = manualClock(Date.now());
    const config = { ...rt.config, TRAITLENS_ITEM_RETRAIN_INTERACTIONS: 0, TRAITLENS_ITEM_RETRAIN_MS: 0 };
    startItemRetrainSchedule(t.store, config, { clock });
    expect(clock.periods).toEqual([]);
    expect(await itemRetrainStatus(t.store, config, clock.now())).toMatchObject({ due: false, reason: 'disabled' });
  });
});
