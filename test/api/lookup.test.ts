import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiBackends, type BackendApi } from '../support/api-backend.ts';

// Issue 16 item 6: GET /v1/users?email=…, ?alias=…, ?attribute.KEY=VALUE on every backend, audited.
describe.each(apiBackends())('GET /v1/users lookup [$name]', (backend) => {
  let a: BackendApi;
  beforeAll(async () => {
    if (!backend.available) return;
    a = await backend.open();
    const put = (id: string, attributes: Record<string, unknown>) => a.request('PUT', `/v1/users/${id}/attributes`, { json: { attributes } });
    expect((await put('ann', { email: ' Ann@Example.com', plan: 'pro', seats: 3 })).status).toBe(200);
    expect((await put('bob', { email: 'bob@example.com', plan: 'pro', seats: 1 })).status).toBe(200);
    expect((await put('cy', { plan: 'free' })).status).toBe(200);
    const ev = await a.request('POST', '/v1/events', { json: { events: [{ anonymousId: 'dev-9', type: 'click', timestamp: '2026-01-01T00:00:00Z' }] } });
    expect(ev.status).toBe(200);
    expect((await a.request('POST', '/v1/identify', { json: { anonymousId: 'dev-9', userId: 'cy' } })).status).toBe(200);
  }, 120_000);
  afterAll(async () => a?.cleanup());

  it.skipIf(!backend.available)('finds users by normalised email, by any alias and by declared attributes', async () => {
    const ids = async (qs: string) => {
      const r = await a.request('GET', `/v1/users?${qs}`);
      expect(r.status, r.text).toBe(200);
      return (r.body.users as { userId: string }[]).map((u) => u.userId);
    };
    expect(await ids('email=ANN%40example.com')).toEqual(['ann']);
    expect(await ids(`email=${encodeURIComponent('  ann@EXAMPLE.com ')}`)).toEqual(['ann']);
    expect(await ids('alias=dev-9')).toEqual(['cy']);
    expect(await ids('alias=bob%40example.com')).toEqual(['bob']);
    expect(await ids('attribute.plan=pro')).toEqual(['ann', 'bob']);
    expect(await ids('attribute.plan=pro&attribute.seats=3')).toEqual(['ann']);
    expect(await ids('attribute.plan=pro&limit=1')).toEqual(['ann']);
    expect(await ids('email=nobody%40example.com')).toEqual([]);
    const one = (await a.request('GET', '/v1/users?email=bob%40example.com')).body.users[0];
    expect(one).toMatchObject({ userId: 'bob', known: true, attributes: { email: 'bob@example.com', plan: 'pro' } });
    expect(one.identities).toEqual(expect.arrayContaining([{ kind: 'email', alias: 'bob@example.com' }]));
    // The profile lists the email identity too.
    const profile = await a.request('GET', '/v1/users/ann');
    expect(profile.body.identities.map((i: { kind: string; alias: string }) => `${i.kind}:${i.alias}`)).toContain('email:ann@example.com');
  });

  it.skipIf(!backend.available)('bad lookups are 400s; another user’s email is a 409', async () => {
    for (const qs of ['', 'limit=5', 'colour=red', 'email=not-an-email', 'limit=500&email=ann%40example.com']) {
      const r = await a.request('GET', `/v1/users?${qs}`);
      expect(r.status, qs).toBe(400);
    }
    const taken = await a.request('PUT', '/v1/users/cy/attributes', { json: { attributes: { email: 'ann@example.com' } } });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe('identity_conflict');
    const bad = await a.request('PUT', '/v1/users/cy/attributes', { json: { attributes: { email: ['x'] } } });
    expect(bad.status).toBe(400);
  });

  it.skipIf(!backend.available)('each user returned is audited as read; an erased user’s email finds nobody', async () => {
    await a.request('GET', '/v1/users?attribute.plan=pro');
    const entries = (await a.request('GET', '/v1/audit?action=profile.lookup')).body.entries as { action: string; userId: string | null }[];
    expect(entries.map((e) => e.userId).sort()).toEqual(expect.arrayContaining(['ann', 'bob']));
    expect((await a.request('DELETE', '/v1/users/bob')).status).toBe(200);
    expect((await a.request('GET', '/v1/users?email=bob%40example.com')).body.users).toEqual([]);
  });
});
