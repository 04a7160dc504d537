import { createHash } from 'node:crypto';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { etag, jsonAnswer } from '../../src/api/middleware/etag/index.ts';
import type { ApiEnv } from '../../src/api/types.ts';
import { createTestApi, type TestApi } from '../support/api.ts';

const sha1Tag = (text: string) => `"${createHash('sha1').update(text).digest('hex')}"`;

let api: TestApi | undefined;
afterEach(() => api?.cleanup());

describe('ETag value', () => {
  it('is the SHA-1 of the exact answer text on the profile read', async () => {
    api = createTestApi();
    await api.request('POST', '/v1/events', { json: [{ userId: 'ann', type: 'click', properties: { item_id: 'a' } }] });
    const r = await api.request('GET', '/v1/users/ann');
    expect(r.status).toBe(200);
    expect(r.headers.get('etag')).toBe(sha1Tag(r.text));
  });

  it('is the same hash whether the answer was built by jsonAnswer or read back from the body', async () => {
    const app = new Hono<ApiEnv>();
    const data = { a: 'é', n: [1, 2, 3], nested: { ok: true } };
    app.get('/remembered', etag(), (c) => jsonAnswer(c, data));
    app.get('/read-back', etag(), (c) => c.json(data));
    const a = await app.request('/remembered');
    const b = await app.request('/read-back');
    const text = await a.text();
    expect(await b.text()).toBe(text);
    expect(a.headers.get('etag')).toBe(sha1Tag(text));
    expect(b.headers.get('etag')).toBe(sha1Tag(text));
  });
});
