import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMPLIED_SCOPES, SCOPES, type Scope } from '../../src/core/types.ts';
import { createTestApi, type TestApi } from '../support/api.ts';

let api: TestApi;
beforeAll(async () => {
  // A card-only model, so GET /v1/models/:name has something to return.
  api = createTestApi({ TRAITLENS_MODELS_DIR: fileURLToPath(new URL('../fixtures/models', import.meta.url)) });
  await api.request('POST', '/v1/events', { json: [{ userId: 'u1', type: 'click', properties: { item_id: 'a' } }] });
  // The one allowed DELETE probe (admin key) erases this user, not u1 the other probes read.
  await api.request('POST', '/v1/events', { json: [{ userId: 'to-erase', type: 'click' }] });
  // Item embeddings holding the probed item, so GET /v1/items/:id/similar has something to answer.
  await api.store.items.saveEmbeddings({ version: 'probe', dim: 2, card: {}, items: ['probe-item', 'other-item'], vectors: new Float32Array([1, 0, 0.6, 0.8]), createdAt: 1 });
});
afterAll(() => api.cleanup());

interface Probe {
  method: string;
  path: string;
  /** makes what the call acts on and returns its path (instead of `path`) */
  prepare?: () => Promise<string>;
  /** the body for each call (instead of `json`) */
  makeJson?: () => unknown;
  /** OpenAPI path, to check every documented route is probed */
  doc: string;
  scope: Scope;
  json?: unknown;
}
let made = 0;
/** A new segment to delete, with the admin key; its path. */
async function fresh(): Promise<string> {
  const r = await api.request('POST', '/v1/segments', { json: { name: `to delete ${++made}`, filter: { attribute: { key: 'a', eq: 1 } } } });
  return `/v1/segments/${r.body.id}`;
}

/** A new API key to revoke, made with the admin key; its path. */
async function freshKey(): Promise<string> {
  const r = await api.request('POST', '/v1/keys', { json: { name: `to revoke ${++made}`, scopes: ['profiles:read'] } });
  return `/v1/keys/${r.body.id}`;
}

const probes: Probe[] = [
  { method: 'POST', path: '/v1/events', doc: '/v1/events', scope: 'events:write', json: [{ userId: 'u1', type: 'click' }] },
  { method: 'POST', path: '/v1/identify', doc: '/v1/identify', scope: 'events:write', json: { anonymousId: 'a1', userId: 'u1' } },
  { method: 'PUT', path: '/v1/users/u1/attributes', doc: '/v1/users/{id}/attributes', scope: 'events:write', json: { attributes: { a: 1 } } },
  { method: 'GET', path: '/v1/users/u1', doc: '/v1/users/{id}', scope: 'profiles:read' },
  { method: 'GET', path: '/v1/users/u1/events', doc: '/v1/users/{id}/events', scope: 'profiles:read' },
  { method: 'GET', path: '/v1/stats', doc: '/v1/stats', scope: 'admin' },
  { method: 'GET', path: '/v1/users/u1/traits', doc: '/v1/users/{id}/traits', scope: 'profiles:read' },
  { method: 'GET', path: '/v1/users/u1/traits/interest/history', doc: '/v1/users/{id}/traits/{key}/history', scope: 'profiles:read' },
  { method: 'POST', path: '/v1/users/u1/refresh', doc: '/v1/users/{id}/refresh', scope: 'events:write', json: {} },
  { method: 'GET', path: '/v1/models', doc: '/v1/models', scope: 'profiles:read' },
  { method: 'DELETE', path: '/v1/users/to-erase', doc: '/v1/users/{id}', scope: 'admin' },
  { method: 'GET', path: '/v1/users/u1/export', doc: '/v1/users/{id}/export', scope: 'admin' },
  { method: 'GET', path: '/v1/audit', doc: '/v1/audit', scope: 'admin' },
  { method: 'GET', path: '/v1/models/purchase_30d', doc: '/v1/models/{name}', scope: 'profiles:read' },
  { method: 'GET', path: '/v1/users/u1/similar', doc: '/v1/users/{id}/similar', scope: 'profiles:read' },
  { method: 'POST', path: '/v1/search/users', doc: '/v1/search/users', scope: 'profiles:read', json: { query: 'hiking' } },
  { method: 'GET', path: '/v1/users/u1/summary', doc: '/v1/users/{id}/summary', scope: 'summaries:read' },
  { method: 'GET', path: '/v1/users/u1/recommendations', doc: '/v1/users/{id}/recommendations', scope: 'profiles:read' },
  { method: 'GET', path: '/v1/users/u1/items', doc: '/v1/users/{id}/items', scope: 'profiles:read' },
  { method: 'PUT', path: '/v1/items/probe-item', doc: '/v1/items/{id}', scope: 'events:write', json: { title: 'probe' } },
  { method: 'GET', path: '/v1/items', doc: '/v1/items', scope: 'profiles:read' },
  { method: 'GET', path: '/v1/items/probe-item', doc: '/v1/items/{id}', scope: 'profiles:read' },
  { method: 'GET', path: '/v1/items/probe-item/similar', doc: '/v1/items/{id}/similar', scope: 'profiles:read' },
  // POST before the routes that read segment 1, which it creates.
  // names are unique: each call names its segment afresh
  { method: 'POST', path: '/v1/segments', doc: '/v1/segments', scope: 'segments:write', makeJson: () => ({ name: `probe ${++made}`, filter: { attribute: { key: 'a', eq: 1 } } }) },
  { method: 'GET', path: '/v1/segments', doc: '/v1/segments', scope: 'segments:read' },
  { method: 'GET', path: '/v1/segments/1', doc: '/v1/segments/{id}', scope: 'segments:read' },
  { method: 'GET', path: '/v1/segments/1/users', doc: '/v1/segments/{id}/users', scope: 'segments:read' },
  { method: 'POST', path: '/v1/segments/1/lookalikes', doc: '/v1/segments/{id}/lookalikes', scope: 'segments:read' },
  { method: 'GET', path: '/v1/segments/1/portrait', doc: '/v1/segments/{id}/portrait', scope: 'segments:read' },
  { method: 'POST', path: '/v1/segments/preview', doc: '/v1/segments/preview', scope: 'segments:read', json: { filter: { attribute: { key: 'a', eq: 1 } } } },
  { method: 'PATCH', path: '/v1/segments/1', doc: '/v1/segments/{id}', scope: 'segments:write', json: { description: 'probed' } },
  // each call deletes a segment made for it (segment 1 stays for the probes above)
  { method: 'DELETE', path: '', doc: '/v1/segments/{id}', scope: 'segments:write', prepare: fresh },
  { method: 'POST', path: '/v1/jobs/retry', doc: '/v1/jobs/retry', scope: 'admin', json: {} },
  { method: 'GET', path: '/v1/users?attribute.a=1', doc: '/v1/users', scope: 'profiles:read' },
  { method: 'POST', path: '/v1/keys', doc: '/v1/keys', scope: 'admin', json: { name: 'probe', scopes: ['profiles:read'] } },
  { method: 'GET', path: '/v1/keys', doc: '/v1/keys', scope: 'admin' },
  // each call revokes a key made for it
  { method: 'DELETE', path: '', doc: '/v1/keys/{id}', scope: 'admin', prepare: freshKey },
];

