import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';

let api: TestApi;
beforeAll(() => {
  api = createTestApi();
});
afterAll(() => api.cleanup());

const post = (events: unknown) => api.request('POST', '/v1/events', { json: events });
const identify = (anonymousId: unknown, userId: unknown) => api.request('POST', '/v1/identify', { json: { anonymousId, userId } });

describe('identify and merge', () => {
  it('moves an anonymous user’s events to the known user, with counts and times right', async () => {
    await post([
      { userId: 'alice', type: 'page_view', timestamp: '2026-01-05T00:00:00Z', properties: { dwell_ms: 10 } },
      { userId: 'alice', type: 'page_view', timestamp: '2026-01-06T00:00:00Z', properties: { dwell_ms: 20 } },
      { anonymousId: 'dev-1', type: 'search', timestamp: '2026-01-01T00:00:00Z', text: 'tents' },
      { anonymousId: 'dev-1', type: 'click', timestamp: '2026-01-09T00:00:00Z', properties: { item_id: 'x' } },
      { anonymousId: 'dev-1', type: 'click', timestamp: '2026-01-08T00:00:00Z', properties: { item_id: 'y' } },
    ]);
    const r = await identify('dev-1', 'alice');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ status: 'merged', userId: 'alice', movedEvents: 3 });

    const p = await api.request('GET', '/v1/users/alice');
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({
      id: 'alice',
      known: true,
      eventCount: 5,
      firstEventAt: '2026-01-01T00:00:00.000Z',
      lastEventAt: '2026-01-09T00:00:00.000Z',
      eventCounts: { page_view: 2, search: 1, click: 2 },
    });
    expect(p.body.identities.map((i: { kind: string; alias: string }) => `${i.kind}:${i.alias}`).sort()).toEqual(['anonymous:dev-1', 'user:alice']);
    // the anonymous id now resolves to the same profile
    const viaAlias = await api.request('GET', '/v1/users/dev-1');
    expect(viaAlias.body.id).toBe('alice');
    const events = await api.request('GET', '/v1/users/alice/events');
    expect(events.body.events).toHaveLength(5);
    const users = api.db.sqlite.prepare('SELECT count(*) AS n FROM users').get() as { n: number };
    expect(users.n).toBe(1);
  });

  it('is idempotent', async () => {
    const again = await identify('dev-1', 'alice');
    expect(again.body).toEqual({ status: 'unchanged', userId: 'alice', movedEvents: 0 });
    const p = await api.request('GET', '/v1/users/alice');
    expect(p.body.eventCount).toBe(5);
  });

  it('links an unseen anonymous id and later events follow it', async () => {
    const r = await identify('dev-2', 'alice');
    expect(r.body.status).toBe('linked');
    await post([{ anonymousId: 'dev-2', type: 'click', timestamp: '2026-01-10T00:00:00Z', properties: { item_id: 'z' } }]);
    const p = await api.request('GET', '/v1/users/alice');
    expect(p.body.eventCount).toBe(6);
  });

  it('an anonymous id that belongs to another known user is a 409 identity_conflict', async () => {
    await identify('dev-3', 'bob');
    const r = await identify('dev-3', 'alice');
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({ code: 'identity_conflict', details: { field: 'anonymousId' } });
  });

  it('validates its body: both ids required, strings or non-negative integers, no other fields', async () => {
    expect((await api.request('POST', '/v1/identify', { json: { anonymousId: 'a' } })).status).toBe(400);
    expect((await identify('', 'x')).status).toBe(400);
    expect((await identify('a', 'x'.repeat(257))).status).toBe(400);
    expect((await api.request('POST', '/v1/identify', { json: { anonymousId: 'a', userId: 'b', extra: 1 } })).status).toBe(400);
    const numeric = await identify(123, 456);
    expect(numeric.status).toBe(200);
    expect(numeric.body.userId).toBe('456');
  });
});

