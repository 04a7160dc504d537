import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';

let api: TestApi;
beforeAll(() => {
  api = createTestApi({ TRAITLENS_MAX_BATCH_EVENTS: '50', TRAITLENS_MAX_TEXT_CHARS: '500' });
});
afterAll(() => api.cleanup());

const post = (events: unknown, key?: string) => api.request('POST', '/v1/events', { json: events, ...(key ? { key } : {}) });
const count = (sql: string, ...args: unknown[]) => (api.db.sqlite.prepare(sql).get(...args) as { n: number }).n;
const HOUR = 3_600_000;

describe('POST /v1/events validation', () => {
  const base = { userId: 'val-user', type: 'page_view', timestamp: '2026-01-15T10:00:00Z' };
  const cases: [string, Record<string, unknown>, string, string][] = [
    ['missing identity', { type: 'page_view' }, 'missing_identity', 'userId'],
    ['unknown field', { ...base, timestmap: '2026-01-01' }, 'unknown_field', 'timestmap'],
    ['bad timestamp', { ...base, timestamp: 'yesterday' }, 'invalid_timestamp', 'timestamp'],
    ['impossible date', { ...base, timestamp: '2026-02-31' }, 'invalid_timestamp', 'timestamp'],
    ['future timestamp', { ...base, timestamp: new Date(Date.now() + 48 * HOUR).toISOString() }, 'timestamp_in_future', 'timestamp'],
    ['non-numeric price', { ...base, type: 'purchase', properties: { price: 'cheap' } }, 'invalid_number', 'properties.price'],
    ['negative quantity', { ...base, type: 'purchase', properties: { price: 3, quantity: -1 } }, 'impossible_value', 'properties.quantity'],
    ['too long text', { ...base, type: 'search', text: 'x'.repeat(501) }, 'too_long', 'text'],
    ['missing text for chat_message', { ...base, type: 'chat_message' }, 'missing_text', 'text'],
    ['empty type', { ...base, type: '' }, 'empty_field', 'type'],
    ['not an object', 42 as unknown as Record<string, unknown>, 'not_an_object', ''],
  ];
  it.each(cases)('%s → rejected with reason and field', async (_name, event, reason, field) => {
    const r = await post({ events: [event] });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ accepted: 0, duplicates: 0, rejected: 1 });
    expect(r.body.results[0]).toMatchObject({ index: 0, status: 'rejected', reason, field });
    expect(typeof r.body.results[0].message).toBe('string');
  });

  it('one bad event does not reject its neighbours, and results keep request order', async () => {
    const r = await post([
      { userId: 'nb', type: 'page_view', eventId: 'nb-1' },
      { userId: 'nb', type: 'purchase', properties: { price: 'NaN-ish' }, eventId: 'nb-2' },
      { userId: 'nb', type: 'search', text: 'trail shoes', eventId: 'nb-3' },
    ]);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ accepted: 2, duplicates: 0, rejected: 1 });
    expect(r.body.results.map((o: { index: number; status: string }) => [o.index, o.status])).toEqual([
      [0, 'accepted'],
      [1, 'rejected'],
      [2, 'accepted'],
    ]);
    expect(r.body.results[1]).toMatchObject({ eventId: 'nb-2', reason: 'invalid_number', field: 'properties.price' });
    const stored = await api.request('GET', '/v1/users/nb/events');
    expect(stored.body.events.map((e: { eventId: string }) => e.eventId).sort()).toEqual(['nb-1', 'nb-3']);
  });

  it('an empty batch is a 400, in both shapes', async () => {
    for (const body of [[], { events: [] }]) {
      const r = await post(body);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('validation_error');
    }
  });

  it('a body that is neither an array nor {events} is a 400 naming the problem', async () => {
    for (const body of [{ event: [] }, { events: 'x' }, 'hello', null, { events: [], extra: 1 }]) {
      const r = await post(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe('validation_error');
      expect(Array.isArray(r.body.error.details)).toBe(true);
    }
  });

  it('more events than TRAITLENS_MAX_BATCH_EVENTS is a 413 and stores nothing', async () => {
    const before = count('SELECT count(*) AS n FROM events');
    const r = await post(Array.from({ length: 51 }, (_, i) => ({ userId: 'big', type: 'click', eventId: `big-${i}` })));
    expect(r.status).toBe(413);
    expect(r.body.error).toMatchObject({ code: 'payload_too_large', details: { maxEvents: 50, received: 51 } });
    expect(count('SELECT count(*) AS n FROM events')).toBe(before);
    const ok = await post(Array.from({ length: 50 }, (_, i) => ({ userId: 'big', type: 'click', eventId: `big-${i}` })));
    expect(ok.body.accepted).toBe(50);
  });
});

