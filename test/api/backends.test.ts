import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiBackends, type BackendApi } from '../support/api-backend.ts';

/**
 * The API and the pipeline end to end, the same scenarios and expectations on every backend: a
 * SQLite file and PostgreSQL + pgvector (a fresh schema, migrated by createRuntime). Each backend
 * builds the runtime the way the server does (createRuntime(config) → createApp(runtime)) and is
 * driven through HTTP only; the one exception is draining the job queue, the worker's part.
 * The scenarios build on each other in order, like one client's session.
 */

const DAY = 86_400_000;
const T0 = Date.now() - 20 * DAY;

type Cluster = 'h' | 'b' | 'c';
const CLUSTERS: Record<Cluster, { texts: string[]; category: string; products: string[] }> = {
  h: {
    texts: ['I love hiking mountain trails with my dog', 'I love hiking mountain trails and camping in a tent'],
    category: 'outdoor',
    products: ['boots', 'tent', 'backpack'],
  },
  b: {
    texts: ['I bake sourdough bread and cakes in my kitchen', 'I bake sourdough bread and cookies in my kitchen'],
    category: 'kitchen',
    products: ['flour', 'oven_mitt', 'mixer'],
  },
  c: {
    texts: ['I go cycling on my road bike to the office', 'I go cycling on my road bike along the river'],
    category: 'bikes',
    products: ['helmet', 'tyre', 'saddle'],
  },
};
const PER_CLUSTER = 10;
const users = (Object.keys(CLUSTERS) as Cluster[]).flatMap((c) => Array.from({ length: PER_CLUSTER }, (_, i) => `${c}${i}`));
const clusterOf = (u: string) => u[0] as Cluster;
const indexOf = (u: string) => Number(u.slice(1));
// Declared attributes and consent, set through the API: half the users in DE; every fifth without marketing consent.
const countryOf = (u: string) => (indexOf(u) % 2 === 0 ? 'DE' : 'US');
const marketingOf = (u: string) => indexOf(u) % 5 !== 3;

function eventsOf(u: string): Record<string, unknown>[] {
  const c = CLUSTERS[clusterOf(u)];
  const i = indexOf(u);
  const at = (n: number) => T0 + i * 60_000 + n * DAY;
  return [
    { eventId: `${u}-chat`, userId: u, type: 'chat_message', text: c.texts[i % 2], timestamp: at(0) },
    { eventId: `${u}-view`, userId: u, type: 'product_view', properties: { product_id: c.products[i % 3], category: c.category }, timestamp: at(1) },
    { eventId: `${u}-buy1`, userId: u, type: 'purchase', properties: { product_id: c.products[(i + 1) % 3], category: c.category, price: 20 + i }, timestamp: at(2) },
    { eventId: `${u}-buy2`, userId: u, type: 'purchase', properties: { product_id: c.products[(i + 2) % 3], category: c.category, price: 30 + i }, timestamp: at(3) },
  ];
}

// An anonymous visitor who turns out to be h0.
const ANON = 'device-h0';
const anonEvents = [
  { eventId: 'anon-1', anonymousId: ANON, type: 'search', text: 'hiking boots waterproof', timestamp: T0 + 5 * DAY },
  { eventId: 'anon-2', anonymousId: ANON, type: 'product_view', properties: { product_id: 'poles', category: 'outdoor' }, timestamp: T0 + 6 * DAY },
];

