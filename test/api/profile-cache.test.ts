import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { etagOf } from '../../src/api/middleware/etag/index.ts';
import { ProfileCache } from '../../src/api/profile-cache.ts';
import type { UserRow } from '../../src/db/stores/users.ts';
import { createRuntime } from '../../src/runtime/runtime.ts';
import { apiBackends } from '../support/api-backend.ts';
import { createTestApi, readResponse } from '../support/api.ts';
import { startTestServer } from '../support/server.ts';

const T0 = Date.now() - 3_600_000;

/**
 * The profile cache against writes from elsewhere: a reader app (cache on, as `serve` runs) and a
 * writer app on its own runtime over the same database (another process, as far as the reader can
 * tell; its cache off, so it is also the uncached answer to compare with). After every kind of write
 * the reader's answer must equal a fresh read, and differ from the one before (the write showed).
 */
describe.each(apiBackends())('profile cache ($name)', (backend) => {
  it.skipIf(!backend.available)('every write, from any runtime, shows in the next cached read', async () => {
    const reader = await backend.open();
    const writerRt = await createRuntime({ ...reader.config, TRAITLENS_PROFILE_CACHE_MB: 0 });
    try {
      const writer = createApp(writerRt);
      const w = async (method: string, path: string, json?: unknown) => {
        const headers: Record<string, string> = { authorization: `Bearer ${reader.keys.admin}` };
        if (json !== undefined) headers['content-type'] = 'application/json';
        return readResponse(await writer.request(path, { method, headers, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) }));
      };
      const events = (list: Record<string, unknown>[]) => w('POST', '/v1/events', list);
      let previous: unknown;
      const check = async (label: string, ref = 'ann') => {
        const cached = await reader.request('GET', `/v1/users/${ref}`);
        const fresh = await w('GET', `/v1/users/${ref}`);
        expect(cached.status, label).toBe(200);
        expect(cached.body, label).toEqual(fresh.body);
        expect(cached.body, `${label}: the write shows`).not.toEqual(previous);
        previous = cached.body;
      };

      expect((await events([{ userId: 'ann', eventId: 'e1', type: 'page_view', timestamp: T0 }])).status).toBe(200);
      await check('first read');
      // A second read is a hit: the same answer, the same ETag, and a 304 for it.
      const again = await reader.request('GET', '/v1/users/ann');
      expect(again.body).toEqual(previous);
      const tag = again.headers.get('etag');
      expect(tag).toMatch(/^"[0-9a-f]{40}"$/);
      const notModified = await reader.app.request('/v1/users/ann', { headers: { authorization: `Bearer ${reader.keys.admin}`, 'if-none-match': tag! } });
      expect(notModified.status).toBe(304);

      await events([{ userId: 'ann', eventId: 'e2', type: 'purchase', timestamp: T0 + 1000, properties: { price: 12 } }]);
      await check('an event');
      expect((await w('POST', '/v1/identify', { anonymousId: 'anon-new', userId: 'ann' })).status).toBe(200);
      await check('a new alias (identify, no event)');
      expect((await w('PUT', '/v1/users/ann/attributes', { attributes: { plan: 'pro' } })).status).toBe(200);
      await check('an attribute');
      expect((await w('PUT', '/v1/users/ann/attributes', { attributes: {}, consent: { marketing: false } })).status).toBe(200);
      await check('consent');
      await events([{ userId: 'ann', eventId: 'e3', type: 'chat_message', text: 'I work as a nurse and I love hiking with my dog', timestamp: T0 + 2000 }]);
      await check('a chat message');
      await writerRt.pipeline.createWorker({ baseDelayMs: 0 }).drain();
      await check('the refresh (traits from the worker)');
      const annId = (await writerRt.store.users.require('ann')).id;
      await writerRt.store.traits.merge({
        userId: annId,
        kind: 'semantic',
        now: T0 + 3000,
        plan: () => ({
          changes: [
            { op: 'insert' as const, ref: -1, trait: { key: 'diet', value: 'vegan', kind: 'semantic' as const, confidence: 0.7, evidence: [], producer: 'p', version: '1' } },
          ],
          result: null,
        }),
      });
      await check('a trait written by the store directly');
      await events([{ anonymousId: 'anon-old', eventId: 'e4', type: 'click', timestamp: T0 + 4000 }]);
      expect((await w('POST', '/v1/identify', { anonymousId: 'anon-old', userId: 'ann' })).status).toBe(200);
      await check('a merge');
      // Read by alias too, then erase elsewhere: neither reference answers.
      expect((await reader.request('GET', '/v1/users/anon-new')).status).toBe(200);
      expect((await w('DELETE', '/v1/users/ann')).status).toBe(200);
      expect((await reader.request('GET', '/v1/users/ann')).status).toBe(404);
      expect((await reader.request('GET', '/v1/users/anon-new')).status).toBe(404);
    } finally {
      await writerRt.close();
      await reader.cleanup();
    }
  });
});

