import { expect, it } from 'vitest';
import { ingestBatch } from '../../../src/ingest/ingest.ts';
import { describeStores } from '../../support/backends.ts';

const T0 = 1_780_000_000_000;

describeStores('profiles.userIdsOf (the audit of an answer listing many users)', (ctx) => {
  it('resolves many references at once exactly as users.find resolves each: external id before alias, unknown absent, across chunks', async () => {
    const s = ctx.store;
    // 70 users: more than one 64-reference chunk.
    const many = Array.from({ length: 70 }, (_, i) => ({ userId: `u${i}`, type: 'page_view', timestamp: T0 + i, eventId: `e${i}` }));
    await ingestBatch(s.events, [
      ...many,
      { anonymousId: 'anon-1', type: 'page_view', timestamp: T0, eventId: 'a1' },
      // "dup" is an anonymous alias of one user and the external id of another: the external id wins.
      { anonymousId: 'dup', type: 'page_view', timestamp: T0, eventId: 'a2' },
      { userId: 'dup', type: 'click', timestamp: T0, eventId: 'a3' },
    ]);
    await s.users.identify('anon-1', 'u3', T0 + 100);
    const refs = [...many.map((e) => e.userId), 'anon-1', 'dup', 'nobody', 'u5', 'u5'];
    const got = await s.profiles.userIdsOf(refs);
    const expected = new Map<string, number>();
    for (const r of refs) {
      const u = await s.users.find(r);
      if (u) expected.set(r, u.id);
    }
    expect(got).toEqual(expected);
    // Not vacuous: the alias names u3, the shared name the external user, the unknown nobody.
    expect(got.get('anon-1')).toBe((await s.users.require('u3')).id);
    expect(got.get('dup')).toBe((await s.users.find('dup'))!.id);
    expect(got.get('dup')).not.toBe(got.get('u0'));
    expect(got.has('nobody')).toBe(false);
    expect(got.size).toBe(72);
    expect(await s.profiles.userIdsOf([])).toEqual(new Map());
  });
});
