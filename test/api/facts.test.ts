import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TraitChange } from '../../src/db/stores/traits.ts';
import { apiBackends, type BackendApi } from '../support/api-backend.ts';

/**
 * Facts through the API on every backend: they are traits of kind `fact`, so the traits routes
 * list them (`?kind=fact`), the history route keeps a superseded one, free-text user search finds
 * the user by them (they fold into the vector's text block), export returns them and erasure
 * removes them. The facts are written through the store exactly as the trait stage writes them
 * (the stage itself is covered in test/traits/facts-stage.test.ts); everything else is HTTP.
 */
const T0 = Date.now() - 5 * 86_400_000;
const USERS = ['f1', 'f2', 'f3', 'f4'];
const TEXT = 'i spend my weekends at home';

describe.each(apiBackends())('facts through the API [$name]', (backend) => {
  describe.skipIf(!backend.available)('scenarios', () => {
    let api: BackendApi;
    const req = (method: string, path: string, json?: unknown) => api.request(method, path, json === undefined ? {} : { json });
    const drain = () => api.runtime.pipeline.createWorker({ baseDelayMs: 0 }).drain();
    let f1: number;
    let chat: number;

    beforeAll(async () => {
      api = await backend.open({ TRAITLENS_INDEX_SAVE_MS: '0' });
      const r = await req('POST', '/v1/events', {
        events: USERS.flatMap((u, i) => [
          { eventId: `${u}-chat`, userId: u, type: 'chat_message', text: TEXT, timestamp: T0 + i * 1000 },
          { eventId: `${u}-view`, userId: u, type: 'page_view', properties: { url: '/home' }, timestamp: T0 + i * 1000 + 500 },
        ]),
      });
      expect(r.status, r.text).toBe(200);
      await drain();
      f1 = (await api.runtime.store.users.require('f1')).id;
      const events = await req('GET', '/v1/users/f1/events?type=chat_message');
      chat = events.body.events[0].id;
    }, 60_000);
    afterAll(async () => {
      await api?.cleanup();
    });

    const fact = (key: string, value: string) => ({
      key,
      value,
      kind: 'fact' as const,
      confidence: 0.9,
      evidence: [{ eventId: chat, quote: TEXT }],
      producer: 'openai:test-model',
      version: 'extract-traits.v2',
    });
    const write = (now: number, changes: TraitChange[]) => api.runtime.store.traits.merge({ userId: f1, kind: 'fact', now, plan: () => ({ changes, result: null }) });

    it('free-text search finds the user by a fact once the vector is refreshed (the text alone ties every user)', async () => {
      const before = await req('POST', '/v1/search/users', { query: 'reads lots of books every year', k: 4 });
      expect(before.status, before.text).toBe(200);
      const scoreOf = (r: typeof before, u: string) => r.body.results.find((x: { userId: string }) => x.userId === u)?.score as number;
      expect(before.body.results).toHaveLength(4);
      expect(new Set(before.body.results.map((x: { score: number }) => x.score)).size).toBe(1);

      const first = await write(T0 + 10_000, [
        { op: 'insert', ref: -1, trait: fact('fact:reading', 'reads about 20 books a year') },
        { op: 'insert', ref: -2, trait: fact('fact:residence', 'lives in ohio') },
      ]);
      await write(T0 + 20_000, [
        { op: 'insert', ref: -1, trait: fact('fact:residence', 'moved to lisbon last month') },
        { op: 'close', id: first.inserted.get(-2)!, supersededBy: -1 },
      ]);
      await api.runtime.store.traits.requestReread(f1, Date.now());
      await drain();

      const after = await req('POST', '/v1/search/users', { query: 'reads lots of books every year', k: 4 });
      expect(after.body.results[0].userId).toBe('f1');
      expect(scoreOf(after, 'f1')).toBeGreaterThan(scoreOf(before, 'f1'));
      expect(scoreOf(after, 'f2')).toBe(scoreOf(before, 'f2'));
    });

    it('kind=fact lists the facts with their evidence; the unfiltered list holds them beside the traits; a bad kind is a 400', async () => {
      const r = await req('GET', '/v1/users/f1/traits?kind=fact');
      expect(r.status, r.text).toBe(200);
      // The offline extractor may keep a fact of its own from the chat text: these are the ones written here.
      const ours = (list: { producer: string; kind: string }[]) => list.filter((t) => t.kind === 'fact' && t.producer === 'openai:test-model');
      expect(r.body.traits.every((t: { kind: string }) => t.kind === 'fact')).toBe(true);
      expect(ours(r.body.traits).map((t: any) => [t.key, t.value])).toEqual([
        ['fact:reading', 'reads about 20 books a year'],
        ['fact:residence', 'moved to lisbon last month'],
      ]);
      expect(ours(r.body.traits)[0]).toMatchObject({
        kind: 'fact',
        confidence: 0.9,
        evidence: [{ eventId: chat, quote: TEXT }],
        producer: 'openai:test-model',
        version: 'extract-traits.v2',
        validTo: null,
      });
      const all = await req('GET', '/v1/users/f1/traits');
      expect(ours(all.body.traits)).toHaveLength(2);
      expect(all.body.traits.some((t: { kind: string }) => t.kind !== 'fact')).toBe(true);
      const profile = await req('GET', '/v1/users/f1');
      expect(ours(profile.body.traits)).toHaveLength(2);
      const bad = await req('GET', '/v1/users/f1/traits?kind=facts');
      expect(bad.status).toBe(400);
    });

    it('the history route keeps the superseded fact with the time it stopped holding', async () => {
      const h = await req('GET', `/v1/users/f1/traits/${encodeURIComponent('fact:residence')}/history`);
      expect(h.status, h.text).toBe(200);
      expect(h.body.versions.map((v: { value: string; validTo: string | null }) => [v.value, v.validTo === null])).toEqual([
        ['moved to lisbon last month', true],
        ['lives in ohio', false],
      ]);
      expect(h.body.versions[1].supersededBy).toBe(h.body.versions[0].id);
    });

    it('export returns the facts, current and superseded, with their evidence; erasure removes them', async () => {
      const ex = await req('GET', '/v1/users/f1/export');
      expect(ex.status, ex.text).toBe(200);
      const facts = JSON.stringify(ex.body).match(/fact:(reading|residence)/g) ?? [];
      expect(facts.length).toBeGreaterThanOrEqual(3);
      for (const s of ['reads about 20 books a year', 'moved to lisbon last month', 'lives in ohio']) expect(ex.text).toContain(s);

      const d = await req('DELETE', '/v1/users/f1');
      expect(d.status, d.text).toBe(200);
      expect(d.body).toMatchObject({ erased: true, failed: [] });
      expect(d.body.removed.traits).toBeGreaterThanOrEqual(3);
      expect(await api.runtime.store.traits.history(f1, 'fact:residence')).toEqual([]);
      expect(await api.runtime.store.traits.history(f1, 'fact:reading')).toEqual([]);
      const s = await req('POST', '/v1/search/users', { query: 'reads lots of books every year', k: 4 });
      expect(s.body.results.map((x: { userId: string }) => x.userId)).not.toContain('f1');
    });
  });
});