describe('a cached answer on the wire (the real server)', () => {
  it('is byte for byte the answer built on a miss: body, length, type and ETag', async () => {
    const s = await startTestServer({ TRAITLENS_WORKER: 'false' });
    try {
      const put = await fetch(`${s.url}/v1/users/zoë/attributes`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${s.keys['events:write']}`, 'content-type': 'application/json' },
        body: JSON.stringify({ attributes: { city: 'Zürich', note: 'café – 東京 🙂' } }),
      });
      expect(put.status).toBe(200);
      const read = async () => {
        const res = await fetch(`${s.url}/v1/users/${encodeURIComponent('zoë')}`, { headers: { authorization: `Bearer ${s.keys['profiles:read']}` } });
        return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
      };
      const miss = await read();
      const hit = await read();
      for (const r of [miss, hit]) {
        expect(r.status).toBe(200);
        expect(r.headers.get('content-type')).toBe('application/json');
        expect(Number(r.headers.get('content-length'))).toBe(r.bytes.length);
        expect(r.headers.get('etag')).toBe(`"${createHash('sha1').update(r.bytes).digest('hex')}"`);
      }
      expect(hit.bytes.equals(miss.bytes)).toBe(true);
      expect(hit.headers.get('etag')).toBe(miss.headers.get('etag'));
      expect((JSON.parse(hit.bytes.toString('utf8')) as { attributes: unknown }).attributes).toEqual({ city: 'Zürich', note: 'café – 東京 🙂' });
      const text = await (await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${s.keys.admin}` } })).text();
      expect(text).toContain('traitlens_profile_cache_reads_total{result="hit"} 1');
    } finally {
      await s.server.close();
      s.cleanup();
    }
  });
});

describe('GET /metrics', () => {
  it('counts profile reads answered from the cache and not, and the memory held', async () => {
    const api = createTestApi();
    try {
      expect((await api.request('POST', '/v1/events', { key: api.keys['events:write'], json: [{ userId: 'ann', type: 'click' }] })).status).toBe(200);
      for (let i = 0; i < 3; i++) expect((await api.request('GET', '/v1/users/ann')).status).toBe(200);
      const text = (await api.request('GET', '/metrics')).text;
      expect(text).toContain('traitlens_profile_cache_reads_total{result="hit"} 2');
      expect(text).toContain('traitlens_profile_cache_reads_total{result="miss"} 1');
      expect(Number(/^traitlens_profile_cache_bytes (\d+)$/m.exec(text)?.[1])).toBeGreaterThan(256);
    } finally {
      api.cleanup();
    }
  });
});

