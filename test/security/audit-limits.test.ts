import { afterEach, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';

let api: TestApi | undefined;
afterEach(() => api?.cleanup());

describe('audit trail', () => {
  it('records every read of a profile, events, traits and export with key, route, user and time; GET /v1/audit filters and pages', async () => {
    api = createTestApi();
    const a = api;
    await a.request('POST', '/v1/events', {
      key: a.keys['events:write'],
      json: [
        { userId: 'alice', type: 'click' },
        { userId: 'bob', type: 'click' },
      ],
    });
    const reader = await a.store.keys.create('reader', ['profiles:read']);
    const t0 = Date.now();
    for (const path of ['/v1/users/alice', '/v1/users/alice/events', '/v1/users/alice/traits', '/v1/users/alice/traits/interest/history', '/v1/users/bob', '/v1/users/nobody'])
      await a.request('GET', path, { key: reader.secret });
    await a.request('GET', '/v1/users/bob/export');
    // Not audited: ingestion, stats, and requests refused before the read (no key, wrong scope).
    await a.request('GET', '/v1/stats');
    await a.request('GET', '/v1/users/alice', { key: null });
    await a.request('GET', '/v1/users/alice', { key: a.keys['events:write'] });

    const all = (await a.request('GET', '/v1/audit')).body.entries as { action: string; route: string; userId: string | null; keyId: string; status: number; at: string }[];
    expect(all.map((e) => `${e.action} ${e.route} ${e.userId} ${e.status}`)).toEqual([
      'user.export /v1/users/:id/export bob 200',
      'profile.read /v1/users/:id null 404',
      'profile.read /v1/users/:id bob 200',
      'traits.read /v1/users/:id/traits/:key/history alice 200',
      'traits.read /v1/users/:id/traits alice 200',
      'events.read /v1/users/:id/events alice 200',
      'profile.read /v1/users/:id alice 200',
    ]);
    expect(Date.parse(all[0]!.at)).toBeGreaterThanOrEqual(t0 - 1);
    const q = async (qs: string) => ((await a.request('GET', `/v1/audit?${qs}`)).body.entries as unknown[]).length;
    expect(await q(`key=${reader.id}`)).toBe(6);
    expect(await q('user=alice')).toBe(4);
    expect(await q('user=nobody')).toBe(0);
    expect(await q(`route=${encodeURIComponent('/v1/users/:id/traits')}`)).toBe(1);
    expect(await q('action=traits.read')).toBe(2);
    expect(await q(`since=${new Date(Date.now() + 60_000).toISOString()}`)).toBe(0);
    expect(await q(`until=${t0 - 1000}`)).toBe(0);
    // Paging: 3 + 3 + 1, no overlap.
    const seen: number[] = [];
    let cursor: string | null = '';
    let pages = 0;
    while (cursor !== null) {
      const r = await a.request('GET', `/v1/audit?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...(r.body.entries as { id: number }[]).map((e) => e.id));
      cursor = r.body.nextCursor;
      pages++;
    }
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(7);
    for (const bad of ['since=yesterday', 'limit=0', 'cursor=abc', 'until=1e400']) expect((await a.request('GET', `/v1/audit?${bad}`)).status, bad).toBe(400);
  });
});

describe('rate limits', () => {
  it('a key over its bucket gets 429 with Retry-After; other keys are unaffected; per-scope overrides apply', async () => {
    api = createTestApi({ TRAITLENS_RATE_LIMIT_RPS: '1', TRAITLENS_RATE_LIMIT_BURST: '3', TRAITLENS_RATE_LIMITS: 'events:write=1:10' });
    const a = api;
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await a.request('GET', '/v1/stats')).status);
    expect(codes).toEqual([200, 200, 200, 429, 429]);
    const r = await a.request('GET', '/v1/stats');
    expect(r.status).toBe(429);
    expect(r.body.error.code).toBe('rate_limited');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another key has its own bucket; public routes are not limited.
    expect((await a.request('GET', '/v1/users/x', { key: a.keys['profiles:read'] })).status).toBe(404);
    expect((await a.request('GET', '/healthz', { key: null })).status).toBe(200);
    // events:write has its own, larger bucket.
    const writes: number[] = [];
    for (let i = 0; i < 11; i++)
      writes.push((await a.request('POST', '/v1/events', { key: a.keys['events:write'], json: [{ userId: 'u', type: 'click', eventId: `e${i}` }] })).status);
    expect(writes.slice(0, 10).every((s) => s === 200)).toBe(true);
    expect(writes[10]).toBe(429);
  });

  it('refuses a malformed TRAITLENS_RATE_LIMITS at start-up', () => {
    expect(() => createTestApi({ TRAITLENS_RATE_LIMITS: 'everything=5' })).toThrow(/TRAITLENS_RATE_LIMITS/);
  });
});

describe('GET /metrics', () => {
  it('exposes request counts and latency by route pattern, ingestion outcomes, jobs by status and LLM usage in Prometheus text', async () => {
    api = createTestApi();
    const a = api;
    await a.request('POST', '/v1/events', {
      key: a.keys['events:write'],
      json: [{ userId: 'm1', type: 'click', eventId: 'x' }, { userId: 'm1', type: 'click', eventId: 'x' }, { type: 'click' }],
    });
    await a.request('GET', '/v1/users/m1');
    await a.request('GET', '/v1/users/someone-else');
    await a.request('GET', '/no/such/path', { key: null });
    a.db.sqlite
      .prepare(
        "INSERT INTO llm_calls (at, purpose, model, prompt_version, prompt_tokens, completion_tokens, status) VALUES (?, 'extract_traits', 'm', 'v1', 100, 20, 'ok'), (?, 'extract_traits', 'm', 'v1', 0, 0, 'error')",
      )
      .run(Date.now(), Date.now());
    const r = await a.request('GET', '/metrics', { key: null });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    const m = r.text;
    expect(m).toContain('traitlens_http_requests_total{method="GET",route="/v1/users/:id",status="200"} 1');
    expect(m).toContain('traitlens_http_requests_total{method="GET",route="/v1/users/:id",status="404"} 1');
    expect(m).toContain('traitlens_http_requests_total{method="GET",route="unmatched",status="404"} 1');
    expect(m).not.toContain('someone-else');
    expect(m).toMatch(/traitlens_http_request_duration_seconds_bucket\{le="0.1",method="POST",route="\/v1\/events",status="200"\} 1/);
    expect(m).toContain('traitlens_ingest_events_total{status="accepted"} 1');
    expect(m).toContain('traitlens_ingest_events_total{status="duplicate"} 1');
    expect(m).toContain('traitlens_ingest_events_total{status="rejected"} 1');
    expect(m).toContain('traitlens_jobs{status="pending"} 1');
    expect(m).toContain('traitlens_llm_calls_total{purpose="extract_traits",status="ok"} 1');
    expect(m).toContain('traitlens_llm_calls_total{purpose="extract_traits",status="error"} 1');
    expect(m).toContain('traitlens_llm_tokens_total{kind="prompt"} 100');
    expect(m).toContain('# TYPE traitlens_llm_tokens_total counter');
  });

  it('requires an admin key with TRAITLENS_METRICS_AUTH=true', async () => {
    api = createTestApi({ TRAITLENS_METRICS_AUTH: 'true' });
    expect((await api.request('GET', '/metrics', { key: null })).status).toBe(401);
    expect((await api.request('GET', '/metrics', { key: api.keys['profiles:read'] })).status).toBe(403);
    expect((await api.request('GET', '/metrics')).status).toBe(200);
  });
});
