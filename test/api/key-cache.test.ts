import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { cachedKeyStore } from '../../src/api/middleware/auth/key-cache.ts';
import { newKeySecret } from '../../src/db/stores/keys.ts';
import { assembleRuntime } from '../../src/runtime/runtime.ts';
import { testConfig } from '../support/api.ts';
import { describeStores } from '../support/backends.ts';
import { createTempDb, type TempDb } from '../support/temp-db.ts';

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describeStores('verified-key cache over the key store', (ctx) => {
  it('answers a valid key from the cache until the TTL, then asks the store again (revoked elsewhere: refused after the TTL)', async () => {
    const clock = manualClock();
    const keys = cachedKeyStore(ctx.store.keys, { ttlMs: 5000, now: clock.now });
    const k = await ctx.store.keys.create('reader', ['profiles:read']);
    expect(await keys.verify(k.secret)).toEqual({ id: k.id, scopes: ['profiles:read'] });
    // Revoked behind the cache's back (the CLI, another process).
    await ctx.store.keys.revoke(k.id);
    expect(await ctx.store.keys.verify(k.secret)).toBeNull();
    clock.advance(4999);
    expect(await keys.verify(k.secret)).toEqual({ id: k.id, scopes: ['profiles:read'] });
    clock.advance(1);
    expect(await keys.verify(k.secret)).toBeNull();
    // And stays refused: a refusal is not cached as anything, the store answers each time.
    clock.advance(10_000);
    expect(await keys.verify(k.secret)).toBeNull();
  });

  it('never answers a wrong secret from the cache, and does not remember refusals', async () => {
    const clock = manualClock();
    const keys = cachedKeyStore(ctx.store.keys, { ttlMs: 60_000, now: clock.now });
    const k = await ctx.store.keys.create('reader', ['profiles:read']);
    expect(await keys.verify(k.secret)).not.toBeNull();
    const last = k.secret.at(-1) === 'A' ? 'B' : 'A';
    expect(await keys.verify(`${k.secret.slice(0, -1)}${last}`)).toBeNull();
    expect(await keys.verify(`${k.secret}x`)).toBeNull();
    expect(await keys.verify(k.secret.slice(0, -1))).toBeNull();
    // A secret refused once is asked again next time: once it exists, it works at once.
    const later = newKeySecret();
    expect(await keys.verify(later)).toBeNull();
    const made = await ctx.store.keys.create('later', ['admin'], { secret: later });
    expect(await keys.verify(later)).toEqual({ id: made.id, scopes: ['admin'] });
  });

  it('drops a key at once when it is revoked through the cached store, even with a verify in flight', async () => {
    const clock = manualClock();
    const keys = cachedKeyStore(ctx.store.keys, { ttlMs: 60_000, now: clock.now });
    const a = await ctx.store.keys.create('a', ['profiles:read']);
    const b = await ctx.store.keys.create('b', ['profiles:read']);
    expect(await keys.verify(a.secret)).not.toBeNull();
    expect(await keys.verify(b.secret)).not.toBeNull();
    const inFlight = keys.verify(newKeySecret());
    await keys.revoke(a.id);
    await inFlight;
    expect(await keys.verify(a.secret)).toBeNull();
    // The other key is still served.
    expect(await keys.verify(b.secret)).toEqual({ id: b.id, scopes: ['profiles:read'] });
    await expect(keys.revoke('key_nope')).rejects.toThrow(/no API key/);
  });

  it('with a TTL of 0 is the store itself', () => {
    expect(cachedKeyStore(ctx.store.keys, { ttlMs: 0 })).toBe(ctx.store.keys);
  });

  it('holds at most maxEntries keys', async () => {
    const clock = manualClock();
    const keys = cachedKeyStore(ctx.store.keys, { ttlMs: 60_000, maxEntries: 2, now: clock.now });
    const made = [];
    for (const name of ['a', 'b', 'c']) made.push(await ctx.store.keys.create(name, ['profiles:read']));
    for (const k of made) expect(await keys.verify(k.secret)).not.toBeNull();
    // All three revoked elsewhere: the oldest was dropped from the cache, so only it is refused now.
    for (const k of made) await ctx.store.keys.revoke(k.id);
    expect(await keys.verify(made[0]!.secret)).toBeNull();
    expect(await keys.verify(made[2]!.secret)).not.toBeNull();
  });
});

describe('the server with the verified-key cache (TRAITLENS_KEY_CACHE_MS)', () => {
  let temp: TempDb | undefined;
  afterEach(() => temp?.cleanup());

  function server(ttl: string) {
    temp = createTempDb();
    const clock = manualClock();
    const runtime = assembleRuntime(temp.store, testConfig(temp.path, { TRAITLENS_KEY_CACHE_MS: ttl }));
    const app = createApp(runtime, { now: clock.now });
    const get = (secret: string) => app.request('/v1/keys', { headers: { authorization: `Bearer ${secret}` } });
    return { store: temp.store, clock, app, get };
  }

  it('a key revoked by another process is refused once the TTL has passed, not before', async () => {
    const { store, clock, get } = server('2000');
    const k = await store.keys.create('admin', ['admin']);
    expect((await get(k.secret)).status).toBe(200);
    await store.keys.revoke(k.id);
    clock.advance(1999);
    expect((await get(k.secret)).status).toBe(200);
    clock.advance(1);
    expect((await get(k.secret)).status).toBe(401);
  });

  it('DELETE /v1/keys/:id stops the key on the next request', async () => {
    const { store, app, get } = server('60000');
    const admin = await store.keys.create('admin', ['admin']);
    const other = await store.keys.create('other', ['admin']);
    expect((await get(other.secret)).status).toBe(200);
    const del = await app.request(`/v1/keys/${other.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin.secret}` } });
    expect(del.status).toBe(200);
    expect((await get(other.secret)).status).toBe(401);
    expect((await get(admin.secret)).status).toBe(200);
  });

  it('TRAITLENS_KEY_CACHE_MS=0: a revoke elsewhere takes effect on the next request', async () => {
    const { store, get } = server('0');
    const k = await store.keys.create('admin', ['admin']);
    expect((await get(k.secret)).status).toBe(200);
    await store.keys.revoke(k.id);
    expect((await get(k.secret)).status).toBe(401);
  });
});