describe('ProfileCache', () => {
  const row = (over: Partial<UserRow> = {}): UserRow => ({
    id: 1,
    externalId: 'ann',
    attributes: '{}',
    consent: null,
    eventCount: 1,
    firstEventAt: 1,
    lastEventAt: 1,
    profileVersion: 0,
    dataVersion: 0,
    createdAt: 1,
    updatedAt: 1,
    ...over,
  });

  it('serves an answer only for the same row, every column', () => {
    const c = new ProfileCache({ maxBytes: 1 << 20, ttlMs: 60_000 });
    const { etag } = c.set('ann', row(), '{"a":1}');
    expect(c.get('ann', row())).toMatchObject({ body: new TextEncoder().encode('{"a":1}'), etag });
    for (const changed of [{ dataVersion: 1 }, { eventCount: 2 }, { consent: '{"marketing":false}' }, { id: 2 }, { updatedAt: 2 }] as Partial<UserRow>[]) {
      c.set('ann', row(), '{"a":1}');
      expect(c.get('ann', row(changed)), JSON.stringify(changed)).toBeUndefined();
      // ...and the stale answer is gone, not only skipped.
      expect(c.get('ann', row())).toBeUndefined();
    }
  });

  it('keeps to its memory, dropping the least recently served first', () => {
    const text = 'x'.repeat(1000);
    const c = new ProfileCache({ maxBytes: 3 * (1000 + 3 + 256), ttlMs: 60_000 });
    for (const ref of ['u_1', 'u_2', 'u_3']) c.set(ref, row(), text);
    expect(c.size).toBe(3);
    c.get('u_1', row()); // u_2 is now the least recently served
    c.set('u_4', row(), text);
    expect(c.size).toBe(3);
    expect(c.get('u_2', row())).toBeUndefined();
    expect(c.get('u_1', row())).toBeDefined();
    // An answer larger than the whole budget is not kept.
    c.set('big', row(), 'y'.repeat(10_000));
    expect(c.get('big', row())).toBeUndefined();
    // Off: nothing kept, the ETag still computed.
    const off = new ProfileCache({ maxBytes: 0, ttlMs: 60_000 });
    expect(off.set('ann', row(), text).etag).toMatch(/^"[0-9a-f]{40}"$/);
    expect(off.size).toBe(0);
  });

  it('keeps the UTF-8 bytes of the answer, tagged as the text is, each in a buffer of its own', () => {
    const text = JSON.stringify({ city: 'Zürich', note: 'café – 東京 🙂' });
    const bytes = Buffer.from(text, 'utf8');
    const c = new ProfileCache({ maxBytes: 1 << 20, ttlMs: 60_000 });
    const answer = c.set('ann', row(), text);
    expect(Buffer.from(answer.body).equals(bytes)).toBe(true);
    expect(answer.etag).toBe(`"${createHash('sha1').update(text, 'utf8').digest('hex')}"`);
    expect(answer.etag).toBe(etagOf(text));
    // Not a slice of a shared pool: a cached answer holds only its own bytes.
    expect(answer.body.buffer.byteLength).toBe(bytes.length);
    expect(Buffer.from(c.get('ann', row())!.body).equals(bytes)).toBe(true);
    // Memory is counted in bytes, not characters: a budget for the characters is too small.
    const tight = new ProfileCache({ maxBytes: text.length + 3 + 256, ttlMs: 60_000 });
    tight.set('ann', row(), text);
    expect(tight.size).toBe(0);
  });

  it('drops answers older than the TTL (sweep and on read), and a user on erasure', () => {
    let now = 0;
    const c = new ProfileCache({ maxBytes: 1 << 20, ttlMs: 1000, now: () => now });
    c.set('ann', row(), '{}');
    c.set('anon-1', row(), '{}');
    c.set('bob', row({ id: 2 }), '{}');
    now = 999;
    expect(c.get('ann', row())).toBeDefined();
    now = 1000;
    expect(c.get('ann', row())).toBeUndefined();
    c.sweep();
    expect(c.size).toBe(0);
    c.set('ann', row(), '{}');
    c.set('anon-1', row(), '{}');
    c.set('bob', row({ id: 2 }), '{}');
    c.forgetUser(1);
    expect(c.size).toBe(1);
    expect(c.get('bob', row({ id: 2 }))).toBeDefined();
  });
});
