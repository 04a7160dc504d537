import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.ts';
import { pipelineFor } from '../support/runtime.ts';
import { createTestApi, type TestApi } from '../support/api.ts';

let api: TestApi;
beforeEach(() => {
  api = createTestApi();
});
afterEach(() => api.cleanup());

const send = (events: unknown[]) => api.request('POST', '/v1/events', { key: api.keys['events:write'], json: { events } });

describe('traits API (offline extractor)', () => {
  it('serves traits with evidence, filters them, keeps history, and refreshes on demand', async () => {
    await send([
      { userId: 'ann', type: 'chat_message', text: 'I work as a nurse and I love hiking with my dog.', timestamp: '2026-05-01T10:00:00Z', eventId: 'c1' },
      { userId: 'ann', type: 'search', text: 'waterproof hiking boots', timestamp: '2026-05-02T10:00:00Z', eventId: 's1' },
    ]);
    const pipeline = pipelineFor(api.db, loadConfig({ TRAITLENS_DB: ':memory:' }), { embeddings: false });
    expect((await pipeline.createWorker().drain()).done).toBe(1);

    const r = await api.request('GET', '/v1/users/ann/traits', { key: api.keys['profiles:read'] });
    expect(r.status).toBe(200);
    const byKey = Object.fromEntries((r.body.traits as { key: string; value: unknown }[]).map((t) => [t.key, t]));
    expect(byKey.occupation).toMatchObject({ value: 'nurse', kind: 'semantic', producer: 'offline-extractor' });
    const occ = byKey.occupation as unknown as { evidence: { eventId: number; quote: string }[] };
    const events = (await api.request('GET', '/v1/users/ann/events', { key: api.keys['profiles:read'] })).body.events as { id: number; text: string }[];
    for (const ev of occ.evidence) expect(events.find((e) => e.id === ev.eventId)?.text).toContain(ev.quote);
    expect(r.body.profileVersion).toBeGreaterThan(0);

    const filtered = await api.request('GET', '/v1/users/ann/traits?key=occupation&minConfidence=0.5', { key: api.keys['profiles:read'] });
    expect((filtered.body.traits as unknown[]).length).toBe(1);
    const none = await api.request('GET', '/v1/users/ann/traits?kind=predicted', { key: api.keys['profiles:read'] });
    expect(none.body.traits).toEqual([]);
    const bad = await api.request('GET', '/v1/users/ann/traits?minConfidence=2', { key: api.keys['profiles:read'] });
    expect(bad.status).toBe(400);

    await send([{ userId: 'ann', type: 'chat_message', text: 'Since June I work as a paramedic.', timestamp: '2026-06-02T10:00:00Z', eventId: 'c2' }]);
    await pipeline.createWorker().drain();
    const h = await api.request('GET', '/v1/users/ann/traits/occupation/history', { key: api.keys['profiles:read'] });
    expect((h.body.versions as { value: string; validTo: string | null }[]).map((v) => [v.value, v.validTo === null])).toEqual([
      ['paramedic', true],
      ['nurse', false],
    ]);

    const refresh = await api.request('POST', '/v1/users/ann/refresh', { key: api.keys['events:write'], json: {} });
    expect(refresh.status).toBe(202);
    expect(refresh.body).toMatchObject({ queued: true, signalsToReread: 3 });
    expect((await pipeline.createWorker().drain()).done).toBe(1);
    const unknown = await api.request('POST', '/v1/users/nobody/refresh', { key: api.keys['events:write'], json: {} });
    expect(unknown.status).toBe(404);
  });
});
