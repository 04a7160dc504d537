import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/core/config.ts';
import type { Manifest } from '../../src/similar/hnsw-index.ts';
import { createTempDb, type TempDb } from '../support/temp-db.ts';
import { indexConfig, layoutFor, openIndex, seedUsers } from './helpers.ts';

let t: TempDb;
let config: Config;
beforeEach(() => {
  t = createTempDb();
  config = indexConfig(t.path);
});
afterEach(() => t.cleanup());

const manifestOf = (path: string) => JSON.parse(readFileSync(`${path}.json`, 'utf8')) as Manifest;
const tempFiles = (path: string) => readdirSync(dirname(path)).filter((f) => f.startsWith(`${basename(path)}`) && f.includes('.tmp-'));

describe('vector index: the periodic save runs off the serving thread', () => {
  it('a sync returns before its save lands, queries answer meanwhile, and a start on the saved files re-adds nothing', async () => {
    const layout = layoutFor(config);
    await seedUsers(t.store, layout, 100);
    const ix = openIndex(t.store, config);
    await ix.open(); // rebuilt and saved on this thread
    expect(manifestOf(ix.opts.path).count).toBe(100);

    const more = await seedUsers(t.store, layout, 20, () => ({}), 'v');
    expect(await ix.sync()).toMatchObject({ upserted: 20, removed: 0 });
    // The save was started (TRAITLENS_INDEX_SAVE_MS=0) but the sync did not wait for it: the files on disk are still the old ones.
    expect(manifestOf(ix.opts.path).count).toBe(100);
    expect((await ix.search(more.vectors[3]!, 1))[0]).toMatchObject({ label: more.ids[3] });
    await ix.whenSaved();
    expect(manifestOf(ix.opts.path).count).toBe(120);
    expect(tempFiles(ix.opts.path)).toEqual([]);

    // No re-adding at start when the saved index is current (the background save carries the watermark too).
    const again = openIndex(t.store, config);
    expect(await again.open()).toEqual({ upserted: 0, removed: 0, rebuilt: false });
    expect(again.lastOpen).toEqual({ loaded: true });
    expect(again.size).toBe(120);
    again.close();
    ix.close();
  });

  it('changes made while a save is writing wait for the graph to be written; the saved files describe the index when the save started', async () => {
    const layout = layoutFor(config);
    await seedUsers(t.store, layout, 100);
    const ix = openIndex(t.store, config);
    await ix.open();
    await seedUsers(t.store, layout, 20, () => ({}), 'v');
    await ix.sync(); // starts a background save of 120
    await seedUsers(t.store, layout, 30, () => ({}), 'w');
    expect(await ix.sync()).toMatchObject({ upserted: 30 }); // applied after the graph was written; no second save while one runs
    expect(ix.size).toBe(150);
    await ix.whenSaved();
    const first = manifestOf(ix.opts.path);
    expect(first.count).toBe(120);
    // That pair is consistent on its own (checksum, counts): a start loads it and catches up from its watermark.
    const mid = openIndex(t.store, config);
    expect(await mid.open()).toMatchObject({ upserted: 30, removed: 0, rebuilt: false });
    expect(mid.lastOpen).toEqual({ loaded: true });
    mid.close(); // writes 150 on this thread

    await ix.sync(); // the pending change is saved by the next sync
    await ix.whenSaved();
    expect(manifestOf(ix.opts.path).count).toBe(150);
    const last = openIndex(t.store, config);
    expect(await last.open()).toEqual({ upserted: 0, removed: 0, rebuilt: false });
    last.close();
    ix.close();
  });

  it('close() during a background save writes the newest state, and the older save, landing later, is dropped', async () => {
    const layout = layoutFor(config);
    await seedUsers(t.store, layout, 100);
    const ix = openIndex(t.store, config);
    await ix.open();
    await seedUsers(t.store, layout, 20, () => ({}), 'v');
    await ix.sync(); // background save of 120 under way
    ix.close(); // synchronous save (shutdown): 120, superseding the one under way
    const atClose = manifestOf(ix.opts.path);
    await ix.whenSaved();
    const after = manifestOf(ix.opts.path);
    expect(after.count).toBe(120);
    expect(after.savedAt).toBe(atClose.savedAt); // the background save did not replace the files written at close
    expect(tempFiles(ix.opts.path)).toEqual([]);
    const again = openIndex(t.store, config);
    expect(await again.open()).toEqual({ upserted: 0, removed: 0, rebuilt: false });
    again.close();
  });
});
