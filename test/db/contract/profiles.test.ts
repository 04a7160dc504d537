import { expect, it } from 'vitest';
import type { Store } from '../../../src/db/store.ts';
import type { ProfileWrite } from '../../../src/db/stores/profiles.ts';
import { ingestBatch } from '../../../src/ingest/ingest.ts';
import { describeStores } from '../../support/backends.ts';

const vec = (dim: number, seed: number) => Float32Array.from({ length: dim }, (_, i) => Math.sin(seed * 7.1 + i * 0.37));
const profile = (userId: number, over: Partial<ProfileWrite> = {}): ProfileWrite => ({
  userId,
  version: 'v1',
  vector: vec(8, userId),
  blocks: { text: true, behaviour: false, traits: true },
  profileVersion: 3,
  updatedAt: 1_000,
  ...over,
});

async function users(store: Store, n: number, prefix = 'u'): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push((await store.users.setAttributes(`${prefix}${i}`, { n: i }, undefined, 500)).id);
  return ids;
}

describeStores('profiles', (ctx) => {
  it('stores a vector exactly, reads one and many, and removes', async () => {
    const p = ctx.store.profiles;
    const ids = await users(ctx.store, 3);
    await p.upsert(profile(ids[0]!));
    await p.upsert(profile(ids[1]!, { version: 'v2', vector: vec(4, 9), blocks: { text: false } }));
    const one = await p.get(ids[0]!);
    expect(one).toEqual({
      userId: ids[0],
      version: 'v1',
      dim: 8,
      vector: vec(8, ids[0]!),
      blocks: { text: true, behaviour: false, traits: true },
      profileVersion: 3,
      updatedAt: 1_000,
    });
    expect(one?.vector).toBeInstanceOf(Float32Array);
    expect(await p.get(ids[2]!)).toBeNull();
    const many = await p.getMany([ids[2]!, ids[1]!, ids[0]!, 999_999]);
    expect([...many.keys()].sort()).toEqual([ids[0], ids[1]].sort());
    expect(many.get(ids[1]!)).toMatchObject({ version: 'v2', dim: 4, vector: vec(4, 9) });
    expect(await p.remove(ids[0]!)).toBe(true);
    expect(await p.remove(ids[0]!)).toBe(false);
    expect(await p.count()).toBe(1);
  });

  it('reads many ids beyond one chunk', async () => {
    const p = ctx.store.profiles;
    const ids = await users(ctx.store, 150);
    await p.writeMany(
      ids.map((id) => profile(id)),
      [],
    );
    const many = await p.getMany(ids);
    expect(many.size).toBe(150);
    for (const id of ids) expect(many.get(id)?.vector).toEqual(vec(8, id));
    const names = await p.publicIds(ids);
    expect(names.size).toBe(150);
    expect(names.get(ids[149]!)).toBe('u149');
  });

  it('updated_at strictly increases per row, so a sync keyed on it sees every change', async () => {
    const p = ctx.store.profiles;
    const [a, b] = await users(ctx.store, 2);
    await p.upsert(profile(a!, { updatedAt: 5_000 }));
    await p.upsert(profile(a!, { updatedAt: 5_000, profileVersion: 4 }));
    await p.upsert(profile(a!, { updatedAt: 100 }));
    expect((await p.get(a!))?.updatedAt).toBe(5_002);
    await p.upsert(profile(b!, { updatedAt: 4_000, version: 'v2' }));
    expect(await p.maxUpdatedAt()).toBe(5_002);
    expect(await p.changesSince(4_500)).toEqual([{ userId: a, updatedAt: 5_002, version: 'v1' }]);
    expect((await p.changesSince(0)).map((c) => c.userId)).toEqual([b, a]);
  });

  it('pages every row of a version; counts, ids and removal by version', async () => {
    const p = ctx.store.profiles;
    const ids = await users(ctx.store, 25);
    await p.writeMany(
      ids.map((id, i) => profile(id, { version: i % 5 === 0 ? 'old' : 'v1' })),
      [],
    );
    const seen: number[] = [];
    for await (const r of p.ofVersion('v1', 4)) seen.push(r.userId);
    const v1 = ids.filter((_, i) => i % 5 !== 0);
    expect(seen).toEqual(v1);
    expect(await p.idsOfVersion('v1')).toEqual(v1);
    expect(await p.count('v1')).toBe(20);
    expect(await p.count('old')).toBe(5);
    expect(await p.removeNotOfVersion('v1')).toBe(5);
    expect(await p.count()).toBe(20);
  });

  it('writes a batch of upserts and deletes in one transaction', async () => {
    const p = ctx.store.profiles;
    const ids = await users(ctx.store, 4);
    await p.writeMany([profile(ids[0]!), profile(ids[1]!)], []);
    await p.writeMany([profile(ids[2]!)], [ids[0]!]);
    expect((await p.idsOfVersion('v1')).sort()).toEqual([ids[1], ids[2]].sort());
    // a row for a user that does not exist fails the batch as a whole
    await expect(p.writeMany([profile(ids[3]!), profile(987_654)], [])).rejects.toThrow();
    expect(await p.get(ids[3]!)).toBeNull();
  });

  it('meta: set, replace, and first writer wins with ifAbsent', async () => {
    const p = ctx.store.profiles;
    expect(await p.getMeta('scaler')).toBeNull();
    expect(await p.setMeta('scaler', 'a', 10)).toBe(true);
    expect(await p.setMeta('scaler', 'b', 20, { ifAbsent: true })).toBe(false);
    expect(await p.getMeta('scaler')).toEqual({ value: 'a', updatedAt: 10 });
    expect(await p.setMeta('scaler', 'c', 30)).toBe(true);
    expect(await p.getMeta('scaler')).toEqual({ value: 'c', updatedAt: 30 });
  });

  it('user reads: subject, users with events, public ids (external id, else the first alias)', async () => {
    const p = ctx.store.profiles;
    await ingestBatch(ctx.store.events, [
      { userId: 'known', type: 'page_view', timestamp: 1_700_000_000_000 },
      { anonymousId: 'anon-1', type: 'page_view', timestamp: 1_700_000_000_001 },
    ]);
    const quiet = await ctx.store.users.setAttributes('quiet', {}, { profiling: false }, 1);
    const known = (await ctx.store.users.require('known')).id;
    const anon = (await ctx.store.users.require('anon-1')).id;
    expect(await p.userIdsWithEvents()).toEqual([known, anon].sort((x, y) => x - y));
    expect(await p.subject(quiet.id)).toEqual({ consent: JSON.stringify({ profiling: false }), profileVersion: quiet.profileVersion });
    expect(await p.subject(999_999)).toBeNull();
    const names = await p.publicIds([known, anon, quiet.id, 999_999]);
    expect(Object.fromEntries(names)).toEqual({ [known]: 'known', [anon]: 'anon-1', [quiet.id]: 'quiet' });
  });

  it('engagements: counts per user, type, product and category for the given types', async () => {
    const p = ctx.store.profiles;
    const T = 1_700_000_000_000;
    await ingestBatch(ctx.store.events, [
      { userId: 'a', type: 'purchase', properties: { product_id: 'tent', category: 'outdoor' }, timestamp: T },
      { userId: 'a', type: 'purchase', properties: { product_id: 'tent', category: 'outdoor' }, timestamp: T + 1 },
      { userId: 'a', type: 'product_view', properties: { product_id: 42, category: 'outdoor' }, timestamp: T + 2 },
      { userId: 'a', type: 'page_view', properties: { product_id: 'tent' }, timestamp: T + 3 },
      { userId: 'b', type: 'add_to_cart', properties: { category: 'kitchen' }, timestamp: T },
    ]);
    const a = (await ctx.store.users.require('a')).id;
    const b = (await ctx.store.users.require('b')).id;
    const rows = await p.engagements([a, b], ['purchase', 'add_to_cart', 'product_view']);
    const key = (r: { userId: number; type: string; productId: string | null }) => `${r.userId}/${r.type}/${r.productId}`;
    expect(rows.sort((x, y) => (key(x) < key(y) ? -1 : 1))).toEqual(
      [
        { userId: a, type: 'product_view', productId: '42', category: 'outdoor', n: 1 },
        { userId: a, type: 'purchase', productId: 'tent', category: 'outdoor', n: 2 },
        { userId: b, type: 'add_to_cart', productId: null, category: 'kitchen', n: 1 },
      ].sort((x, y) => (key(x) < key(y) ? -1 : 1)),
    );
    expect(await p.engagements([], ['purchase'])).toEqual([]);
  });
});
