import { expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../../../src/core/errors.ts';
import { newKeySecret } from '../../../src/db/stores/keys.ts';
import { describeStores } from '../../support/backends.ts';

describeStores('keys', (ctx) => {
  it('creates a key whose secret verifies to its id and scopes; only a prefix of the secret is listed', async () => {
    const keys = ctx.store.keys;
    const k = await keys.create('  ingest bot ', ['events:write', 'profiles:read', 'events:write'], { now: 1_000 });
    expect(k).toMatchObject({ name: 'ingest bot', scopes: ['events:write', 'profiles:read'], createdAt: new Date(1_000).toISOString() });
    expect(k.id).toMatch(/^key_[0-9a-f]{12}$/);
    expect(k.secret).toMatch(/^tlk_[A-Za-z0-9_-]{43}$/);
    expect(await keys.verify(k.secret)).toEqual({ id: k.id, scopes: ['events:write', 'profiles:read'] });
    expect(await keys.verify(newKeySecret())).toBeNull();
    expect(await keys.verify(`${k.secret}x`)).toBeNull();
    const listed = await keys.list();
    expect(listed).toEqual([
      { id: k.id, name: 'ingest bot', scopes: ['events:write', 'profiles:read'], prefix: k.secret.slice(0, 10), createdAt: k.createdAt, lastUsedAt: null, revokedAt: null },
    ]);
    expect(JSON.stringify(listed)).not.toContain(k.secret);
  });

  it('records the last use', async () => {
    const keys = ctx.store.keys;
    const k = await keys.create('reader', ['profiles:read'], { now: 1_000 });
    await keys.touch(k.id, 5_000);
    await keys.touch(k.id, 7_000);
    expect((await keys.list())[0]?.lastUsedAt).toBe(new Date(7_000).toISOString());
  });

  it('a revoked key no longer verifies and is listed only on request; revoking an unknown key is NotFound', async () => {
    const keys = ctx.store.keys;
    const a = await keys.create('a', ['admin'], { now: 1_000 });
    const b = await keys.create('b', ['profiles:read'], { now: 2_000 });
    await keys.revoke(a.id, 3_000);
    await keys.revoke(a.id, 9_000); // again: the first time stands
    expect(await keys.verify(a.secret)).toBeNull();
    expect(await keys.verify(b.secret)).toEqual({ id: b.id, scopes: ['profiles:read'] });
    expect((await keys.list()).map((k) => k.id)).toEqual([b.id]);
    const all = await keys.list({ includeRevoked: true });
    expect(all.map((k) => [k.id, k.revokedAt])).toEqual([
      [a.id, new Date(3_000).toISOString()],
      [b.id, null],
    ]);
    await expect(keys.revoke('key_nope')).rejects.toThrow(NotFoundError);
  });

  it('takes a secret chosen by the caller only in the generated form; refuses empty names and unknown scopes', async () => {
    const keys = ctx.store.keys;
    const secret = newKeySecret();
    const k = await keys.create('fixture', ['admin'], { secret });
    expect(k.secret).toBe(secret);
    expect(await keys.verify(secret)).toEqual({ id: k.id, scopes: ['admin'] });
    await expect(keys.create('weak', ['admin'], { secret: 'password' })).rejects.toThrow(ValidationError);
    await expect(keys.create('   ', ['admin'])).rejects.toThrow(ValidationError);
    await expect(keys.create('x', ['everything' as 'admin'])).rejects.toThrow(ValidationError);
    await expect(keys.create('x', [])).rejects.toThrow(ValidationError);
    expect(await keys.list()).toHaveLength(1);
  });
});