describe.each(apiBackends())('API and pipeline end to end [$name]', (backend) => {
  describe.skipIf(!backend.available)('scenarios', () => {
    let api: BackendApi;
    const req = (method: string, path: string, json?: unknown) => api.request(method, path, json === undefined ? {} : { json });
    const userIds = (r: { body: { results: { userId: string }[] } }) => r.body.results.map((x) => x.userId);

    beforeAll(async () => {
      api = await backend.open({ TRAITLENS_INDEX_SAVE_MS: '0' });
    }, 60_000);
    afterAll(async () => {
      await api?.cleanup();
    });

    it('ingests a batch: per-event results (accepted, duplicate, rejected) in request order', async () => {
      const batch: Record<string, unknown>[] = [...users.flatMap(eventsOf), ...anonEvents];
      const originals = batch.length;
      // Two retried events (same eventId and content) and one invalid event.
      batch.push({ ...batch[0]! }, { ...batch[5]! });
      batch.push({ eventId: 'bad-1', userId: 'h1', type: 'purchase', properties: { price: 'cheap' } });

      const r = await req('POST', '/v1/events', { events: batch });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toMatchObject({ accepted: originals, duplicates: 2, rejected: 1 });
      expect(r.body.results).toHaveLength(batch.length);
      expect(r.body.results.map((o: { index: number }) => o.index)).toEqual(batch.map((_, i) => i));
      expect(r.body.results.slice(0, originals).every((o: { status: string }) => o.status === 'accepted')).toBe(true);
      expect(r.body.results[originals]).toMatchObject({ status: 'duplicate', eventId: 'h0-chat', duplicateOf: r.body.results[0].id });
      expect(r.body.results[originals + 1]).toMatchObject({ status: 'duplicate', eventId: batch[5]!.eventId, duplicateOf: r.body.results[5].id });
      expect(r.body.results[originals + 2]).toMatchObject({ status: 'rejected', eventId: 'bad-1', reason: 'invalid_number', field: 'properties.price' });

      // A retried batch is all duplicates; nothing is stored twice.
      const again = await req('POST', '/v1/events', eventsOf('b4'));
      expect(again.body).toMatchObject({ accepted: 0, duplicates: 4, rejected: 0 });
      const page = await req('GET', '/v1/users/b4/events');
      expect(page.status).toBe(200);
      expect(page.body.events.map((e: { eventId: string }) => e.eventId).sort()).toEqual(
        eventsOf('b4')
          .map((e) => e.eventId)
          .sort(),
      );
      expect(page.body.events.find((e: { type: string }) => e.type === 'purchase').properties).toMatchObject({ category: 'kitchen' });
    });

    it('identify merges the anonymous visitor into the known user: events moved, one user', async () => {
      const before = await req('GET', '/v1/stats');
      expect(before.body.users).toEqual({ total: users.length + 1, known: users.length, anonymous: 1 });

      const r = await req('POST', '/v1/identify', { anonymousId: ANON, userId: 'h0' });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({ status: 'merged', userId: 'h0', movedEvents: anonEvents.length });

      const p = await req('GET', '/v1/users/h0');
      expect(p.body).toMatchObject({ id: 'h0', known: true, eventCount: 4 + anonEvents.length, eventCounts: { chat_message: 1, product_view: 2, purchase: 2, search: 1 } });
      expect(p.body.identities.map((i: { kind: string; alias: string }) => `${i.kind}:${i.alias}`).sort()).toEqual([`anonymous:${ANON}`, 'user:h0']);
      expect((await req('GET', `/v1/users/${ANON}`)).body.id).toBe('h0');
      expect((await req('GET', '/v1/users/h0/events')).body.events).toHaveLength(4 + anonEvents.length);
      const after = await req('GET', '/v1/stats');
      expect(after.body.users).toEqual({ total: users.length, known: users.length, anonymous: 0 });
      expect((await req('POST', '/v1/identify', { anonymousId: ANON, userId: 'h0' })).body).toEqual({ status: 'unchanged', userId: 'h0', movedEvents: 0 });
    });

    it('declares attributes and consent for every user', async () => {
      for (const u of users) {
        const r = await req('PUT', `/v1/users/${u}/attributes`, { attributes: { country: countryOf(u) }, consent: { marketing: marketingOf(u) } });
        expect(r.status, r.text).toBe(200);
        expect(r.body).toEqual({ id: u, attributes: { country: countryOf(u) }, consent: { profiling: true, llm_processing: true, marketing: marketingOf(u) } });
      }
    });

    it('the pipeline derives semantic traits with quoted evidence, computed traits and history', async () => {
      const tally = await api.runtime.pipeline.createWorker({ baseDelayMs: 0 }).drain();
      expect(tally.parked).toBe(0);
      // Not even one failed attempt: concurrent jobs on PostgreSQL once raced creating the pgvector index.
      expect(tally.retried).toBe(0);

      const p = await req('GET', '/v1/users/h1');
      expect(p.status, p.text).toBe(200);
      type T = { key: string; value: unknown; kind: string; evidence: { eventId: number; quote: string }[]; validTo: string | null };
      const traits: T[] = p.body.traits;
      const interest = traits.find((t) => t.kind === 'semantic' && t.key === 'interest' && t.value === 'hiking');
      expect(interest, JSON.stringify(traits)).toBeDefined();
      expect(interest!.evidence.length).toBeGreaterThan(0);
      // The evidence quotes the user's own chat message and points at it.
      const events = (await req('GET', '/v1/users/h1/events')).body.events as { id: number; eventId: string; text: string | null }[];
      const chat = events.find((e) => e.eventId === 'h1-chat')!;
      expect(interest!.evidence.map((e) => e.eventId)).toContain(chat.id);
      for (const e of interest!.evidence) expect(chat.text).toContain(e.quote);
      expect(traits.filter((t) => t.kind === 'computed').length).toBeGreaterThan(0);
      expect(traits.find((t) => t.kind === 'declared' && t.key === 'country')?.value).toBe('US');
      // Other clusters get their own interests.
      const b2 = (await req('GET', '/v1/users/b2')).body.traits as T[];
      expect(b2.some((t) => t.kind === 'semantic' && t.key === 'interest' && t.value === 'baking')).toBe(true);
      expect(b2.some((t) => t.value === 'hiking')).toBe(false);

      // The readable profile, generated from those traits (the template offline) and cached per profile version.
      const { profileVersion } = (await req('GET', '/v1/users/h1/traits')).body;
      expect(profileVersion).toBeGreaterThan(0);
      const sum = await req('GET', '/v1/users/h1/summary');
      expect(sum.status, sum.text).toBe(200);
      expect(sum.body).toMatchObject({ userId: 'h1', audience: 'support', cached: false, profileVersion });
      expect(sum.body.summary).toContain('hiking');
      expect(sum.body.facts.some((f: { text: string }) => f.text.includes('hiking'))).toBe(true);
      expect((await req('GET', '/v1/users/h1/summary')).body.cached).toBe(true);

      const byKind = await req('GET', '/v1/users/h1/traits?kind=semantic');
      expect(byKind.body.traits.length).toBeGreaterThan(0);
      expect(byKind.body.traits.every((t: T) => t.kind === 'semantic')).toBe(true);
      const history = await req('GET', '/v1/users/h1/traits/interest/history');
      expect(history.status, history.text).toBe(200);
      expect(history.body.versions.some((v: T & { value: unknown }) => v.value === 'hiking' && v.validTo === null)).toBe(true);
      // The declared country, changed once, keeps both versions: newest first, the old one closed.
      await req('PUT', '/v1/users/h1/attributes', { attributes: { country: 'FR' } });
      const country = await req('GET', '/v1/users/h1/traits/country/history');
      expect(country.body.versions.map((v: T) => [v.value, v.validTo === null])).toEqual([
        ['FR', true],
        ['US', false],
      ]);
      await req('PUT', '/v1/users/h1/attributes', { attributes: { country: 'US' } });
    }, 180_000);

    it('similar users: neighbours from the same cluster, a filter honoured', async () => {
      expect(api.runtime.vectorIndex).toBe(backend.name === 'postgres' ? 'pgvector' : 'hnsw');
      const r = await req('GET', '/v1/users/h2/similar?k=5');
      expect(r.status, r.text).toBe(200);
      const got = userIds(r);
      expect(got).toHaveLength(5);
      expect(got).not.toContain('h2');
      expect(got[0]!.startsWith('h'), got.join()).toBe(true);
      const sims = r.body.results.map((x: { similarity: number }) => x.similarity);
      expect([...sims].sort((a, b) => b - a)).toEqual(sims);
      expect(r.body.results[0].sharedTraits.some((t: { key: string; value: unknown }) => t.key === 'interest' && t.value === 'hiking')).toBe(true);

      // Only US users pass; there are 15, so k come back.
      const us = await req('GET', `/v1/users/h2/similar?k=6&filter=${encodeURIComponent(JSON.stringify({ attribute: { key: 'country', eq: 'US' } }))}`);
      expect(us.status, us.text).toBe(200);
      expect(userIds(us)).toHaveLength(6);
      for (const u of userIds(us)) expect(countryOf(u), u).toBe('US');
      expect(userIds(us)[0]!.startsWith('h')).toBe(true);
      const bakers = await req('GET', `/v1/users/h2/similar?k=3&filter=${encodeURIComponent('interest:baking')}`);
      expect(userIds(bakers)).toHaveLength(3);
      for (const u of userIds(bakers)) expect(clusterOf(u)).toBe('b');
      expect((await req('GET', '/v1/users/nobody/similar')).status).toBe(404);
    });

    it('segments: a JSON filter saved, members counted with marketing consent, lookalikes outside it', async () => {
      const filter = { and: [{ trait: { key: 'interest', value: 'hiking' } }, { attribute: { key: 'country', eq: 'DE' } }] };
      const c = await req('POST', '/v1/segments', { name: 'DE hikers', filter });
      expect(c.status, c.text).toBe(201);
      expect(c.body).toMatchObject({ name: 'DE hikers', filter });
      const matching = users.filter((u) => clusterOf(u) === 'h' && countryOf(u) === 'DE');
      const members = matching.filter(marketingOf);
      const m = await req('GET', `/v1/segments/${c.body.id}/users`);
      expect(m.status, m.text).toBe(200);
      expect(m.body).toMatchObject({
        segmentId: c.body.id,
        matched: matching.length,
        excludedNoConsent: matching.length - members.length,
        total: members.length,
        nextCursor: null,
      });
      expect([...m.body.users].sort()).toEqual(members.sort());
      expect((await req('GET', '/v1/segments')).body.segments.map((s: { name: string }) => s.name)).toEqual(['DE hikers']);

      const l = await req('POST', `/v1/segments/${c.body.id}/lookalikes?k=4`);
      expect(l.status, l.text).toBe(200);
      expect(l.body.results).toHaveLength(4);
      for (const u of userIds(l)) {
        expect(matching).not.toContain(u);
        expect(marketingOf(u), u).toBe(true);
      }
      // The nearest outsiders are the other hikers.
      expect(
        userIds(l).every((u) => clusterOf(u) === 'h'),
        userIds(l).join(),
      ).toBe(true);
      expect((await req('GET', '/v1/segments/99999/users')).status).toBe(404);
    });

    it('privacy: export holds the events and traits; erasure removes the user everywhere; withdrawing profiling removes derived traits', async () => {
      const ex = await req('GET', '/v1/users/h3/export');
      expect(ex.status, ex.text).toBe(200);
      const text = ex.text;
      for (const e of eventsOf('h3')) expect(text).toContain(e.eventId as string);
      expect(text).toContain(CLUSTERS.h.texts[1]);
      expect(JSON.stringify(ex.body.traits)).toContain('hiking');
      expect(ex.body.consent).toMatchObject({ profiling: true, marketing: false });

      const d = await req('DELETE', '/v1/users/h3');
      expect(d.status, d.text).toBe(200);
      expect(d.body).toMatchObject({ erased: true, failed: [] });
      expect(d.body.removed).toMatchObject({ users: 1, events: 4 });
      expect(d.body.removed.traits).toBeGreaterThan(0);
      expect((await req('GET', '/v1/users/h3')).status).toBe(404);
      expect((await req('GET', '/v1/users/h3/export')).status).toBe(404);
      expect((await req('DELETE', '/v1/users/h3')).status).toBe(404);
      // Gone from the vector index too: no longer anyone's neighbour.
      const all = await req('GET', `/v1/users/h1/similar?k=${users.length}`);
      expect(userIds(all)).not.toContain('h3');
      expect(userIds(all)).toHaveLength(users.length - 2);

      const w = await req('PUT', '/v1/users/b5/attributes', { attributes: {}, consent: { profiling: false } });
      expect(w.status, w.text).toBe(200);
      const b5 = await req('GET', '/v1/users/b5');
      expect(b5.body.eventCount).toBe(4); // events stay
      expect(b5.body.traits.map((t: { kind: string }) => t.kind)).toEqual(['declared']);
      const s = await req('GET', '/v1/users/b5/similar');
      expect(s.body.results).toEqual([]);
      expect(userIds(await req('GET', `/v1/users/b1/similar?k=${users.length}`))).not.toContain('b5');
      // The pipeline does not derive them again while consent is withdrawn.
      await req('POST', '/v1/users/b5/refresh', {});
      await api.runtime.pipeline.createWorker({ baseDelayMs: 0 }).drain();
      expect((await req('GET', '/v1/users/b5/traits')).body.traits.map((t: { kind: string }) => t.kind)).toEqual(['declared']);
    }, 120_000);

    it('jobs, stats and readiness answer', async () => {
      const retry = await req('POST', '/v1/jobs/retry', {});
      expect(retry.status, retry.text).toBe(200);
      expect(retry.body).toEqual({ retried: 0 });
      const stats = await req('GET', '/v1/stats');
      expect(stats.status, stats.text).toBe(200);
      expect(stats.body.users).toEqual({ total: users.length - 1, known: users.length - 1, anonymous: 0 });
      expect(stats.body.events.total).toBe((users.length - 1) * 4 + anonEvents.length);
      expect(stats.body.events.byType).toMatchObject({ chat_message: users.length - 1, purchase: (users.length - 1) * 2 });
      expect(stats.body.rejected.byReason).toMatchObject({ invalid_number: 1 });
      expect(stats.body.duplicatesDropped.total).toBe(6); // two in the batch, four in the retried one
      expect(stats.body.parkedJobs).toEqual([]);
      expect(stats.body.traits.current.semantic).toBeGreaterThan(0);
      expect(stats.body.traits.current.computed).toBeGreaterThan(0);
      const ready = await api.request('GET', '/readyz', { key: null });
      expect(ready.status).toBe(200);
      expect(ready.body).toEqual({ status: 'ready' });
      // Admin routes still need a key with the scope.
      expect((await api.request('GET', '/v1/stats', { key: api.keys['events:write'] })).status).toBe(403);
    });
  });
});
