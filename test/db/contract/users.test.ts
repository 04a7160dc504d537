import { expect, it } from 'vitest';
import type { Store } from '../../../src/db/store.ts';
import { consentSql } from '../../../src/db/stores/users.ts';
import { eraseDerived, eraseUser, exportUser } from '../../../src/db/privacy.ts';
import { cleanBatch } from '../../../src/ingest/ingest.ts';
import { describeStores } from '../../support/backends.ts';

const T = 1_780_000_000_000;
const NOW = T + 86_400_000;

/** Ingests raw events through the event store, as the API does (creates users on first sight). */
async function ingest(store: Store, raw: unknown[]): Promise<void> {
  const b = cleanBatch(raw, { now: NOW });
  expect(b.rejected).toEqual([]);
  await store.events.writeBatch(b.pending, [], b.receivedAt);
}

const userCount = async (store: Store) => Number((await store.exec.get<{ n: number }>('SELECT count(*) AS n FROM users'))!.n);

describeStores('users', (ctx) => {
  it('finds a user by external id or by any anonymous alias; require is a 404 naming the reference', async () => {
    const s = ctx.store;
    await ingest(s, [{ userId: 'ann', type: 'click', timestamp: T }]);
    await s.users.identify('dev-a', 'ann', NOW);
    const byId = await s.users.find('ann');
    expect(byId).toMatchObject({ externalId: 'ann', eventCount: 1, firstEventAt: T, lastEventAt: T });
    expect((await s.users.find('dev-a'))?.id).toBe(byId!.id);
    expect(await s.users.byId(byId!.id)).toEqual(byId);
    expect(await s.users.find('nobody')).toBeUndefined();
    await expect(s.users.require('nobody')).rejects.toMatchObject({ status: 404, details: { userId: 'nobody' } });
    expect((await s.users.identities(byId!.id)).map((i) => `${i.kind}:${i.alias}`)).toEqual(['user:ann', 'anonymous:dev-a']);
    expect(await s.users.externalIds([byId!.id, 999_999])).toEqual(new Map([[byId!.id, 'ann']]));
  });

  it('an external id wins over an equal anonymous alias of another user', async () => {
    const s = ctx.store;
    await ingest(s, [
      { anonymousId: 'same', type: 'click', timestamp: T },
      { userId: 'same', type: 'click', timestamp: T + 1 },
    ]);
    const u = await s.users.find('same');
    expect(u?.externalId).toBe('same');
  });

  it('profile and require resolve a reference as find does: the external id first, in either order of creation, else the anonymous alias', async () => {
    const s = ctx.store;
    await ingest(s, [
      // "first": the anonymous user exists before the known one; "second": after it.
      { anonymousId: 'first', type: 'click', timestamp: T },
      { userId: 'first', type: 'click', timestamp: T + 1 },
      { userId: 'second', type: 'page_view', timestamp: T + 2 },
      { anonymousId: 'second', type: 'page_view', timestamp: T + 3 },
      { anonymousId: 'only-anon', type: 'click', timestamp: T + 4 },
    ]);
    for (const ref of ['first', 'second']) {
      const found = await s.users.find(ref);
      expect(found?.externalId, ref).toBe(ref);
      expect((await s.users.require(ref)).id, ref).toBe(found!.id);
      const read = await s.users.profile(ref);
      expect(read?.user, ref).toEqual(found);
      expect(
        read?.identities.map((i) => `${i.kind}:${i.alias}`),
        ref,
      ).toEqual([`user:${ref}`]);
    }
    // The same name is still another (anonymous) user's alias: a different user from the known one.
    const anonymousUsers = await s.exec.all<{ id: number }>("SELECT user_id AS id FROM identities WHERE kind = 'anonymous' AND alias IN ('first', 'second')");
    expect(anonymousUsers).toHaveLength(2);
    for (const a of anonymousUsers) expect([(await s.users.find('first'))!.id, (await s.users.find('second'))!.id]).not.toContain(Number(a.id));
    // A reference that is only an anonymous alias names its user.
    const anon = await s.users.find('only-anon');
    expect(anon).toMatchObject({ externalId: null, eventCount: 1 });
    expect((await s.users.profile('only-anon'))?.user).toEqual(anon);
    expect(await s.users.profile('nobody')).toBeUndefined();
  });

  it('identify links an unseen anonymous id, turns an anonymous user into the known one, and merges into an existing known user', async () => {
    const s = ctx.store;
    // Unseen anonymous id, unknown user: creates the known user and links.
    expect(await s.users.identify('dev-0', 'zed', NOW)).toEqual({ status: 'linked', userId: 'zed', movedEvents: 0 });
    expect((await s.users.find('dev-0'))?.externalId).toBe('zed');

    // An anonymous user, no known user yet: it becomes the known user (same row, nothing moves).
    await ingest(s, [{ anonymousId: 'dev-1', type: 'search', text: 'tents', timestamp: T }]);
    const anon = await s.users.require('dev-1');
    expect(await s.users.identify('dev-1', 'bob', NOW)).toEqual({ status: 'linked', userId: 'bob', movedEvents: 0 });
    expect(await s.users.require('bob')).toMatchObject({ id: anon.id, externalId: 'bob', eventCount: 1 });

    // An anonymous user and a known user: events, traits and aliases move; counts and times add up.
    await ingest(s, [
      { userId: 'ann', type: 'page_view', timestamp: T + 5000 },
      { anonymousId: 'dev-2', type: 'click', timestamp: T + 1000 },
      { anonymousId: 'dev-2', type: 'click', timestamp: T + 9000 },
    ]);
    await s.users.setAttributes('dev-2', { plan: 'free', city: 'Lyon' }, undefined, NOW);
    await s.users.setAttributes('ann', { plan: 'pro' }, undefined, NOW);
    // A read of the anonymous user's data was audited: the row must follow the person (erasure finds it there).
    const anon2 = (await s.users.require('dev-2')).id;
    await s.audit.write({ at: NOW, keyId: 'key_test', action: 'profile.read', method: 'GET', route: '/v1/users/:id', status: 200, userId: anon2 });
    const before = await userCount(s);
    expect(await s.users.identify('dev-2', 'ann', NOW + 1)).toEqual({ status: 'merged', userId: 'ann', movedEvents: 2 });
    expect(await userCount(s)).toBe(before - 1);
    const ann = await s.users.require('ann');
    expect(ann).toMatchObject({ eventCount: 3, firstEventAt: T + 1000, lastEventAt: T + 9000 });
    // Attributes the known user declared win over the anonymous ones.
    expect(JSON.parse(ann.attributes)).toEqual({ plan: 'pro', city: 'Lyon' });
    expect(await s.events.countsByType(ann.id)).toEqual({ page_view: 1, click: 2 });
    expect(
      (await s.traits.current(ann.id))
        .filter((t) => t.kind === 'declared')
        .map((t) => t.key)
        .sort(),
    ).toEqual(['city', 'plan', 'plan']);
    expect((await s.users.require('dev-2')).id).toBe(ann.id);
    expect((await s.audit.query({ userId: ann.id, limit: 10 })).rows.map((r) => r.action)).toEqual(['profile.read']);
    expect((await s.audit.query({ userId: anon2, limit: 10 })).rows).toEqual([]);
    // One pending refresh for the merged user, none left for the removed one.
    const jobs = await s.exec.all<{ userId: number }>(`SELECT user_id AS "userId" FROM jobs WHERE status = 'pending'`);
    expect(jobs.map((j) => Number(j.userId))).toContain(ann.id);
    expect(new Set(jobs.map((j) => Number(j.userId))).size).toBe(jobs.length);

    // Idempotent.
    expect(await s.users.identify('dev-2', 'ann', NOW + 2)).toEqual({ status: 'unchanged', userId: 'ann', movedEvents: 0 });
    expect((await s.users.require('ann')).eventCount).toBe(3);
  });

  it('an anonymous id that belongs to another known user is a 409 identity_conflict, and nothing changes', async () => {
    const s = ctx.store;
    await ingest(s, [{ anonymousId: 'dev-3', type: 'click', timestamp: T }]);
    await s.users.identify('dev-3', 'bob', NOW);
    await ingest(s, [{ userId: 'ann', type: 'click', timestamp: T }]);
    await expect(s.users.identify('dev-3', 'ann', NOW)).rejects.toMatchObject({ status: 409, code: 'identity_conflict', details: { field: 'anonymousId' } });
    expect((await s.users.require('dev-3')).externalId).toBe('bob');
    expect((await s.users.require('ann')).eventCount).toBe(1);
  });

  it('two identify calls for the same anonymous id at once end with one user (no duplicate, no error)', async () => {
    const s = ctx.store;
    // Unseen ids on both sides: both calls race to create the known user and link the alias.
    const fresh = await Promise.all([s.users.identify('dev-x', 'xena', NOW), s.users.identify('dev-x', 'xena', NOW)]);
    expect(fresh.map((r) => r.status).sort()).toEqual(['linked', 'unchanged']);
    expect(await userCount(s)).toBe(1);

    // An anonymous user with events and a known user: both calls race to merge.
    await ingest(s, [
      { userId: 'yan', type: 'click', timestamp: T },
      { anonymousId: 'dev-y', type: 'click', timestamp: T + 1 },
      { anonymousId: 'dev-y', type: 'click', timestamp: T + 2 },
    ]);
    const merged = await Promise.all([s.users.identify('dev-y', 'yan', NOW), s.users.identify('dev-y', 'yan', NOW)]);
    expect(merged.map((r) => r.status).sort()).toEqual(['merged', 'unchanged']);
    expect(merged.reduce((n, r) => n + r.movedEvents, 0)).toBe(2);
    expect(await s.users.require('yan')).toMatchObject({ eventCount: 3 });
    expect(await userCount(s)).toBe(2);

    // An anonymous user and no known user: both calls race to convert it.
    await ingest(s, [{ anonymousId: 'dev-z', type: 'click', timestamp: T }]);
    const converted = await Promise.all([s.users.identify('dev-z', 'zoe', NOW), s.users.identify('dev-z', 'zoe', NOW)]);
    expect(converted.map((r) => r.status).sort()).toEqual(['linked', 'unchanged']);
    expect(await userCount(s)).toBe(3);
    expect((await s.users.require('zoe')).eventCount).toBe(1);

    // Ingestion creating the known user while identify creates it too.
    await Promise.all([ingest(s, [{ userId: 'kim', type: 'click', timestamp: T }]), s.users.identify('dev-k', 'kim', NOW), s.users.setAttributes('kim', { a: 1 }, undefined, NOW)]);
    expect(await userCount(s)).toBe(4);
    expect(await s.users.require('kim')).toMatchObject({ eventCount: 1, attributes: '{"a":1}' });
    expect((await s.users.require('dev-k')).externalId).toBe('kim');
  });

  it('setAttributes creates the user, merges attributes, keeps declared history, and merges consent flags', async () => {
    const s = ctx.store;
    const u1 = await s.users.setAttributes('cat', { plan: 'free', city: 'Oslo' }, { marketing: true }, T);
    expect(u1).toMatchObject({ externalId: 'cat' });
    expect(JSON.parse(u1.attributes)).toEqual({ plan: 'free', city: 'Oslo' });
    expect(JSON.parse(u1.consent!)).toEqual({ marketing: true });
    // Unchanged values write no history; a change closes the previous row; null removes.
    const u2 = await s.users.setAttributes('cat', { plan: 'pro', city: 'Oslo', pets: null }, { profiling: false }, T + 10);
    expect(u2.id).toBe(u1.id);
    expect(JSON.parse(u2.consent!)).toEqual({ marketing: true, profiling: false });
    const u3 = await s.users.setAttributes('cat', { city: null }, undefined, T + 20);
    expect(JSON.parse(u3.attributes)).toEqual({ plan: 'pro' });
    expect(JSON.parse(u3.consent!)).toEqual({ marketing: true, profiling: false });

    const plan = await s.traits.history(u1.id, 'plan');
    expect(plan.map((t) => [t.value, t.validFrom, t.validTo])).toEqual([
      ['pro', T + 10, null],
      ['free', T, T + 10],
    ]);
    expect(plan[1]!.supersededBy).toBe(plan[0]!.id);
    const city = await s.traits.history(u1.id, 'city');
    expect(city.map((t) => [t.value, t.validTo])).toEqual([['Oslo', T + 20]]);
    expect((await s.traits.current(u1.id)).map((t) => `${t.kind}:${t.key}`)).toEqual(['declared:plan']);
  });

  it('two concurrent setAttributes for a new user make one user with both changes', async () => {
    const s = ctx.store;
    await Promise.all([s.users.setAttributes('dee', { a: 1 }, undefined, T), s.users.setAttributes('dee', { b: 2 }, undefined, T)]);
    expect(await userCount(s)).toBe(1);
    expect(JSON.parse((await s.users.require('dee')).attributes)).toEqual({ a: 1, b: 2 });
  });

  it('consent: declared flags over the defaults, for one user and for many', async () => {
    const s = ctx.store;
    const optin = (await s.users.setAttributes('optin', {}, { marketing: true }, T)).id;
    const optout = (await s.users.setAttributes('optout', {}, { marketing: false, profiling: false }, T)).id;
    const silent = (await s.users.setAttributes('silent', {}, undefined, T)).id;
    const defaults = ['profiling', 'llm_processing'] as const;
    expect(await s.users.consentOf(optout, defaults)).toEqual({ profiling: false, llm_processing: true, marketing: false });
    expect(await s.users.consentOf(silent, ['marketing'])).toEqual({ profiling: false, llm_processing: false, marketing: true });
    expect(await s.users.hasConsent(optin, 'marketing', defaults)).toBe(true);
    expect(await s.users.hasConsent(silent, 'marketing', defaults)).toBe(false);
    expect(await s.users.hasConsent(999_999, 'profiling', defaults)).toBe(false);
    expect(await s.users.filterByConsent([silent, optout, optin, 999_999], 'marketing', ['marketing'])).toEqual([silent, optin]);
    expect(await s.users.filterByConsent([silent, optout, optin], 'profiling', defaults)).toEqual([silent, optin]);
    expect(await s.users.filterByConsent([], 'profiling', defaults)).toEqual([]);
    // The SQL fragment stores use to select many users at once agrees, on every backend.
    const where = async (flag: 'marketing' | 'profiling', d: readonly ('profiling' | 'llm_processing' | 'marketing')[]) =>
      (await s.exec.all<{ id: number }>(`SELECT u.id FROM users u WHERE ${consentSql(s.dialect, 'u', flag, d)} ORDER BY u.id`)).map((r) => Number(r.id));
    expect(await where('marketing', defaults)).toEqual([optin]);
    expect(await where('marketing', ['marketing'])).toEqual([optin, silent]);
    expect(await where('profiling', defaults)).toEqual([optin, silent]);
  });

  it('per-user data: the export returns every section, erasure removes it in one go (llm_calls detached), withdrawal only the derived part', async () => {
    const s = ctx.store;
    await ingest(s, [
      { userId: 'eve', type: 'chat_message', text: 'I love sailing', timestamp: T, eventId: 'eve-1' },
      { anonymousId: 'dev-eve', type: 'search', text: 'life jackets', timestamp: T + 1 },
      { userId: 'other', type: 'click', timestamp: T },
    ]);
    await s.users.identify('dev-eve', 'eve', NOW);
    await s.users.setAttributes('eve', { boat: 'sloop' }, { marketing: true }, NOW);
    const eve = await s.users.require('eve');
    await s.llm.cachePut('k-eve', eve.id, '{"operations":[]}', NOW);
    await s.llm.recordCall({
      at: NOW,
      userId: eve.id,
      operation: 'extract_traits',
      model: 'm',
      promptVersion: 'v1',
      promptTokens: 5,
      completionTokens: 2,
      latencyMs: 3,
      status: 'error',
      error: 'said sailing',
    });
    await s.audit.write({ at: NOW, keyId: 'key_x', action: 'profile.read', method: 'GET', route: '/v1/users/:id', status: 200, userId: eve.id });

    const x = await exportUser(s.userData, eve, ['profiling']);
    expect(x.consent).toEqual({ profiling: true, llm_processing: false, marketing: true });
    expect(x.users).toMatchObject({ id: 'eve', attributes: { boat: 'sloop' }, consentDeclared: { marketing: true }, eventCount: 2 });
    expect((x.events as { eventId: string | null }[]).map((e) => e.eventId)).toEqual(['eve-1', null]);
    expect((x.identities as { alias: string }[]).map((i) => i.alias).sort()).toEqual(['dev-eve', 'eve']);
    expect(x.traits).toEqual([expect.objectContaining({ key: 'boat', value: 'sloop', kind: 'declared' })]);
    expect(x.llm_cache).toEqual([expect.objectContaining({ response: { operations: [] } })]);
    expect(x.llm_calls).toEqual([expect.objectContaining({ error: 'said sailing', promptTokens: 5 })]);
    expect(x.audit_log).toEqual([expect.objectContaining({ action: 'profile.read', keyId: 'key_x' })]);
    expect((x.jobs as unknown[]).length).toBeGreaterThan(0);
    for (const sec of s.userData) if (sec.export) expect(x, sec.name).toHaveProperty(sec.name);

    // Withdrawal: derived rows only (the declared attribute's trait and the events stay).
    const w = await eraseDerived(s.exec, s.userData, eve.id, { now: NOW });
    expect(w.removed).toMatchObject({ llm_cache: 1, traits: 0 });
    expect(w.removed).not.toHaveProperty('events');
    expect((await s.users.require('eve')).profileVersion).toBe(eve.profileVersion + 1);

    const r = await eraseUser(s.exec, s.userData, eve.id, { keyId: 'key_admin', now: NOW });
    expect(r.removed).toMatchObject({ users: 1, identities: 2, events: 2, traits: 1, llm_calls: 1, audit_log: 1 });
    expect(r.failed).toEqual([]);
    expect(await s.users.find('eve')).toBeUndefined();
    expect(await s.users.find('dev-eve')).toBeUndefined();
    // The usage row stays for the budget, with neither the user nor the error text.
    expect(await s.exec.all('SELECT user_id AS "userId", error FROM llm_calls')).toEqual([{ userId: null, error: null }]);
    // The erasure itself is audited with counts only.
    const audit = (await s.audit.query({ action: 'user.erase', limit: 10 })).rows;
    expect(audit).toEqual([expect.objectContaining({ userId: null, keyId: 'key_admin', details: { removed: r.removed } })]);
    expect((await s.users.require('other')).eventCount).toBe(1);
  });
});
