import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { pipelineFor } from '../support/runtime.ts';

// Issue 16 item 12: `eventId` meant the client's string id on events but the server's number inside
// trait evidence. Evidence now names the event `event` (its `id` on the events page); `eventId` stays
// beside it, deprecated, with the same number, for clients written against 0.1.
let api: TestApi;
beforeEach(() => {
  api = createTestApi();
});
afterEach(() => api.cleanup());

describe('trait evidence names its event without reusing the client’s eventId', () => {
  it('evidence.event is the id of the event on GET /v1/users/:id/events; the client’s eventId is a string there', async () => {
    await api.request('POST', '/v1/events', {
      json: { events: [{ userId: 'ann', type: 'chat_message', text: 'I work as a nurse and I love hiking with my dog.', timestamp: '2026-05-01T10:00:00Z', eventId: 'chat-17' }] },
    });
    await pipelineFor(api.db, loadConfig({ TRAITLENS_DB: ':memory:' }), { embeddings: false })
      .createWorker()
      .drain();
    const traits = (await api.request('GET', '/v1/users/ann/traits')).body.traits as { key: string; evidence: Record<string, unknown>[] }[];
    const occupation = traits.find((t) => t.key === 'occupation')!;
    const events = (await api.request('GET', '/v1/users/ann/events')).body.events as { id: number; eventId: string; text: string }[];
    expect(events[0]!.eventId).toBe('chat-17');
    for (const ev of occupation.evidence) {
      expect(Object.keys(ev).sort()).toEqual(['event', 'eventId', 'quote']);
      const source = events.find((e) => e.id === ev.event)!;
      expect(source.text).toContain(ev.quote as string);
      expect(ev.eventId).toBe(ev.event); // the deprecated alias, a number, never the client's string
    }
    const doc = (await api.request('GET', '/openapi.json', { key: null })).body;
    // The answer lists `Trait`s, a named component the route's schema refers to.
    expect(JSON.stringify(doc.paths['/v1/users/{id}/traits'].get.responses['200'])).toContain('"$ref":"#/components/schemas/Trait"');
    const schema = JSON.stringify(doc.components.schemas.Trait);
    expect(schema).toContain('"deprecated":true');
    expect(schema).toMatch(/"event":\{[^}]*"type":"integer"/);
  });
});
