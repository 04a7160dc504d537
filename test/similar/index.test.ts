import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/core/config.ts';
import { eraseUser } from '../../src/db/privacy.ts';
import type { Manifest } from '../../src/similar/hnsw-index.ts';
import { createTempDb, type TempDb } from '../support/temp-db.ts';
import { indexConfig, layoutFor, openIndex, randomUnit, seedUsers } from './helpers.ts';

let t: TempDb;
let config: Config;
beforeEach(() => {
  t = createTempDb();
  config = indexConfig(t.path);
});
afterEach(() => t.cleanup());

const manifestOf = (path: string) => JSON.parse(readFileSync(`${path}.json`, 'utf8')) as Manifest;

describe('vector index: SQLite is the source of truth, the HNSW file a cache', () => {
  it('builds when the file is missing, persists with a manifest, reloads on restart', async () => {
    const layout = layoutFor(config);
    const { ids, vectors } = await seedUsers(t.store, layout, 200);
    const ix = openIndex(t.store, config);
    const r = await ix.open();
    expect(r.rebuilt).toBe(true);
    expect(ix.lastOpen).toEqual({ loaded: false, reason: 'missing' });
    expect(ix.size).toBe(200);
    expect((await ix.search(vectors[5]!, 1))[0]).toMatchObject({ label: ids[5] });
    // steady state: a sync (every query runs one) re-applies nothing, even inside the look-back window
    expect(await ix.sync()).toMatchObject({ upserted: 0, removed: 0 });
    expect(await ix.sync()).toMatchObject({ upserted: 0, removed: 0 });
    const path = ix.opts.path;
    expect(path).toBe(`${t.path}.hnsw`);
    const m = manifestOf(path);
    expect(m).toMatchObject({ format: 1, space: 'cosine', dimension: layout.dim, count: 200, vectorVersion: layout.version, M: 16, efConstruction: 200, labels: 'users.id' });
    ix.close();

    const again = openIndex(t.store, config);
    expect((await again.open()).rebuilt).toBe(false);
    expect(again.lastOpen).toEqual({ loaded: true });
    expect(again.size).toBe(200);
    expect((await again.search(vectors[7]!, 1))[0]).toMatchObject({ label: ids[7] });
    again.close();
  });

  it('follows adds, updates and deletes incrementally, and they survive a restart', async () => {
    const layout = layoutFor(config);
    const { ids } = await seedUsers(t.store, layout, 50);
    const ix = openIndex(t.store, config);
    await ix.open();
    // update: u3 gets a new vector
    const moved = randomUnit(layout.dim);
    await t.store.profiles.upsert({ userId: ids[3]!, version: layout.version, vector: moved, blocks: {}, profileVersion: 1, updatedAt: Date.now() });
    // add: a new user past the initial capacity (the index grows)
    const more = await seedUsers(t.store, layout, 80, () => ({}), 'v');
    // delete: u4's vector removed (e.g. profiling consent withdrawn)
    await t.store.profiles.remove(ids[4]!);
    const s = await ix.sync({ full: true });
    expect(s.upserted).toBeGreaterThanOrEqual(81);
    expect(s.upserted).toBeLessThan(81 + 50); // the look-back re-reads recent rows, never everything
    expect(s.removed).toBe(1);
    expect(ix.size).toBe(50 - 1 + 80);
    expect((await ix.search(moved, 1))[0]).toMatchObject({ label: ids[3] });
    expect(ix.has(ids[4]!)).toBe(false);
    expect(ix.has(more.ids[79]!)).toBe(true);
    // re-adding the deleted user reuses its label
    await t.store.profiles.upsert({ userId: ids[4]!, version: layout.version, vector: randomUnit(layout.dim), blocks: {}, profileVersion: 2, updatedAt: Date.now() });
    await t.store.profiles.remove(ids[5]!);
    await ix.sync({ full: true });
    expect(ix.has(ids[4]!)).toBe(true);
    expect(ix.has(ids[5]!)).toBe(false);
    const size = ix.size;
    ix.close();
    const again = openIndex(t.store, config);
    await again.open();
    expect(again.lastOpen).toEqual({ loaded: true });
    expect(again.size).toBe(size);
    expect(again.has(ids[5]!)).toBe(false);
    expect((await again.search(moved, 1))[0]).toMatchObject({ label: ids[3] });
    again.close();
  });

  it('a user removed from SQLite (erasure) is gone from the index after sync, also when another process deleted it', async () => {
    const layout = layoutFor(config);
    const { ids, vectors } = await seedUsers(t.store, layout, 30);
    const ix = openIndex(t.store, config);
    await ix.open();
    // Another process: plain SQL delete of the user (cascade removes the vector row).
    await t.store.exec.run('DELETE FROM users WHERE id = ?', [ids[10]]);
    expect(ix.has(ids[10]!)).toBe(true);
    await ix.sync({ full: true });
    expect(ix.has(ids[10]!)).toBe(false);
    expect((await ix.search(vectors[10]!, 30)).map((h) => h.label)).not.toContain(ids[10]);
    // This process: the index's own data section removes it from the index and saves at once.
    await eraseUser(t.store.exec, [...t.store.userData, ix.dataSection()], ids[11]!);
    expect(ix.has(ids[11]!)).toBe(false);
    expect(manifestOf(ix.opts.path).count).toBe(28);
    ix.close();
  });

  it('finds a deletion by another process also while rows of another vector version exist (the exact per-version count)', async () => {
    const layout = layoutFor(config);
    const { ids } = await seedUsers(t.store, layout, 30);
    // Rows of another version (a reindex under way): count(*) no longer equals the index size.
    const stale = await seedUsers(t.store, { ...layout, version: `${layout.version}-old` }, 3, () => ({}), 'old');
    const ix = openIndex(t.store, config);
    await ix.open();
    expect(ix.size).toBe(30);
    expect(ix.has(stale.ids[0]!)).toBe(false);
    await t.store.exec.run('DELETE FROM users WHERE id = ?', [ids[7]]);
    expect(await ix.sync({ full: true })).toMatchObject({ removed: 1 });
    expect(ix.has(ids[7]!)).toBe(false);
    expect(ix.size).toBe(29);
    ix.close();
  });

  it('rebuilds from the store when the file is corrupt, truncated, or of another version or dimension', async () => {
    const layout = layoutFor(config);
    await seedUsers(t.store, layout, 40);
    const ix = openIndex(t.store, config);
    await ix.open();
    ix.close();
    const path = ix.opts.path;
    const bytes = readFileSync(path);
    bytes.fill(7, 100, 400);
    writeFileSync(path, bytes);
    const a = openIndex(t.store, config);
    await a.open();
    expect(a.lastOpen).toEqual({ loaded: false, reason: 'corrupt (checksum mismatch)' });
    expect(a.size).toBe(40);
    a.close();

    writeFileSync(path, bytes.subarray(0, 50));
    const b = openIndex(t.store, config);
    await b.open();
    expect(b.lastOpen?.loaded).toBe(false);
    expect(b.size).toBe(40);
    b.close();

    writeFileSync(`${path}.json`, '{not json');
    const c = openIndex(t.store, config);
    await c.open();
    expect(c.lastOpen).toEqual({ loaded: false, reason: 'manifest unreadable' });
    c.close();

    // Another composition (traits block off): another version and dimension; rows of the old version are stale.
    const other = indexConfig(t.path, { TRAITLENS_VECTOR_W_TRAITS: '0' });
    const d = openIndex(t.store, other);
    await d.open();
    expect(d.lastOpen).toEqual({ loaded: false, reason: 'other vector version' });
    expect(d.size).toBe(0);
    expect(manifestOf(path).dimension).toBe(100);
    d.close();
    expect(existsSync(`${path}.tmp-${process.pid}`)).toBe(false);
  });
});

