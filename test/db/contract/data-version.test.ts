import { expect, it } from 'vitest';
import { ingestBatch } from '../../../src/ingest/ingest.ts';
import { describeStores } from '../../support/backends.ts';

const T0 = 1_780_000_000_000;

/**
 * users.data_version is bumped by triggers on every write to a user's identities and traits,
 * whichever code path (or process) writes them: the profile cache relies on it
 * (src/api/profile-cache.ts). Written here with plain SQL, as a path the stores do not know about would.
 */
describeStores('users.data_version (triggers)', (ctx) => {
  it('changes on insert, update and delete of identities and traits, for the user written only', async () => {
    const s = ctx.store;
    await ingestBatch(s.events, [
      { userId: 'ann', type: 'page_view', timestamp: T0, eventId: 'a1' },
      { userId: 'bob', type: 'page_view', timestamp: T0, eventId: 'b1' },
    ]);
    const ann = (await s.users.require('ann')).id;
    const version = async (ref: string) => Number((await s.users.require(ref)).dataVersion);
    const bob0 = await version('bob');
    const writes: [string, string, unknown[]][] = [
      ['identity insert', 'INSERT INTO identities (kind, alias, user_id, created_at) VALUES (?, ?, ?, ?)', ['anonymous', 'anon-x', ann, T0]],
      ['identity update', 'UPDATE identities SET created_at = ? WHERE alias = ?', [T0 + 1, 'anon-x']],
      ['identity delete', 'DELETE FROM identities WHERE alias = ?', ['anon-x']],
      [
        'trait insert',
        'INSERT INTO traits (user_id, key, value, kind, confidence, evidence, producer, version, valid_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [ann, 'interest', '"chess"', 'semantic', 0.5, '[]', 'test', '1', T0],
      ],
      ['trait update', 'UPDATE traits SET valid_to = ? WHERE user_id = ? AND key = ?', [T0 + 2, ann, 'interest']],
      ['trait delete', 'DELETE FROM traits WHERE user_id = ? AND key = ?', [ann, 'interest']],
    ];
    for (const [label, sql, params] of writes) {
      const before = await version('ann');
      await s.exec.run(sql, params);
      expect(await version('ann'), label).toBeGreaterThan(before);
    }
    expect(await version('bob')).toBe(bob0);
  });

  it('the users row changes with every write of event counts (ingestion, merge): no trigger needed there', async () => {
    const s = ctx.store;
    await ingestBatch(s.events, [
      { userId: 'dee', type: 'page_view', timestamp: T0, eventId: 'd1' },
      { anonymousId: 'anon-dee', type: 'click', timestamp: T0, eventId: 'd2' },
    ]);
    const row = async () => JSON.stringify(await s.users.require('dee'));
    const r0 = await row();
    await ingestBatch(s.events, [{ userId: 'dee', type: 'click', timestamp: T0 + 1, eventId: 'd3' }]);
    const r1 = await row();
    expect(r1).not.toBe(r0);
    await s.users.identify('anon-dee', 'dee', T0 + 2);
    const dee = (await s.users.require('dee')).id;
    expect(await s.events.countsByType(dee)).toEqual({ click: 2, page_view: 1 });
    expect(await row()).not.toBe(r1);
  });

  it('identify changes it; a read does not', async () => {
    const s = ctx.store;
    await ingestBatch(s.events, [{ userId: 'cy', type: 'page_view', timestamp: T0, eventId: 'c1' }]);
    const v0 = (await s.users.require('cy')).dataVersion;
    await s.users.profile('cy');
    expect((await s.users.require('cy')).dataVersion).toBe(v0);
    await s.users.identify('anon-cy', 'cy', T0 + 2);
    expect(Number((await s.users.require('cy')).dataVersion)).toBeGreaterThan(Number(v0));
  });
});
