import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/core/config.ts';
import { describeStores } from '../support/backends.ts';
import { createTempDb, type TempDb } from '../support/temp-db.ts';
import { indexConfig, layoutFor, openIndex, seedUsers } from './helpers.ts';

const vec = (seed: number) => Float32Array.from({ length: 8 }, (_, i) => Math.sin(seed * 7.1 + i * 0.37));

describeStores('profiles.countSlice: the rows counted a slice at a time', (ctx) => {
  it('slices add up to count(*), take whole updated_at values, and say where the next starts', async () => {
    const p = ctx.store.profiles;
    // 23 rows, three to an updated_at (a batch shares its timestamp): 1000, 1000, 1000, 1001, ...
    for (let i = 0; i < 23; i++) {
      const u = await ctx.store.users.setAttributes(`c${i}`, {}, undefined, 500);
      await p.upsert({ userId: u.id, version: 'v1', vector: vec(i), blocks: { text: true }, profileVersion: 1, updatedAt: 1000 + Math.floor(i / 3) });
    }
    const slices: { n: number; next: number | null }[] = [];
    for (let after = -1; ; ) {
      const s = await p.countSlice(after, 5);
      slices.push(s);
      if (s.next === null) break;
      after = s.next;
    }
    // The 5th row on has updated_at 1001: the slice ends after all of 1001 (6 rows), and so on.
    expect(slices).toEqual([
      { n: 6, next: 1001 },
      { n: 6, next: 1003 },
      { n: 6, next: 1005 },
      { n: 5, next: 1007 },
      { n: 0, next: null },
    ]);
    expect(slices.reduce((n, s) => n + s.n, 0)).toBe(await p.count());
    expect(await p.countSlice(-1, 100)).toEqual({ n: 23, next: null });
    expect(await p.countSlice(1007, 5)).toEqual({ n: 0, next: null });
    expect(await p.countSlice(1005, 1)).toEqual({ n: 3, next: 1006 });
  });
});

describe('the timer’s deletion check counts in slices, between turns of the event loop', () => {
  let t: TempDb;
  let config: Config;
  beforeEach(() => {
    t = createTempDb();
    config = indexConfig(t.path);
  });
  afterEach(() => t.cleanup());

  it('finds a deletion by another process, and lets other work run while it counts', async () => {
    const layout = layoutFor(config);
    const { ids, vectors } = await seedUsers(t.store, layout, 30);
    // One updated_at each (rows written in the same millisecond would share a slice).
    const base = Date.now() + 1000;
    for (const [i, id] of ids.entries())
      await t.store.profiles.upsert({ userId: id, version: layout.version, vector: vectors[i]!, blocks: { text: true, traits: true }, profileVersion: 1, updatedAt: base + i });
    const ix = openIndex(t.store, config);
    (ix.opts as { countSlice?: number }).countSlice = 4;
    await ix.open();
    let slices = 0;
    for (let after: number | null = -1; after !== null; slices++) after = (await t.store.profiles.countSlice(after, 4)).next;
    expect(slices).toBe(8); // seven of 4, then the last 2
    // Nothing went: the sliced count equals the index, nothing removed.
    let turns = 0;
    let ticking = true;
    const tick = () => {
      if (!ticking) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    expect(await ix.periodicSync(true)).toMatchObject({ removed: 0, upserted: 0 });
    ticking = false;
    // A turn of the event loop after each slice but the last.
    expect(turns).toBeGreaterThanOrEqual(slices - 1);
    // Another process deletes a user (the cascade removes its vector): the next check finds it.
    await t.store.exec.run('DELETE FROM users WHERE id = ?', [ids[12]]);
    expect(await ix.periodicSync(false)).toMatchObject({ removed: 0 });
    expect(ix.has(ids[12]!)).toBe(true);
    expect(await ix.periodicSync(true)).toMatchObject({ removed: 1 });
    expect(ix.has(ids[12]!)).toBe(false);
    expect(ix.size).toBe(29);
    ix.close();
  });
});
