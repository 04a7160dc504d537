import { expect, it } from 'vitest';
import { describeStores } from '../../support/backends.ts';

describeStores('summaries', (ctx) => {
  it('get/put keyed by profile version, audience and generator', async () => {
    const s = ctx.store.summaries;
    const u = (await ctx.store.users.setAttributes('ann', {}, undefined, 1)).id;
    const key = { userId: u, profileVersion: 2, audience: 'support', generator: 'template.v2' };
    expect(await s.get(key)).toBeNull();
    await s.put(key, 'first', 100);
    expect(await s.get(key)).toEqual({ text: 'first', createdAt: 100 });
    // the same key again replaces
    await s.put(key, 'second', 200);
    expect(await s.get(key)).toEqual({ text: 'second', createdAt: 200 });
    // other audience / generator are other entries
    await s.put({ ...key, audience: 'marketing' }, 'm', 300);
    await s.put({ ...key, generator: 'llm:x:summary.v1' }, 'l', 300);
    expect(await s.get({ ...key, audience: 'marketing' })).toEqual({ text: 'm', createdAt: 300 });
    expect(await s.get({ ...key, generator: 'llm:x:summary.v1' })).toEqual({ text: 'l', createdAt: 300 });
    expect(await s.get({ ...key, profileVersion: 3 })).toBeNull();
  });

  it('a newer profile version drops the older ones (they can never be served again); other users keep theirs', async () => {
    const s = ctx.store.summaries;
    const a = (await ctx.store.users.setAttributes('a', {}, undefined, 1)).id;
    const b = (await ctx.store.users.setAttributes('b', {}, undefined, 1)).id;
    const k = (userId: number, profileVersion: number) => ({ userId, profileVersion, audience: 'support', generator: 'template.v2' });
    await s.put(k(a, 1), 'a1', 1);
    await s.put(k(b, 1), 'b1', 1);
    await s.put(k(a, 2), 'a2', 2);
    expect(await s.get(k(a, 1))).toBeNull();
    expect(await s.get(k(a, 2))).toEqual({ text: 'a2', createdAt: 2 });
    expect(await s.get(k(b, 1))).toEqual({ text: 'b1', createdAt: 1 });
  });
});
