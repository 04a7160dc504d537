import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestBatch } from '../../src/ingest/ingest.ts';
import { assembleRuntime } from '../../src/runtime/runtime.ts';
import { testConfig } from '../support/api.ts';
import { createTempDb, type TempDb } from '../support/temp-db.ts';

let t: TempDb;
beforeAll(() => {
  t = createTempDb();
});
afterAll(() => t.cleanup());

const T = 1_780_000_000_000;
describe('the refresh job builds the user vector; the index owner picks it up', () => {
  it('vector with all three blocks, similar users and recommendations from neighbours', async () => {
    const config = testConfig(t.path, { TRAITLENS_INDEX_SAVE_MS: '0' });
    const hikers = ['h1', 'h2', 'h3'];
    const events: unknown[] = [];
    for (const [n, u] of hikers.entries()) {
      events.push({ userId: u, type: 'chat_message', text: 'I love hiking in the mountains with my dog', timestamp: T + n });
      events.push({ userId: u, type: 'product_view', properties: { product_id: 'boots', category: 'outdoor' }, timestamp: T + 1000 + n });
      if (u !== 'h1') events.push({ userId: u, type: 'purchase', properties: { product_id: 'tent', category: 'outdoor', price: 200 }, timestamp: T + 2000 + n });
    }
    events.push({ userId: 'c1', type: 'chat_message', text: 'I am a vegan chef and I bake bread', timestamp: T });
    events.push({ userId: 'c1', type: 'purchase', properties: { product_id: 'knife', category: 'kitchen', price: 50 }, timestamp: T + 10 });
    await ingestBatch(t.store.events, events);
    await t.store.users.setAttributes('c1', {}, { profiling: false });
    const rt = assembleRuntime(t.store, config, { featuresAsOf: T + 10_000 });
    await rt.pipeline.createWorker().drain();
    const h1 = (await t.store.users.require('h1')).id;
    const p = (await t.store.profiles.get(h1))!;
    expect(p.blocks).toEqual({ text: true, behaviour: true, traits: true, items: false });
    expect(p.version).toMatch(/^uv2;text=offline:.*;behaviour=f1-[0-9a-f]+\/\d+@0\.5;traits=offline:.*;items=none$/);
    // no profiling consent: no vector
    expect(await t.store.profiles.get((await t.store.users.require('c1')).id)).toBeNull();

    const s = rt.profiles;
    await s.index.open();
    expect(s.index.size).toBe(3);
    const rec = await rt.items.recommend(h1, { k: 5, neighbours: 5 });
    expect(rec.neighbours).toBe(2);
    expect(rec.recommendations[0]?.item).toBe('tent');
    expect(rec.recommendations[0]?.reasons).toContainEqual({ kind: 'similar_users', users: 2, text: 'popular with users like you (2 similar users)' });
    expect(rec.recommendations.map((r) => r.item)).not.toContain('boots'); // already viewed
    // c1 has no profiling consent: no neighbour, and its knife counts towards no popularity
    expect(rec.recommendations.map((r) => r.item)).not.toContain('knife');
    await rt.close();
  }, 60_000);
});
