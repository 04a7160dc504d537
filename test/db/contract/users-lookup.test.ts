import { expect, it } from 'vitest';
import { ConflictError, ValidationError } from '../../../src/core/errors.ts';
import { eraseUser } from '../../../src/db/privacy.ts';
import type { Store } from '../../../src/db/store.ts';
import { cleanBatch } from '../../../src/ingest/ingest.ts';
import { describeStores } from '../../support/backends.ts';

const T = 1_780_000_000_000;

async function ingest(store: Store, raw: unknown[]): Promise<void> {
  const b = cleanBatch(raw, { now: T + 86_400_000 });
  expect(b.rejected).toEqual([]);
  await store.events.writeBatch(b.pending, [], b.receivedAt);
}

// Issue 16 item 6: users found the way support tools find them, on every backend.
describeStores('users: lookup by email, alias and declared attribute', (ctx) => {
  it('keeps a declared email normalised, as an identity, and finds the user by it', async () => {
    const users = ctx.store.users;
    const ann = await users.setAttributes('ann', { email: '  Ann.Lee@Example.COM ', plan: 'pro', seats: 5, vip: true }, undefined, 1_000);
    expect(JSON.parse(ann.attributes)).toMatchObject({ email: 'ann.lee@example.com' });
    expect((await users.identities(ann.id)).map((i) => [i.kind, i.alias])).toEqual([
      ['user', 'ann'],
      ['email', 'ann.lee@example.com'],
    ]);
    const ids = async (q: Parameters<typeof users.lookup>[0]) => (await users.lookup(q)).map((u) => u.externalId);
    expect(await ids({ email: 'ANN.LEE@example.com ', limit: 10 })).toEqual(['ann']);
    expect(await ids({ alias: 'Ann.Lee@Example.com', limit: 10 })).toEqual(['ann']);
    expect(await ids({ alias: 'ann', limit: 10 })).toEqual(['ann']);
    await users.setAttributes('bob', { plan: 'pro', seats: 2 }, undefined, 2_000);
    expect(await ids({ attributes: { plan: 'pro' }, limit: 10 })).toEqual(['ann', 'bob']);
    expect(await ids({ attributes: { plan: 'pro', seats: '5' }, limit: 10 })).toEqual(['ann']);
    expect(await ids({ attributes: { vip: 'true' }, limit: 10 })).toEqual(['ann']);
    expect(await ids({ attributes: { plan: 'pro' }, limit: 1 })).toEqual(['ann']);
    expect(await ids({ attributes: { plan: 'enterprise' }, limit: 10 })).toEqual([]);
    expect(await ids({ email: 'nobody@example.com', limit: 10 })).toEqual([]);
    await expect(users.lookup({ limit: 10 })).rejects.toThrow(ValidationError);
    await expect(users.lookup({ email: 'not an email', limit: 10 })).rejects.toThrow(ValidationError);
  });

  it('a changed email replaces the identity, null removes it; another user’s email is a conflict; a bad one is refused', async () => {
    const users = ctx.store.users;
    const ann = await users.setAttributes('ann', { email: 'ann@example.com' }, undefined, 1_000);
    await users.setAttributes('ann', { email: 'ann@work.example' }, undefined, 2_000);
    expect((await users.lookup({ email: 'ann@example.com', limit: 5 })).length).toBe(0);
    expect((await users.lookup({ email: 'ann@work.example', limit: 5 })).map((u) => u.id)).toEqual([ann.id]);
    const err = await users.setAttributes('bob', { email: 'ANN@work.example' }, undefined, 3_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).code).toBe('identity_conflict');
    // The refused change left nothing behind for bob.
    expect(await users.find('bob')).toBeUndefined();
    await expect(users.setAttributes('ann', { email: 42 }, undefined, 4_000)).rejects.toThrow(ValidationError);
    await users.setAttributes('ann', { email: null }, undefined, 5_000);
    expect((await users.identities(ann.id)).map((i) => i.kind)).toEqual(['user']);
    expect(await users.lookup({ email: 'ann@work.example', limit: 5 })).toEqual([]);
  });

  it('merging an anonymous user keeps one email identity (the known user’s); erasure removes it', async () => {
    const users = ctx.store.users;
    await ingest(ctx.store, [{ anonymousId: 'a-77', type: 'click', timestamp: T }]);
    await users.setAttributes('a-77', { email: 'visitor@example.com' }, undefined, T);
    const carol = await users.setAttributes('carol', { email: 'carol@example.com' }, undefined, T);
    expect((await users.identify('a-77', 'carol', T + 1)).status).toBe('merged');
    expect((await users.identities(carol.id)).filter((i) => i.kind === 'email').map((i) => i.alias)).toEqual(['carol@example.com']);
    expect(await users.lookup({ email: 'visitor@example.com', limit: 5 })).toEqual([]);
    expect((await users.lookup({ alias: 'a-77', limit: 5 })).map((u) => u.externalId)).toEqual(['carol']);
    // An anonymous user's email moves with it when the known user has none.
    await ingest(ctx.store, [{ anonymousId: 'a-88', type: 'click', timestamp: T }]);
    await users.setAttributes('a-88', { email: 'dana@example.com' }, undefined, T);
    await users.setAttributes('dana', { plan: 'free' }, undefined, T);
    await users.identify('a-88', 'dana', T + 2);
    expect((await users.lookup({ email: 'dana@example.com', limit: 5 })).map((u) => u.externalId)).toEqual(['dana']);
    await eraseUser(ctx.store.exec, ctx.store.userData, carol.id);
    expect(await users.lookup({ email: 'carol@example.com', limit: 5 })).toEqual([]);
    expect(await users.lookup({ alias: 'a-77', limit: 5 })).toEqual([]);
  });
});
