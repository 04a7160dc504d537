import { expect, it } from 'vitest';
import { ingestBatch } from '../../../src/ingest/ingest.ts';
import { describeStores } from '../../support/backends.ts';

const T0 = 1_780_000_000_000;

describeStores('users.profile (the profile read, one snapshot)', (ctx) => {
  it('answers what find, identities, countsByType and current answer one by one; by alias too; undefined for nobody', async () => {
    const s = ctx.store;
    await ingestBatch(s.events, [
      { anonymousId: 'anon-7', type: 'page_view', timestamp: T0, eventId: 'a1' },
      { userId: 'ann', type: 'page_view', timestamp: T0 + 1, eventId: 'e1' },
      { userId: 'ann', type: 'purchase', timestamp: T0 + 2, eventId: 'e2', properties: { amount: 5 } },
      { userId: 'ann', type: 'page_view', timestamp: T0 + 3, eventId: 'e3' },
      { userId: 'bob', type: 'click', timestamp: T0 + 4, eventId: 'e4' },
    ]);
    await s.users.identify('anon-7', 'ann', T0 + 5);
    await s.users.setAttributes('ann', { plan: 'pro', email: 'Ann@Example.com' }, { marketing: true }, T0 + 6);
    const ann = (await s.users.require('ann')).id;
    await s.traits.merge({
      userId: ann,
      kind: 'semantic',
      now: T0 + 7,
      plan: () => ({
        changes: [
          { op: 'insert' as const, ref: -1, trait: { key: 'interest', value: 'chess', kind: 'semantic' as const, confidence: 0.4, evidence: [], producer: 'p', version: '1' } },
          { op: 'insert' as const, ref: -2, trait: { key: 'diet', value: 'vegan', kind: 'semantic' as const, confidence: 0.7, evidence: [], producer: 'p', version: '1' } },
        ],
        result: null,
      }),
    });
    await s.traits.replaceTraits('computed', 'features', [{ userId: ann, key: 'aov', value: 12.5, confidence: 1, version: 'v1' }], { now: T0 + 8 });

    const one = await s.users.profile('ann');
    expect(one).toBeDefined();
    expect(one).toEqual({
      user: await s.users.find('ann'),
      identities: await s.users.identities(ann),
      eventCounts: await s.events.countsByType(ann),
      traits: await s.traits.current(ann),
    });
    // Not vacuous: the user has aliases (user, anonymous, email), counts and traits of three kinds.
    expect(one!.identities.map((i) => i.kind).sort()).toEqual(['anonymous', 'email', 'user']);
    expect(one!.eventCounts).toEqual({ page_view: 3, purchase: 1 });
    expect(one!.traits.map((t) => t.key)).toEqual(expect.arrayContaining(['interest', 'diet', 'aov', 'plan']));

    // An anonymous alias names the same user; an unknown reference nobody.
    expect((await s.users.profile('anon-7'))?.user.id).toBe(ann);
    expect(await s.users.profile('nobody')).toBeUndefined();
    expect((await s.users.profile('bob'))?.eventCounts).toEqual({ click: 1 });
  });

  it('reads inside a write transaction that is open on the same connection', async () => {
    const s = ctx.store;
    await ingestBatch(s.events, [{ userId: 'cy', type: 'page_view', timestamp: T0, eventId: 'c1' }]);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let opened!: () => void;
    const open = new Promise<void>((r) => (opened = r));
    const tx = s.exec.tx(async (q) => {
      await q.run('UPDATE users SET attributes = ? WHERE external_id = ?', ['{"x":1}', 'cy']);
      opened();
      await gate;
    });
    await open;
    // SQLite: the same connection, so the read runs inside the open transaction; PostgreSQL: another pooled connection.
    const p = await s.users.profile('cy');
    expect(p?.eventCounts).toEqual({ page_view: 1 });
    release();
    await tx;
    expect(JSON.parse((await s.users.profile('cy'))!.user.attributes)).toEqual({ x: 1 });
  });
});
