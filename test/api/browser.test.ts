import { afterEach, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';

// Issue 16 item 10: embedding the API in browser pages. CORS off by default and on for an allow-list,
// ETag / If-None-Match on profile and trait reads, Idempotency-Key on POSTs that create.
let api: TestApi;
afterEach(() => api?.cleanup());

const seed = async () => {
  const r = await api.request('POST', '/v1/events', {
    json: { events: [{ userId: 'ann', type: 'chat_message', text: 'I love hiking with my dog', timestamp: '2026-01-01T10:00:00Z', eventId: 'e1' }] },
  });
  expect(r.status).toBe(200);
  const attrs = await api.request('PUT', '/v1/users/ann/attributes', { json: { attributes: { plan: 'pro' } } });
  expect(attrs.status).toBe(200);
};

describe('CORS', () => {
  it('is off by default: no Access-Control headers, a preflight is not answered', async () => {
    api = createTestApi();
    const pre = await api.request('OPTIONS', '/v1/users/ann', { key: null, headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' } });
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const get = await api.request('GET', '/v1/stats', { headers: { origin: 'https://app.example.com' } });
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers preflights and reads for allowed origins only, exposing ETag and the replay header', async () => {
    api = createTestApi({ TRAITLENS_CORS_ORIGINS: 'https://app.example.com, https://crm.example.com/' });
    const pre = await api.request('OPTIONS', '/v1/segments', {
      key: null,
      headers: { origin: 'https://crm.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,idempotency-key' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://crm.example.com');
    expect(pre.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('idempotency-key');
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
    const get = await api.request('GET', '/v1/stats', { headers: { origin: 'https://app.example.com' } });
    expect(get.status).toBe(200);
    expect(get.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(get.headers.get('access-control-expose-headers')).toMatch(/ETag/);
    expect(get.headers.get('vary')).toMatch(/Origin/);
    const other = await api.request('GET', '/v1/stats', { headers: { origin: 'https://evil.example.net' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('a malformed origin in the allow-list stops start-up naming the setting', () => {
    expect(() => createTestApi({ TRAITLENS_CORS_ORIGINS: 'app.example.com' })).toThrow(/TRAITLENS_CORS_ORIGINS/);
  });
});

describe('ETag / If-None-Match on profile and trait reads', () => {
  it('answers 304 with no body while the profile is unchanged, and a new ETag once it changes', async () => {
    api = createTestApi({ TRAITLENS_CORS_ORIGINS: 'https://app.example.com' });
    await seed();
    for (const path of ['/v1/users/ann', '/v1/users/ann/traits', '/v1/users/ann/traits/plan/history']) {
      const first = await api.request('GET', path);
      expect(first.status, path).toBe(200);
      const tag = first.headers.get('etag');
      expect(tag, path).toMatch(/^"[0-9a-f]+"$/);
      expect(first.headers.get('cache-control')).toBe('private, no-cache');
      expect(first.headers.get('vary')).toMatch(/Authorization/);
      const again = await api.request('GET', path, { headers: { 'if-none-match': tag!, origin: 'https://app.example.com' } });
      expect(again.status, path).toBe(304);
      expect(again.text).toBe('');
      expect(again.headers.get('etag')).toBe(tag);
      // A browser's revalidation keeps its CORS header.
      expect(again.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      expect((await api.request('GET', path, { headers: { 'if-none-match': '"stale"' } })).status).toBe(200);
    }
    const before = (await api.request('GET', '/v1/users/ann')).headers.get('etag')!;
    await api.request('PUT', '/v1/users/ann/attributes', { json: { attributes: { plan: 'free' } } });
    const after = await api.request('GET', '/v1/users/ann', { headers: { 'if-none-match': before } });
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(before);
    expect(after.body.attributes.plan).toBe('free');
  });

  it('errors carry no ETag and are never 304', async () => {
    api = createTestApi();
    const r = await api.request('GET', '/v1/users/nobody', { headers: { 'if-none-match': '*' } });
    expect(r.status).toBe(404);
    expect(r.headers.get('etag')).toBeNull();
  });
});

describe('Idempotency-Key on POSTs that create', () => {
  const segment = { name: 'pro users', filter: { attribute: { key: 'plan', eq: 'pro' } } };

  it('replays the first answer for the same key and body: one segment, one API key', async () => {
    api = createTestApi();
    const first = await api.request('POST', '/v1/segments', { json: segment, headers: { 'idempotency-key': 'seg-1' } });
    expect(first.status).toBe(201);
    const again = await api.request('POST', '/v1/segments', { json: { filter: segment.filter, name: segment.name }, headers: { 'idempotency-key': 'seg-1' } });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect((await api.request('GET', '/v1/segments')).body.segments).toHaveLength(1);

    const key = await api.request('POST', '/v1/keys', { json: { name: 'widget', scopes: ['profiles:read'] }, headers: { 'idempotency-key': 'key-1' } });
    expect(key.status).toBe(201);
    expect(key.body.secret).toMatch(/^tlk_/);
    const keyAgain = await api.request('POST', '/v1/keys', { json: { name: 'widget', scopes: ['profiles:read'] }, headers: { 'idempotency-key': 'key-1' } });
    expect(keyAgain.body).toEqual(key.body);
    const listed = (await api.request('GET', '/v1/keys')).body.keys as { name: string }[];
    expect(listed.filter((k) => k.name === 'widget')).toHaveLength(1);
    // The stored answer holds the new key's secret only encrypted (with the caller's own secret).
    const rows = (await api.store.exec.all<{ response: string }>('SELECT response FROM idempotency_keys')).map((r) => r.response);
    expect(rows).toHaveLength(2);
    expect(rows.join('\n')).not.toContain(key.body.secret as string);
    expect(rows.join('\n')).not.toContain('widget');
  });

  it('the same key with another body is a 422; another API key may use the same key; no key means no replay', async () => {
    api = createTestApi();
    expect((await api.request('POST', '/v1/segments', { json: segment, headers: { 'idempotency-key': 'k' } })).status).toBe(201);
    const reused = await api.request('POST', '/v1/segments', { json: { ...segment, name: 'other' }, headers: { 'idempotency-key': 'k' } });
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe('idempotency_key_reused');
    const otherCaller = await api.request('POST', '/v1/segments', { key: api.keys['segments:write'], json: { ...segment, name: 'theirs' }, headers: { 'idempotency-key': 'k' } });
    expect(otherCaller.status).toBe(201);
    const plain = await api.request('POST', '/v1/segments', { json: { ...segment, name: 'third' } });
    expect(plain.status).toBe(201);
    expect((await api.request('GET', '/v1/segments')).body.segments).toHaveLength(3);
  });

  it('a request that created nothing is not kept: its retry runs again', async () => {
    api = createTestApi();
    const bad = await api.request('POST', '/v1/keys', { json: { name: 'x', scopes: ['nonsense'] }, headers: { 'idempotency-key': 'k2' } });
    expect(bad.status).toBe(400);
    const fixed = await api.request('POST', '/v1/keys', { json: { name: 'x', scopes: ['admin'] }, headers: { 'idempotency-key': 'k2' } });
    expect(fixed.status).toBe(201);
    expect(fixed.headers.get('idempotent-replayed')).toBeNull();
  });

  it('refuses a malformed key with 400 naming the header', async () => {
    api = createTestApi();
    const r = await api.request('POST', '/v1/segments', { json: segment, headers: { 'idempotency-key': 'x'.repeat(256) } });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body.error.details)).toContain('Idempotency-Key');
  });

  it('the OpenAPI document lists the headers and the 304', async () => {
    api = createTestApi();
    const doc = (await api.request('GET', '/openapi.json', { key: null })).body;
    const params = (op: { parameters: { name: string; in: string }[] }) => op.parameters.filter((p) => p.in === 'header').map((p) => p.name);
    expect(params(doc.paths['/v1/segments'].post)).toContain('Idempotency-Key');
    expect(params(doc.paths['/v1/keys'].post)).toContain('Idempotency-Key');
    expect(params(doc.paths['/v1/users/{id}'].get)).toContain('If-None-Match');
    expect(doc.paths['/v1/users/{id}'].get.responses['304']).toBeDefined();
    expect(doc.paths['/v1/users/{id}/traits'].get.responses['304']).toBeDefined();
  });
});
