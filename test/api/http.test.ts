import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';

let api: TestApi;
beforeAll(() => {
  api = createTestApi({ TRAITLENS_MAX_BODY_BYTES: '4096' });
});
afterAll(() => api.cleanup());

// any: error and profile bodies are read field by field in the assertions.
const json = (r: Response): Promise<any> => r.json();

type Init = Omit<RequestInit, 'headers'> & { headers?: Record<string, string>; duplex?: 'half' };
const raw = (method: string, path: string, init: Init = {}) => api.app.request(path, { method, ...init, headers: { authorization: `Bearer ${api.keys.admin}`, ...init.headers } });

describe('request bodies', () => {
  it('a body over TRAITLENS_MAX_BODY_BYTES is a 413 (declared content-length)', async () => {
    const body = JSON.stringify([{ userId: 'u', type: 'click', properties: { pad: 'x'.repeat(5000) } }]);
    const r = await raw('POST', '/v1/events', { body, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } });
    expect(r.status).toBe(413);
    expect((await json(r)).error).toMatchObject({ code: 'payload_too_large', details: { maxBytes: 4096 } });
  });

  it('a streamed body without content-length is counted and cut off at the limit', async () => {
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(ctrl) {
        pulled++;
        if (pulled > 1000) return ctrl.close();
        ctrl.enqueue(new TextEncoder().encode(pulled === 1 ? '[' : ' '.repeat(1000)));
      },
    });
    const r = await raw('POST', '/v1/events', { body: stream, headers: { 'content-type': 'application/json' }, duplex: 'half' });
    expect(r.status).toBe(413);
    expect(pulled).toBeLessThan(20); // stopped reading soon after the limit, not at the end
  });

  it('a body at the limit is accepted', async () => {
    const small = JSON.stringify([{ userId: 'u', type: 'click', properties: { pad: 'x'.repeat(3900) } }]);
    expect(Buffer.byteLength(small)).toBeLessThanOrEqual(4096);
    const r = await raw('POST', '/v1/events', { body: small, headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(200);
  });

  it('malformed JSON is a 400 invalid_json', async () => {
    for (const body of ['{', '', '[{"userId": "u",}]', 'undefined', '\u0000']) {
      const r = await raw('POST', '/v1/events', { body, headers: { 'content-type': 'application/json' } });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect((await json(r)).error.code).toBe('invalid_json');
    }
  });

  it('a body that is not JSON by content type is a 415', async () => {
    for (const type of [undefined, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx']) {
      const headers: Record<string, string> = type ? { 'content-type': type } : {};
      const r = await raw('POST', '/v1/identify', { body: '{"anonymousId":"a","userId":"b"}', headers });
      expect(r.status, String(type)).toBe(415);
      expect((await json(r)).error.code).toBe('unsupported_media_type');
    }
    for (const type of ['application/json; charset=utf-8', 'Application/JSON', 'application/vnd.traitlens+json']) {
      const r = await raw('POST', '/v1/identify', { body: '{"anonymousId":"ct-a","userId":"ct-b"}', headers: { 'content-type': type } });
      expect(r.status, type).toBe(200);
    }
  });

  it('deeply nested JSON is a 400, not a stack overflow', async () => {
    const deep = '['.repeat(1500) + ']'.repeat(1500);
    const r = await raw('POST', '/v1/events', { body: deep, headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(400);
    expect((await json(r)).error.code).toBe('too_deep');
    const props = `{"attributes":{"a":${'{"b":'.repeat(80)}1${'}'.repeat(80)}}}`;
    const a = await raw('PUT', '/v1/users/deep/attributes', { body: props, headers: { 'content-type': 'application/json' } });
    expect(a.status).toBe(400);
  });
});

describe('routing', () => {
  it('unknown routes are a JSON 404', async () => {
    for (const path of ['/', '/v1', '/v2/events', '/v1/events/', '/v1/usersx', '/v1/users/a/b/c']) {
      const r = await raw('GET', path);
      expect(r.status, path).toBe(404);
      expect(r.headers.get('content-type')).toContain('application/json');
      expect((await json(r)).error.code).toBe('not_found');
    }
  });

  it('a known path with the wrong method is a 405 with Allow', async () => {
    const r = await raw('DELETE', '/v1/events');
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('POST');
    expect((await json(r)).error.code).toBe('method_not_allowed');
    const g = await raw('POST', '/v1/users/x', { body: '{}', headers: { 'content-type': 'application/json' } });
    expect(g.status).toBe(405);
    expect(g.headers.get('allow')).toBe('GET, HEAD, DELETE');
  });

  it('HEAD works where GET does', async () => {
    const r = await raw('HEAD', '/healthz');
    expect(r.status).toBe(200);
  });

  it('x-request-id is echoed when sane and generated otherwise, also on errors', async () => {
    const mine = await raw('GET', '/healthz', { headers: { 'x-request-id': 'abc-123' } });
    expect(mine.headers.get('x-request-id')).toBe('abc-123');
    const made = await raw('GET', '/nowhere', { headers: { 'x-request-id': 'bad id with spaces\u00e9' } });
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const err = await api.app.request('/v1/stats');
    expect(err.status).toBe(401);
    expect(err.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('hostile input never causes a 500', () => {
  const ids = [
    '%F0%9F%98%80', // emoji
    '%ED%A0%80', // lone surrogate (invalid UTF-8)
    '%E0%A4%A', // truncated escape
    '%00',
    '%20',
    '..%2F..%2Fetc%2Fpasswd',
    '__proto__',
    'constructor',
    'x'.repeat(300),
    encodeURIComponent('\u202eevil\u200b'),
    encodeURIComponent('Z\u0351\u0360\u0346'.repeat(50)),
  ];
  it.each(ids)('user id %s', async (id) => {
    for (const path of [`/v1/users/${id}`, `/v1/users/${id}/events`]) {
      const r = await raw('GET', path);
      expect(r.status, path).toBeLessThan(500);
      expect(r.status === 200 || r.status === 400 || r.status === 404, `${path} ${r.status}`).toBe(true);
    }
    const put = await raw('PUT', `/v1/users/${id}/attributes`, { body: '{"attributes":{"k":1}}', headers: { 'content-type': 'application/json' } });
    expect(put.status).toBeLessThan(500);
  });

  const bodies: [string, string][] = [
    ['__proto__ at the top', '{"__proto__":{"events":[1]}}'],
    ['__proto__ in an event', '[{"__proto__":{"isAdmin":true},"userId":"p","type":"click"}]'],
    ['__proto__ in properties', '[{"userId":"p","type":"click","properties":{"__proto__":{"x":1},"constructor":{"prototype":1}}}]'],
    ['huge string id', JSON.stringify([{ userId: 'u'.repeat(3000), type: 'click' }])],
    ['huge number', '[{"userId":"n","type":"purchase","properties":{"price":1e400}}]'],
    ['numeric user id', '[{"userId":12345678901234567890,"type":"click"}]'],
    ['wrong types everywhere', '[{"userId":{},"type":[],"timestamp":{},"properties":[],"text":5}]'],
    ['array of nulls', '[null,null,true,"x",[]]'],
    ['lone surrogate escapes', '[{"userId":"s","type":"search","text":"\\ud800 hi \\udfff","properties":{"q\\ud800":"\\udc00"}}]'],
    ['deep properties', JSON.stringify([{ userId: 'd', type: 'click', properties: JSON.parse('{"a":'.repeat(30) + '1' + '}'.repeat(30)) }])],
    ['timestamp extremes', '[{"userId":"t","type":"click","timestamp":-1},{"userId":"t","type":"click","timestamp":1e308},{"userId":"t","type":"click","timestamp":"9999-99-99"}]'],
    ['odd type names', '[{"userId":"o","type":"💥"},{"userId":"o","type":"___"},{"userId":"o","type":"Ω mega"}]'],
  ];
  it.each(bodies)('events body: %s', async (_name, body) => {
    const r = await raw('POST', '/v1/events', { body, headers: { 'content-type': 'application/json' } });
    expect(r.status, await r.clone().text()).toBeLessThan(500);
  });

  it('identify and attributes with hostile bodies', async () => {
    const cases: [string, string][] = [
      ['/v1/identify', '{"__proto__":{"anonymousId":"a","userId":"b"}}'],
      ['/v1/identify', '{"anonymousId":"\\ud800","userId":"\\u0000"}'],
      ['/v1/identify', '[]'],
      ['/v1/identify', 'null'],
      ['/v1/users/h/attributes', '{"attributes":{"constructor":{"prototype":{"x":1}},"toString":1}}'],
      ['/v1/users/h/attributes', '{"attributes":{"a":1e999}}'],
      ['/v1/users/h/attributes', '{"attributes":null}'],
      ['/v1/users/h/attributes', `{"attributes":{"big":"${'y'.repeat(3000)}"}}`],
    ];
    for (const [path, body] of cases) {
      const method = path.endsWith('attributes') ? 'PUT' : 'POST';
      const r = await raw(method, path, { body, headers: { 'content-type': 'application/json' } });
      expect(r.status, `${path} ${body.slice(0, 60)}`).toBeLessThan(500);
    }
    // prototype-looking names are ordinary attributes, stored as data
    const p = await raw('GET', '/v1/users/h');
    expect(p.status).toBe(200);
    const attrs = (await json(p)).attributes;
    expect(Object.hasOwn(attrs, 'constructor')).toBe(true);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('odd query strings', async () => {
    for (const q of ['limit=1&limit=2', 'limit=%00', 'type=%ED%A0%80', 'type=', 'cursor=', `type=${'t'.repeat(200)}`, 'cursor=%F0%9F%98%80']) {
      const r = await raw('GET', `/v1/users/h/events?${q}`);
      expect(r.status, q).toBeLessThan(500);
    }
  });
});

describe('identifiers with hidden characters are refused, naming the field (issue 12.9)', () => {
  const sneaky = 'u00010\u202e'; // displays as u00010
  it('an event whose userId or anonymousId hides a character is rejected per event as invalid_characters', async () => {
    const r = await raw('POST', '/v1/events', {
      body: JSON.stringify([
        { userId: 'u00010', type: 'click', eventId: 'plain-1' },
        { userId: sneaky, type: 'click', eventId: 'bidi-1' },
        { anonymousId: 'anon\u0000', type: 'click', eventId: 'nul-1' },
        { userId: 'u00010', type: 'click', eventId: 'ev\u2066id' },
      ]),
      headers: { 'content-type': 'application/json' },
    });
    expect(r.status).toBe(200);
    const body = await json(r);
    expect(body.accepted).toBe(1);
    expect(body.results.slice(1).map((x: { reason: string; field: string }) => [x.reason, x.field])).toEqual([
      ['invalid_characters', 'userId'],
      ['invalid_characters', 'anonymousId'],
      ['invalid_characters', 'eventId'],
    ]);
  });
  it.each([
    ['GET', `/v1/users/${encodeURIComponent(sneaky)}`],
    ['GET', `/v1/users/${encodeURIComponent('u000\u0000 10')}/events`],
    ['GET', `/v1/users/${encodeURIComponent('\u200bu00010')}/traits`],
    ['PUT', `/v1/users/${encodeURIComponent('u00010\u2069')}/attributes`],
  ])('%s %s is a 400 naming `id`, never a lookup of a look-alike', async (method, path) => {
    const r = await raw(method, path, method === 'PUT' ? { body: '{"attributes":{"k":1}}', headers: { 'content-type': 'application/json' } } : {});
    expect(r.status).toBe(400);
    const body = await json(r);
    expect(body.error.code).toBe('validation_error');
    expect(body.error.details).toEqual([expect.objectContaining({ field: 'id' })]);
    expect(body.error.message).toMatch(/id: must not contain control, bidirectional/);
  });
  it('identify with a hidden character is a 400 naming the field', async () => {
    for (const [payload, field] of [
      [{ anonymousId: 'a\u0000', userId: 'b' }, 'anonymousId'],
      [{ anonymousId: 'a', userId: 'b\u202d' }, 'userId'],
    ] as const) {
      const r = await raw('POST', '/v1/identify', { body: JSON.stringify(payload), headers: { 'content-type': 'application/json' } });
      expect(r.status).toBe(400);
      expect((await json(r)).error.details).toEqual([expect.objectContaining({ field })]);
    }
  });
});

describe('attribute names with hidden characters are refused (issue 12.9)', () => {
  it('a name that would look like another attribute is a 400 naming it, with the character escaped', async () => {
    const r = await raw('PUT', '/v1/users/attr-user/attributes', {
      body: JSON.stringify({ attributes: { 'country\u202e': 'DE' } }),
      headers: { 'content-type': 'application/json' },
    });
    expect(r.status).toBe(400);
    const body = await json(r);
    expect(body.error.details).toEqual([expect.objectContaining({ field: 'attributes.country\\u{202e}' })]);
    const ok = await raw('PUT', '/v1/users/attr-user/attributes', {
      body: JSON.stringify({ attributes: { country: 'DE', Straße: 'x' } }),
      headers: { 'content-type': 'application/json' },
    });
    expect(ok.status).toBe(200);
  });
});