const call = async (p: Probe, key: string | null, headers: Record<string, string> = {}) =>
  api.request(p.method, p.prepare ? await p.prepare() : p.path, { key, ...(p.makeJson ? { json: p.makeJson() } : p.json !== undefined ? { json: p.json } : {}), headers });

describe('authentication', () => {
  it('every scoped route in the OpenAPI document is probed here', async () => {
    const doc = (await api.request('GET', '/openapi.json', { key: null })).body;
    const scoped: string[] = [];
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, { 'x-required-scope'?: string }>>))
      for (const [method, op] of Object.entries(item)) if (op['x-required-scope']) scoped.push(`${method.toUpperCase()} ${path} ${op['x-required-scope']}`);
    expect(scoped.sort()).toEqual(probes.map((p) => `${p.method} ${p.doc} ${p.scope}`).sort());
  });

  it.each(probes)('$method $path: 401 with WWW-Authenticate when the key is missing, malformed, unknown or revoked', async (p) => {
    const revoked = await api.store.keys.create('to revoke', ['admin']);
    await api.store.keys.revoke(revoked.id);
    const attempts: [string | null, Record<string, string>][] = [
      [null, {}],
      [null, { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
      [null, { authorization: 'Bearer' }],
      [null, { authorization: `Bearer ${'x'.repeat(5000)}` }],
      ['tlk_not-a-real-key', {}],
      [revoked.secret, {}],
    ];
    for (const [key, headers] of attempts) {
      const r = await call(p, key, headers);
      expect(r.status, JSON.stringify(headers) + key).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(r.body.error.code).toBe('unauthorized');
    }
  });

  it('an unauthenticated request body is not even parsed (401 before 400/415)', async () => {
    const r = await api.app.request('/v1/events', { method: 'POST', body: '{not json', headers: { 'content-type': 'text/plain' } });
    expect(r.status).toBe(401);
  });

  it('the scheme name is case-insensitive', async () => {
    const r = await api.request('GET', '/v1/stats', { key: null, headers: { authorization: `bearer ${api.keys.admin}` } });
    expect(r.status).toBe(200);
  });

  it('records when a key was last used', async () => {
    const k = await api.store.keys.create('touch', ['profiles:read']);
    const before = Date.now();
    await api.request('GET', '/v1/users/u1', { key: k.secret });
    const listed = (await api.store.keys.list()).find((x) => x.id === k.id);
    expect(listed?.lastUsedAt).not.toBeNull();
    expect(Date.parse(listed?.lastUsedAt ?? '')).toBeGreaterThanOrEqual(before);
  });
});

describe('scopes', () => {
  for (const p of probes) {
    for (const keyScope of SCOPES) {
      const allowed = keyScope === p.scope || keyScope === 'admin' || (IMPLIED_SCOPES[keyScope]?.includes(p.scope) ?? false);
      it(`${p.method} ${p.path} with a ${keyScope} key → ${allowed ? 'allowed' : '403'}`, async () => {
        const r = await call(p, api.keys[keyScope]);
        if (allowed) {
          expect(r.status, r.text).toBeLessThan(300);
        } else {
          expect(r.status).toBe(403);
          expect(r.body.error.code).toBe('forbidden');
          expect(r.body.error.message).toContain(p.scope);
          expect(r.body.error.details.requiredScope).toBe(p.scope);
        }
      });
    }
  }

  it('a key with several scopes gets each of them', async () => {
    const k = await api.store.keys.create('multi', ['events:write', 'profiles:read']);
    for (const p of probes) {
      const r = await call(p, k.secret);
      const held = p.scope === 'events:write' || p.scope === 'profiles:read';
      expect(r.status, `${p.method} ${p.path}`).toBe(!held ? 403 : p.path.endsWith('/refresh') ? 202 : 200);
    }
  });

  it('public routes need no key', async () => {
    for (const path of ['/healthz', '/readyz', '/openapi.json', '/docs']) {
      const r = await api.request('GET', path, { key: null });
      expect(r.status, path).toBe(200);
    }
  });
});