describe('cleaning is visible in stored data', () => {
  it('normalises type names, property keys, text (NFC) and numbers; clamps dwell', async () => {
    const decomposed = 'Cafe\u0301  au   lait'; // e + combining acute, runs of spaces
    const r = await post([
      { userId: 'clean', type: 'Page View', timestamp: '2026-01-10T08:00:00Z', properties: { 'Dwell MS': 999_999_999_999, pageURL: '/a' } },
      { userId: 'clean', type: 'purchase', timestamp: '2026-01-10T09:00:00Z', properties: { price: ' 19.90 ', Category: 'running', quantity: '2' } },
      { userId: 'clean', type: 'searchQuery', timestamp: '2026-01-10T10:00:00Z', text: ` ${decomposed} ` },
      { userId: 'clean', type: 'search', timestamp: '2026-01-10T11:00:00Z', text: decomposed },
    ]);
    expect(r.body.accepted).toBe(4);
    expect(r.body.results[0].warnings.map((w: { code: string }) => w.code)).toContain('value_clamped');
    expect(r.body.results[1].warnings.map((w: { code: string }) => w.code)).toContain('number_coerced');

    const page = await api.request('GET', '/v1/users/clean/events?limit=10');
    const byType = Object.fromEntries(page.body.events.map((e: { type: string }) => [e.type, e]));
    expect(Object.keys(byType).sort()).toEqual(['page_view', 'purchase', 'search', 'search_query']);
    expect(byType.page_view.properties).toEqual({ dwell_ms: 86_400_000, page_url: '/a' });
    expect(byType.page_view.flags).toContain('value_clamped');
    expect(byType.purchase.properties).toEqual({ price: 19.9, category: 'running', quantity: 2 });
    expect(byType.search.text).toBe('Caf\u00e9 au lait');
    expect(byType.search.text).toBe(byType.search.text.normalize('NFC'));
    expect(byType.search_query.text).toBe('Caf\u00e9 au lait');
    expect(byType.purchase.timestamp).toBe('2026-01-10T09:00:00.000Z');
  });

  it('a timestamp slightly in the future is clamped to the time received', async () => {
    const t0 = Date.now();
    const r = await post([{ userId: 'skew', type: 'click', timestamp: new Date(t0 + 2 * HOUR).toISOString() }]);
    expect(r.body.results[0].warnings.map((w: { code: string }) => w.code)).toContain('timestamp_clamped');
    const page = await api.request('GET', '/v1/users/skew/events');
    expect(Date.parse(page.body.events[0].timestamp)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(page.body.events[0].timestamp)).toBeGreaterThanOrEqual(t0 - 1000);
  });
});

describe('idempotency and duplicates', () => {
  const batch = Array.from({ length: 5 }, (_, i) => ({
    eventId: `idem-${i}`,
    userId: 'idem',
    type: 'product_view',
    timestamp: `2026-01-01T00:00:0${i}Z`,
    properties: { product_id: `p${i}`, category: 'books' },
  }));

  it('the same batch twice: the second is all duplicates and nothing is stored twice', async () => {
    const first = await post(batch);
    expect(first.body).toMatchObject({ accepted: 5, duplicates: 0, rejected: 0 });
    const second = await post(batch);
    expect(second.body).toMatchObject({ accepted: 0, duplicates: 5, rejected: 0 });
    for (const [i, o] of second.body.results.entries()) {
      expect(o).toMatchObject({ status: 'duplicate', eventId: `idem-${i}`, duplicateOf: first.body.results[i].id });
    }
    expect(count("SELECT count(*) AS n FROM events WHERE client_event_id LIKE 'idem-%'")).toBe(5);
    const profile = await api.request('GET', '/v1/users/idem');
    expect(profile.body.eventCount).toBe(5);
  });

  it('the same eventId with different content is rejected as event_id_reused', async () => {
    const r = await post([{ ...batch[0], properties: { product_id: 'other', category: 'books' } }]);
    expect(r.body).toMatchObject({ accepted: 0, duplicates: 0, rejected: 1 });
    expect(r.body.results[0]).toMatchObject({ status: 'rejected', reason: 'event_id_reused', field: 'eventId', eventId: 'idem-0' });
    expect(count("SELECT count(*) AS n FROM events WHERE client_event_id = 'idem-0'")).toBe(1);
  });

  it('exact repeats without an eventId are duplicates, within a batch and across batches', async () => {
    const e = { anonymousId: 'anon-dup', type: 'click', timestamp: '2026-01-02T00:00:00Z', properties: { item_id: 'i1' } };
    const r1 = await post([e, e, { ...e, properties: { item_id: 'i2' } }]);
    expect(r1.body).toMatchObject({ accepted: 2, duplicates: 1, rejected: 0 });
    expect(r1.body.results[1]).toMatchObject({ status: 'duplicate', duplicateOf: r1.body.results[0].id });
    const r2 = await post([e]);
    expect(r2.body).toMatchObject({ accepted: 0, duplicates: 1 });
    // same content at another time is a different event
    const r3 = await post([{ ...e, timestamp: '2026-01-02T00:00:01Z' }]);
    expect(r3.body.accepted).toBe(1);
    const stats = await api.request('GET', '/v1/stats');
    expect(stats.body.duplicatesDropped.byKind.content).toBeGreaterThanOrEqual(2);
  });
});
