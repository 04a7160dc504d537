import { afterEach, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';

let api: TestApi | undefined;
afterEach(() => {
  api?.cleanup();
  api = undefined;
});

/**
 * Counts calls to the real store's user lookups (the calls still go to the real store): an audited
 * read resolves its user once — the handler's lookup names the user in the audit row too.
 */
function countLookups(a: TestApi): Record<'find' | 'require' | 'profile' | 'userIdsOf', number> {
  const n = { find: 0, require: 0, profile: 0, userIdsOf: 0 };
  const users = a.store.users;
  const profiles = a.store.profiles;
  const find = users.find.bind(users);
  const require = users.require.bind(users);
  const profile = users.profile.bind(users);
  const userIdsOf = profiles.userIdsOf.bind(profiles);
  users.find = (ref) => (n.find++, find(ref));
  users.require = (ref) => (n.require++, require(ref));
  users.profile = (ref) => (n.profile++, profile(ref));
  profiles.userIdsOf = (refs) => (n.userIdsOf++, userIdsOf(refs));
  return n;
}

describe('audited per-user reads resolve the user once', () => {
  it.each([
    // The profile read checks the users row against its cache (find), then reads the whole profile
    // on a miss (the first read); the audit reuses that lookup either way.
    ['/v1/users/ann', { profile: 1, find: 1 }],
    ['/v1/users/ann/traits', { profile: 0, find: 1 }],
    ['/v1/users/ann/traits/occupation/history', { profile: 0, find: 1 }],
    ['/v1/users/ann/export', { profile: 0, find: 1 }],
  ])('GET %s', async (path, expected) => {
    api = createTestApi();
    const a = api;
    expect((await a.request('POST', '/v1/events', { key: a.keys['events:write'], json: [{ userId: 'ann', type: 'click' }] })).status).toBe(200);
    const annId = (await a.store.users.find('ann'))!.id;
    const n = countLookups(a);
    const res = await a.request('GET', path);
    expect(res.status).toBe(200);
    expect(n).toEqual({ ...expected, require: 0, userIdsOf: 0 });
    // ...and the audit row still names the user.
    const { rows } = await a.store.audit.query({ route: path.replace('/ann', '/:id').replace('/occupation/', '/:key/'), limit: 10 });
    expect(rows.map((r) => r.userId)).toEqual([annId]);
  });

  it('GET /v1/users/:id answered from the profile cache: one lookup, still audited', async () => {
    api = createTestApi();
    const a = api;
    expect((await a.request('POST', '/v1/events', { key: a.keys['events:write'], json: [{ userId: 'ann', type: 'click' }] })).status).toBe(200);
    const annId = (await a.store.users.find('ann'))!.id;
    const first = await a.request('GET', '/v1/users/ann');
    const n = countLookups(a);
    const again = await a.request('GET', '/v1/users/ann');
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(n).toEqual({ find: 1, profile: 0, require: 0, userIdsOf: 0 });
    const { rows } = await a.store.audit.query({ route: '/v1/users/:id', limit: 10 });
    expect(rows.map((r) => r.userId)).toEqual([annId, annId]);
  });
});
