import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/api/server.ts';
import { assembleRuntime, type Runtime } from '../../src/runtime/runtime.ts';
import { createKeysPerScope, testConfig } from '../support/api.ts';
import { createTempDb, type TempDb } from '../support/temp-db.ts';

// Issue #16, done when: a marketer with no LLM configured describes a segment in words, sees the
// compiled filter and what was not understood, saves it, gets its portrait and a marketing-voice
// summary per member. Exactly that path, over HTTP against the real server; the data gets there
// through the API and the real pipeline (offline extractor), nothing planted.

const DAY = 86_400_000;
const N = 30;

describe('done when: words → filter → segment → portrait → marketing summaries, no LLM, real server', () => {
  let temp: TempDb;
  let runtime: Runtime;
  let server: RunningServer;
  let keys: Awaited<ReturnType<typeof createKeysPerScope>>;
  /** One request on its own connection (no keep-alive: the pipeline below blocks this process longer than the server keeps an idle socket). */
  const call = (method: string, path: string, key: string, json?: unknown) =>
    new Promise<{ status: number; text: string; body: any }>((resolve, reject) => {
      // any: response shapes are asserted below
      const body = json === undefined ? undefined : JSON.stringify(json);
      const req = request(
        `${server.url}${path}`,
        { method, agent: false, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            text += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text, body: text ? JSON.parse(text) : null }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  beforeAll(async () => {
    temp = createTempDb();
    keys = await createKeysPerScope(temp.store);
    const config = testConfig(temp.path, { TRAITLENS_INDEX_SAVE_MS: '0' });
    expect(config.OPENAI_BASE_URL ?? null).toBeNull();
    runtime = assembleRuntime(temp.store, config);
    server = await startServer({ config, runtime, handleSignals: false });
    // u0..u19 in Germany, the rest in the US; even users consented to marketing; u0..u11 hike.
    const now = Date.now();
    for (let i = 0; i < N; i++) {
      const a = await call('PUT', `/v1/users/u${i}/attributes`, keys['events:write'], {
        attributes: { country: i < 20 ? 'DE' : 'US' },
        consent: { marketing: i % 2 === 0 },
      });
      expect(a.status, a.text).toBe(200);
    }
    const events = [];
    for (let i = 0; i < N; i++) {
      const ts = now - (40 - (i % 10)) * DAY;
      if (i < 12) events.push({ userId: `u${i}`, type: 'chat_message', text: 'I love hiking in the mountains every weekend.', timestamp: ts, source: 'web' });
      else events.push({ userId: `u${i}`, type: 'chat_message', text: 'Do you have this jacket in blue?', timestamp: ts, source: 'web' });
      events.push({ userId: `u${i}`, type: 'purchase', properties: { product_id: i < 12 ? 'tent' : 'jacket', price: 50 + i }, timestamp: ts + DAY, source: 'ios' });
    }
    const ingest = await call('POST', '/v1/events', keys['events:write'], events);
    expect(ingest.body.accepted, ingest.text).toBe(events.length);
    // The worker's part (the server was started without its thread in tests): every refresh job, for real.
    const tally = await runtime.pipeline.createWorker({ baseDelayMs: 0 }).drain();
    expect(tally.done).toBe(N);
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    temp?.cleanup();
  });

  it('walks the path', async () => {
    const key = keys['segments:write'];
    // 1. describe in words: the compiled filter, each condition with its phrase, and what was not understood
    const proposed = await call('POST', '/v1/segments', key, { description: 'hikers in Germany who drive a Tesla' });
    expect(proposed.status, proposed.text).toBe(200);
    expect(proposed.body).toMatchObject({ mode: 'words', saved: false, generator: 'offline:words', notUnderstood: ['drive tesla'] });
    const filter = { and: [{ trait: { key: 'interest', value: 'hiking' } }, { attribute: { key: 'country', eq: 'DE' } }] };
    expect(proposed.body.filter).toEqual(filter);
    expect(proposed.body.conditions.map((c: { phrase: string }) => c.phrase)).toEqual(['hikers', 'germany']);

    // 2. save it (names are unique)
    const saved = await call('POST', '/v1/segments', key, { name: 'German hikers', filter: proposed.body.filter, segmentDescription: 'hikers in Germany who drive a Tesla' });
    expect(saved.status, saved.text).toBe(201);
    expect((await call('POST', '/v1/segments', key, { name: 'German hikers', filter })).status).toBe(409);

    // 3. its portrait: 12 hikers of whom 12 are in Germany; the template describes it
    const portrait = await call('GET', `/v1/segments/${saved.body.id}/portrait`, keys['segments:read']);
    expect(portrait.status, portrait.text).toBe(200);
    expect(portrait.body).toMatchObject({ size: 12, population: N, marketingConsent: { members: 6 }, generator: 'template.v1' });
    expect(portrait.body.overRepresented).toContainEqual(expect.objectContaining({ key: 'interest', value: 'hiking', members: 12, lift: 2.5, inFilter: true }));
    expect(portrait.body.items[0]).toMatchObject({ item: 'tent', members: 12 });
    expect(portrait.body.lifecycle).toContainEqual(expect.objectContaining({ stage: 'lapsing', members: 12 }));
    expect(portrait.body.description).toMatch(/^"German hikers" holds 12 of 30 users \(40%\); 6 of them \(50%\) consented to marketing\./);
    expect(portrait.body.description).toContain('Top items: tent (12 members)');

    // 4. a marketing-voice summary per member (members are the ones with marketing consent)
    const members = await call('GET', `/v1/segments/${saved.body.id}/users?limit=100`, keys['segments:read']);
    expect(members.body).toMatchObject({ matched: 12, total: 6, users: ['u0', 'u2', 'u4', 'u6', 'u8', 'u10'] });
    for (const m of members.body.users) {
      const s = await call('GET', `/v1/users/${m}/summary?audience=marketing`, keys['summaries:read']);
      expect(s.status, s.text).toBe(200);
      expect(s.body).toMatchObject({ audience: 'marketing', generator: 'template.v3' });
      const paras: string[] = s.body.summary.split('\n\n');
      expect(paras.length, s.body.summary).toBeGreaterThanOrEqual(3);
      expect(paras[0]).toContain('hiking');
      expect(s.body.summary).toMatch(/Lifecycle stage: lapsing/);
      expect(s.body.summary).toMatch(/Value: 1 purchase/);
      expect(s.body.summary.toLowerCase()).not.toContain('support');
    }
    // a member without marketing consent gets no marketing summary
    expect((await call('GET', '/v1/users/u1/summary?audience=marketing', keys['summaries:read'])).status).toBe(403);
  }, 60_000);
});
