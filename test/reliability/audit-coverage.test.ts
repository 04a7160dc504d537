import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type ApiResponse, type TestApi } from '../support/api.ts';
import { indexConfig, layoutFor, seedUsers } from '../similar/helpers.ts';
import { seedTraits } from '../support/traits.ts';

// Issue 12.6: every route that returns per-user data writes audit rows naming exactly the users it
// returned. The routes are derived from the OpenAPI document, so a new one cannot be forgotten.

type Json = any; // any: the OpenAPI document and response bodies are walked generically

/** Operations whose answer names users without returning data about them, and why. */
const NOT_PER_USER: Record<string, string> = {
  'post /v1/identify': 'echoes the userId the client sent, with a count; no stored data about anyone else',
  'post /v1/users/{id}/refresh': 'a write (events:write): echoes the :id it was given with the queue status and a count',
  'get /v1/audit': 'the audit trail itself (admin only): auditing its reads would write rows about rows',
};

/** Does this JSON Schema describe (somewhere inside) an external user id or a list of users? */
function schemaNamesUsers(s: Json, schemas: Record<string, Json>, depth = 0): boolean {
  if (!s || typeof s !== 'object' || depth > 20) return false;
  // A named component (`#/components/schemas/X`) is walked like an inline schema.
  if (typeof s.$ref === 'string') return schemaNamesUsers(schemas[s.$ref.replace('#/components/schemas/', '')], schemas, depth + 1);
  for (const [k, v] of Object.entries<Json>(s.properties ?? {})) {
    if (k === 'userId' && (v?.type === 'string' || (Array.isArray(v?.type) && v.type.includes('string')))) return true;
    if (k === 'users' && v?.type === 'array') return true;
    if (schemaNamesUsers(v, schemas, depth + 1)) return true;
  }
  for (const key of ['items', 'additionalProperties']) if (schemaNamesUsers(s[key], schemas, depth + 1)) return true;
  for (const key of ['anyOf', 'oneOf', 'allOf']) for (const sub of s[key] ?? []) if (schemaNamesUsers(sub, schemas, depth + 1)) return true;
  return false;
}

/** `get /v1/users/{id}`-style keys of the operations that return per-user data, per the document. */
function perUserOperations(doc: Json): string[] {
  const out: string[] = [];
  for (const [path, ops] of Object.entries<Json>(doc.paths))
    for (const [method, op] of Object.entries<Json>(ops)) {
      const key = `${method} ${path}`;
      if (NOT_PER_USER[key]) continue;
      const readsAUser = method === 'get' && /\/users\/\{id\}(\/|$)/.test(path);
      const listsUsers = Object.entries<Json>(op.responses).some(
        ([status, r]) => Number(status) < 300 && Object.values<Json>(r.content ?? {}).some((c) => schemaNamesUsers(c.schema, doc.components?.schemas ?? {})),
      );
      if (readsAUser || listsUsers) out.push(key);
    }
  return out.sort();
}

/** Every external user id in a response body: `userId` values and the strings of `users` arrays. */
function usersIn(body: Json, out = new Set<string>()): Set<string> {
  if (Array.isArray(body)) for (const x of body) usersIn(x, out);
  else if (body && typeof body === 'object')
    for (const [k, v] of Object.entries<Json>(body)) {
      if (k === 'userId' && typeof v === 'string') out.add(v);
      else if (k === 'users' && Array.isArray(v)) for (const x of v) typeof x === 'string' ? out.add(x) : usersIn(x, out);
      else usersIn(v, out);
    }
  return out;
}