describe('attributes', () => {
  it('sets attributes and consent, creating the user, and returns the effective state', async () => {
    const r = await api.request('PUT', '/v1/users/carol/attributes', {
      json: { attributes: { plan: 'pro', age_band: '25-34', prefs: { sizes: [42, 43] } }, consent: { marketing: true } },
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      id: 'carol',
      attributes: { plan: 'pro', age_band: '25-34', prefs: { sizes: [42, 43] } },
      consent: { profiling: true, llm_processing: true, marketing: true },
    });
  });

  it('keeps the history of declared values as traits; null removes', async () => {
    await api.request('PUT', '/v1/users/carol/attributes', { json: { attributes: { plan: 'team' } } });
    await api.request('PUT', '/v1/users/carol/attributes', { json: { attributes: { plan: 'team', age_band: null }, consent: { llm_processing: false } } });
    const p = await api.request('GET', '/v1/users/carol');
    expect(p.body.attributes).toEqual({ plan: 'team', prefs: { sizes: [42, 43] } });
    expect(p.body.consent).toEqual({ profiling: true, llm_processing: false, marketing: true });
    const current = Object.fromEntries(p.body.traits.map((t: { key: string; value: unknown }) => [t.key, t.value]));
    expect(current).toEqual({ plan: 'team', prefs: { sizes: [42, 43] } });
    for (const t of p.body.traits) expect(t).toMatchObject({ kind: 'declared', confidence: 1, validTo: null, producer: 'client' });

    const history = api.db.sqlite
      .prepare(
        "SELECT t.key, t.value, t.valid_to IS NOT NULL AS closed, t.superseded_by FROM traits t JOIN identities i ON i.user_id = t.user_id WHERE i.alias = 'carol' AND t.key IN ('plan', 'age_band') ORDER BY t.id",
      )
      .all() as { key: string; value: string; closed: number; superseded_by: number | null }[];
    expect(history.map((h) => [h.key, JSON.parse(h.value), h.closed])).toEqual([
      ['plan', 'pro', 1],
      ['age_band', '25-34', 1],
      ['plan', 'team', 0],
    ]);
    expect(history[0]!.superseded_by).not.toBeNull();
    expect(history[1]!.superseded_by).toBeNull(); // removed, not replaced
  });

  it('rejects bad attribute names with 400 and field details', async () => {
    const bad: [string, Record<string, unknown>][] = [
      ['empty', { '': 1 }],
      ['too long', { ['k'.repeat(101)]: 1 }],
      ['too many', Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, i]))],
    ];
    for (const [name, attributes] of bad) {
      const r = await api.request('PUT', '/v1/users/carol/attributes', { json: { attributes } });
      expect(r.status, name).toBe(400);
      expect(r.body.error.code).toBe('validation_error');
      expect(r.body.error.details[0].field).toMatch(/^attributes/);
    }
    const proto = await api.request('PUT', '/v1/users/carol/attributes', {
      body: '{"attributes":{"__proto__":{"admin":true}}}',
      headers: { 'content-type': 'application/json' },
    });
    expect(proto.status).toBe(400);
    const ok = await api.request('PUT', '/v1/users/carol/attributes', { json: { attributes: { ['k'.repeat(100)]: null } } });
    expect(ok.status).toBe(200);
  });

  it('validates the body shape and consent flags', async () => {
    expect((await api.request('PUT', '/v1/users/carol/attributes', { json: { plan: 'x' } })).status).toBe(400);
    expect((await api.request('PUT', '/v1/users/carol/attributes', { json: { attributes: [] } })).status).toBe(400);
    const c = await api.request('PUT', '/v1/users/carol/attributes', { json: { attributes: {}, consent: { marketing: 'yes' } } });
    expect(c.status).toBe(400);
    expect(c.body.error.details[0].field).toBe('consent.marketing');
  });
});

describe('GET /v1/users/:id', () => {
  it('is 404 for an unknown user', async () => {
    const r = await api.request('GET', '/v1/users/nobody-here');
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('not_found');
  });

  it('finds ids after the same NFC normalisation ingestion applies', async () => {
    await post([{ userId: 'Jose\u0301', type: 'click', properties: { item_id: 'a' } }]);
    const r = await api.request('GET', `/v1/users/${encodeURIComponent('Jos\u00e9')}`);
    expect(r.status).toBe(200);
    expect(r.body.id).toBe('Jos\u00e9');
  });

  it('an anonymous-only user is reported by its anonymous id', async () => {
    await post([{ anonymousId: 'only-anon', type: 'click', properties: { item_id: 'a' } }]);
    const r = await api.request('GET', '/v1/users/only-anon');
    expect(r.body).toMatchObject({ id: 'only-anon', known: false, eventCount: 1 });
  });
});

describe('GET /v1/users/:id/events paging', () => {
  beforeAll(async () => {
    // 25 events, 5 sharing one timestamp to exercise the (ts, id) tie-break
    const events = Array.from({ length: 25 }, (_, i) => ({
      userId: 'pager',
      eventId: `pg-${i}`,
      type: i % 2 ? 'click' : 'page_view',
      timestamp: Date.UTC(2026, 0, 1) + Math.max(i, 5) * 1000,
      properties: { n: i },
    }));
    const r = await post(events);
    expect(r.body.accepted).toBe(25);
  });

  it('walks every event exactly once, newest first', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `/v1/users/pager/events?limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await api.request('GET', q);
      expect(r.status).toBe(200);
      expect(r.body.events.length).toBeLessThanOrEqual(7);
      seen.push(...r.body.events.map((e: { properties: { n: number } }) => e.properties.n));
      cursor = r.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(4);
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
    expect(seen[0]).toBe(24);
  });

  it('defaults to 100 and filters by (normalised) type', async () => {
    const all = await api.request('GET', '/v1/users/pager/events');
    expect(all.body.events).toHaveLength(25);
    expect(all.body.nextCursor).toBeNull();
    const clicks = await api.request('GET', '/v1/users/pager/events?type=Click');
    expect(clicks.body.events).toHaveLength(12);
    expect(clicks.body.events.every((e: { type: string }) => e.type === 'click')).toBe(true);
  });

  it('rejects a bad limit or cursor with 400', async () => {
    for (const q of ['limit=0', 'limit=1001', 'limit=abc', 'limit=1.5', 'limit=-1']) {
      const r = await api.request('GET', `/v1/users/pager/events?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.error.details[0].field).toBe('limit');
    }
    for (const cursor of ['not-a-cursor', Buffer.from('1:2:3').toString('base64url'), Buffer.from(`${'9'.repeat(400)}:1`).toString('base64url'), 'x'.repeat(201)]) {
      const r = await api.request('GET', `/v1/users/pager/events?cursor=${encodeURIComponent(cursor)}`);
      expect(r.status, cursor).toBe(400);
    }
    const r = await api.request('GET', '/v1/users/pager/events?cursor=not-a-cursor');
    expect(r.body.error.code).toBe('invalid_cursor');
  });

  it('is 404 for an unknown user', async () => {
    expect((await api.request('GET', '/v1/users/nope/events')).status).toBe(404);
  });
});