describe('vector index: a current saved index is not re-applied at start', () => {
  it('opens a saved current index adding nothing; a vector written after (or concurrently with) the save is added exactly once', async () => {
    const layout = layoutFor(config);
    // Every row inside the 5 s look-back window of the watermark: before the fix all were re-added at start.
    const { ids } = await seedUsers(t.store, layout, 60);
    const ix = openIndex(t.store, config);
    await ix.open();
    ix.close();
    const syncedAt = manifestOf(ix.opts.path).syncedAt;

    const again = openIndex(t.store, config);
    expect(await again.open()).toEqual({ upserted: 0, removed: 0, rebuilt: false });
    expect(again.lastOpen).toEqual({ loaded: true });
    again.close();

    // Written concurrently with the save: same updated_at as the watermark, committed after the sync read.
    const late = await t.store.users.setAttributes('late', {}, undefined);
    await t.store.profiles.upsert({ userId: late.id, version: layout.version, vector: randomUnit(layout.dim), blocks: {}, profileVersion: 1, updatedAt: syncedAt });
    const third = openIndex(t.store, config);
    expect(await third.open()).toEqual({ upserted: 1, removed: 0, rebuilt: false });
    expect(third.has(late.id)).toBe(true);
    third.close();

    // Committed out of timestamp order (another process's clock): older than the watermark, still found; an update of an indexed user too.
    const moved = randomUnit(layout.dim);
    await t.store.profiles.upsert({ userId: ids[9]!, version: layout.version, vector: moved, blocks: {}, profileVersion: 2, updatedAt: syncedAt - 1000 });
    const fourth = openIndex(t.store, config);
    expect(await fourth.open()).toEqual({ upserted: 1, removed: 0, rebuilt: false });
    expect((await fourth.search(moved, 1))[0]).toMatchObject({ label: ids[9] });
    expect(await fourth.sync({ full: true })).toEqual({ upserted: 0, removed: 0, rebuilt: false });
    fourth.close();

    const fifth = openIndex(t.store, config);
    expect(await fifth.open()).toEqual({ upserted: 0, removed: 0, rebuilt: false });
    fifth.close();
  });
});