describe('audit coverage (issue 12.6)', () => {
  let api: TestApi;
  let doc: Json;
  let segmentId: number;
  beforeAll(async () => {
    api = createTestApi({ TRAITLENS_VECTOR_W_BEHAVIOUR: '0', TRAITLENS_INDEX_SAVE_MS: '0' });
    // u0..u29 with vectors; even ones consented to marketing. User "1" exists too: the id of the
    // first segment, which the members route used to audit as if it were a user id.
    const { ids } = await seedUsers(api.store, layoutFor(indexConfig(api.path)), 30, (i) => ({ country: i < 10 ? 'DE' : 'US' }));
    for (let i = 0; i < 5; i++) await seedTraits(api.store, ids[i]!, [{ key: 'interest', value: 'hiking', confidence: 0.9, producer: 'test', version: '1' }]);
    await api.request('POST', '/v1/events', {
      json: [
        { userId: '1', type: 'page_view', eventId: 'one-1' },
        { userId: 'u0', type: 'purchase', eventId: 'u0-p', properties: { product_id: 'p1', price: 3 } },
      ],
    });
    const seg = await api.request('POST', '/v1/segments', { json: { name: 'DE', filter: { attribute: { key: 'country', eq: 'DE' } } } });
    expect(seg.status, seg.text).toBe(201);
    segmentId = seg.body.id;
    expect(segmentId).toBe(1);
    doc = (await api.request('GET', '/openapi.json', { key: null })).body;
  }, 60_000);
  afterAll(() => api?.cleanup());

  /** One example request per per-user operation, with the user its path names (if any); an operation missing here fails the test below. */
  const examples = (): Record<string, [string | null, () => Promise<ApiResponse>]> => ({
    'get /v1/users': [null, () => api.request('GET', '/v1/users?attribute.country=DE&limit=3')],
    'get /v1/users/{id}': ['u0', () => api.request('GET', '/v1/users/u0')],
    'get /v1/users/{id}/events': ['u0', () => api.request('GET', '/v1/users/u0/events')],
    'get /v1/users/{id}/traits': ['u0', () => api.request('GET', '/v1/users/u0/traits')],
    'get /v1/users/{id}/traits/{key}/history': ['u0', () => api.request('GET', '/v1/users/u0/traits/interest/history')],
    'get /v1/users/{id}/export': ['u2', () => api.request('GET', '/v1/users/u2/export')],
    'get /v1/users/{id}/similar': ['u0', () => api.request('GET', '/v1/users/u0/similar?k=4')],
    'get /v1/users/{id}/summary': ['u0', () => api.request('GET', '/v1/users/u0/summary')],
    'get /v1/users/{id}/recommendations': ['u4', () => api.request('GET', '/v1/users/u4/recommendations?neighbours=5')],
    'get /v1/users/{id}/items': ['u4', () => api.request('GET', '/v1/users/u4/items')],
    'post /v1/search/users': [null, () => api.request('POST', '/v1/search/users', { json: { query: 'walks in the mountains', k: 5 } })],
    'post /v1/segments': [null, () => api.request('POST', '/v1/segments', { json: { description: 'people who love hiking' } })],
    'get /v1/segments/{id}/users': [null, () => api.request('GET', `/v1/segments/${segmentId}/users?limit=3`)],
    'post /v1/segments/{id}/lookalikes': [null, () => api.request('POST', `/v1/segments/${segmentId}/lookalikes?k=4`)],
  });

  it('the OpenAPI document marks every operation that returns per-user data as audited, naming whose data it returns', () => {
    const ops = perUserOperations(doc);
    // The detector itself must see the routes the issue names, or it proves nothing.
    expect(ops).toEqual(
      expect.arrayContaining(['get /v1/users/{id}', 'post /v1/search/users', 'post /v1/segments', 'get /v1/segments/{id}/users', 'post /v1/segments/{id}/lookalikes']),
    );
    const missing = ops.filter((k) => {
      const [method, path] = k.split(' ') as [string, string];
      const op = doc.paths[path][method];
      return !op['x-audit-action'] || !op['x-returns-users'];
    });
    expect(missing).toEqual([]);
    // Nothing the detector cannot read: every authenticated JSON success response has a schema.
    const blind: string[] = [];
    for (const [path, methods] of Object.entries<Json>(doc.paths))
      for (const [method, op] of Object.entries<Json>(methods))
        for (const [status, r] of Object.entries<Json>(op.responses))
          if (op['x-required-scope'] && Number(status) < 300 && (!r.content || Object.values<Json>(r.content).some((c) => !c.schema))) blind.push(`${method} ${path} ${status}`);
    expect(blind).toEqual([]);
    expect(Object.keys(examples()).sort()).toEqual(ops);
  });

  it('each of them writes audit rows naming exactly the users it returned', async () => {
    const ops = perUserOperations(doc);
    const ex = examples();
    let rows = 0;
    for (const key of ops) {
      const before = (await api.request('GET', '/v1/audit?limit=1')).body.entries[0]?.id ?? 0;
      const [subject, send] = ex[key]!;
      const r = await send();
      expect(r.status, `${key}: ${r.text.slice(0, 300)}`).toBe(200);
      const path = key.split(' ')[1]!;
      const expected = usersIn(r.body);
      if (subject !== null) expected.add(subject);
      const entries = ((await api.request('GET', '/v1/audit?limit=1000')).body.entries as { id: number; userId: string | null; route: string; status: number }[]).filter(
        (e) => e.id > before,
      );
      expect(entries.length, `${key} wrote no audit row`).toBeGreaterThan(0);
      expect(new Set(entries.map((e) => e.route)), key).toEqual(new Set([path.replace(/\{(\w+)\}/g, ':$1')]));
      const named = new Set(entries.map((e) => e.userId).filter((u): u is string => u !== null));
      expect([...named].sort(), key).toEqual([...expected].sort());
      if (key !== 'post /v1/segments') expect(named.size, `${key} returned nobody: the example proves nothing`).toBeGreaterThan(0);
      rows += entries.length;
    }
    console.info(
      `[figures] audit coverage: ${ops.length} operations return per-user data (derived from /openapi.json); each wrote rows naming exactly the users it returned (${rows} rows)`,
    );
  }, 60_000);

  it('segment members are audited against the members, never against a user whose id equals the segment id', async () => {
    const r = await api.request('GET', `/v1/segments/${segmentId}/users?limit=100`);
    expect(r.body.users).not.toContain('1');
    const rows = (await api.request('GET', '/v1/audit?user=1')).body.entries as unknown[];
    expect(rows).toEqual([]);
    const members = (await api.request('GET', `/v1/audit?route=${encodeURIComponent('/v1/segments/:id/users')}&limit=1000`)).body.entries as { userId: string }[];
    expect(new Set(members.map((e) => e.userId))).toEqual(new Set(['u0', 'u2', 'u4', 'u6', 'u8']));
  });
});
