/**
 * The typed client (client/) against the real server on loopback: ingest, a profile, traits,
 * similar users, a segment — each answer typed by the generated paths and checked here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTraitlensClient, type TraitlensClient } from '../../client/index.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const T = Date.now() - 10 * 86_400_000;
let srv: TestServer;
let client: TraitlensClient;

beforeAll(async () => {
  srv = await startTestServer();
  client = createTraitlensClient({ baseUrl: srv.url, apiKey: srv.keys.admin });
}, 60_000);
afterAll(async () => {
  await srv?.server.close();
  srv?.cleanup();
});

describe('createTraitlensClient on the real server', () => {
  it('ingests events, reads the profile and traits, finds similar users and creates a segment', async () => {
    const texts = { ann: 'I love hiking in the mountains', bob: 'I love hiking and camping', cat: 'I enjoy baking bread' };
    const events = Object.entries(texts).map(([userId, text], i) => ({ userId, type: 'chat_message', text, timestamp: T + i }));
    const ingest = await client.POST('/v1/events', { body: { events } });
    expect(ingest.error).toBeUndefined();
    expect(ingest.data?.accepted).toBe(3);

    await srv.runtime.pipeline.createWorker().drain();
    await srv.runtime.profiles.index.open();

    const attrs = await client.PUT('/v1/users/{id}/attributes', { params: { path: { id: 'ann' } }, body: { attributes: { country: 'DE' }, consent: { marketing: true } } });
    expect(attrs.response.status).toBe(200);

    const profile = await client.GET('/v1/users/{id}', { params: { path: { id: 'ann' } } });
    expect(profile.data?.id).toBe('ann');
    expect(profile.data?.eventCount).toBe(1);
    expect(profile.data?.attributes).toMatchObject({ country: 'DE' });

    const traits = await client.GET('/v1/users/{id}/traits', { params: { path: { id: 'ann' } } });
    expect(traits.data?.traits.map((t) => `${t.key}=${String(t.value)}`)).toContain('interest=hiking');

    const similar = await client.GET('/v1/users/{id}/similar', { params: { path: { id: 'ann' }, query: { k: 2 } } });
    expect(similar.error).toBeUndefined();
    expect(similar.data?.results.map((r) => r.userId)).toContain('bob');

    const created = await client.POST('/v1/segments', { body: { name: 'Germans', filter: { attribute: { key: 'country', eq: 'DE' } } } });
    expect(created.response.status).toBe(201);
    const id = (created.data as { id: number }).id;
    const members = await client.GET('/v1/segments/{id}/users', { params: { path: { id } } });
    expect(members.data).toMatchObject({ users: ['ann'] });
  });

  it('gives the typed error body on a 4xx, and a key-less client reaches only the public routes', async () => {
    const missing = await client.GET('/v1/users/{id}', { params: { path: { id: 'nobody' } } });
    expect(missing.response.status).toBe(404);
    expect(missing.error?.error.code).toBe('not_found');
    const anon = createTraitlensClient({ baseUrl: `${srv.url}/` });
    expect((await anon.GET('/healthz')).response.status).toBe(200);
    const refused = await anon.GET('/v1/users/{id}', { params: { path: { id: 'ann' } } });
    expect(refused.response.status).toBe(401);
  });
});
