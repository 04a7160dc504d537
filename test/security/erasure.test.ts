import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.ts';
import { eraseUser } from '../../src/db/privacy.ts';
import type { UserDataSection } from '../../src/db/user-data.ts';
import type { Pipeline } from '../../src/pipeline/pipeline.ts';
import { pipelineFor } from '../support/runtime.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { startOpenAIServer, type OpenAITestServer } from '../support/openai-server.ts';

/** Every file under the data dir (database, -wal, -shm, caches, index files), as bytes. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}
/** Files holding the marker, in UTF-8 or UTF-16LE (either could hold text). */
function filesContaining(dir: string, marker: string): string[] {
  const needles = [Buffer.from(marker, 'utf8'), Buffer.from(marker, 'utf16le')];
  return filesUnder(dir).filter((p) => {
    const bytes = readFileSync(p);
    return needles.some((n) => bytes.includes(n));
  });
}

let llm: OpenAITestServer;
let api: TestApi;
let pipeline: Pipeline;
beforeAll(async () => {
  llm = await startOpenAIServer();
});
afterAll(() => llm.close());
beforeEach(() => {
  llm.reset();
  api = createTestApi();
  pipeline = pipelineFor(
    api.db,
    loadConfig({
      OPENAI_BASE_URL: llm.baseURL,
      OPENAI_CHAT_MODEL: 'test-model',
      OPENAI_EMBEDDING_MODEL: 'test-embedding',
      OPENAI_MAX_RETRIES: '0',
      TRAITLENS_CACHE_DIR: join(api.dir, 'cache'),
    }),
  );
});
afterEach(() => api.cleanup());

const write = (json: unknown) => api.request('POST', '/v1/events', { key: api.keys['events:write'], json });

/** A user whose data carries `marker` everywhere the service keeps text: events, properties, attributes, an alias, a trait quote, the LLM cache. */
async function seedUser(user: string, marker: string) {
  llm.chatHandler = (body) => {
    const prompt = String(body.messages?.at(-1)?.content ?? '');
    const id = Number(/id (\d+) \(chat_message\): "I love hiking with/.exec(prompt)?.[1] ?? 0);
    const ops = id ? [{ op: 'add', key: 'interest', value: 'hiking', confidence: 0.9, evidence: [{ eventId: id, quote: `I love hiking with ${marker}` }] }] : [];
    return { type: 'answer', data: { operations: ops } };
  };
  expect(
    (
      await write([
        { userId: user, type: 'chat_message', text: `I love hiking with ${marker} every weekend`, properties: { note: marker }, eventId: `${marker}-e1` },
        { anonymousId: `anon-${marker}`, type: 'search', text: `boots for ${marker}`, eventId: `${marker}-e2` },
      ])
    ).body.accepted,
  ).toBe(2);
  expect((await api.request('POST', '/v1/identify', { key: api.keys['events:write'], json: { anonymousId: `anon-${marker}`, userId: user } })).status).toBe(200);
  expect((await api.request('PUT', `/v1/users/${user}/attributes`, { key: api.keys['events:write'], json: { attributes: { nickname: marker } } })).status).toBe(200);
  await pipeline.createWorker({ baseDelayMs: 0 }).drain();
  // Reads, so audit rows name the user.
  expect((await api.request('GET', `/v1/users/${user}/traits`)).body.traits.map((t: { key: string }) => t.key)).toContain('interest');
}

describe('DELETE /v1/users/:id', () => {
  it('removes every trace of the user from the database files, the WAL and the data dir; others are untouched', async () => {
    const marker = 'zqvx7erasemarker';
    const control = 'zqvx7keepmarker';
    await seedUser('victim', marker);
    await seedUser('bystander', control);
    const before = api.db.sqlite.prepare('SELECT count(*) AS n FROM llm_cache WHERE response LIKE ?').get(`%${marker}%`) as { n: number };
    expect(before.n).toBe(1);

    const r = await api.request('DELETE', '/v1/users/victim');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ erased: true, checkpointed: true, failed: [] });
    expect(r.body.removed).toMatchObject({ users: 1, identities: 2, events: 2, llm_cache: 1, signal_embeddings: 2, user_embeddings: 1 });
    expect(r.body.removed.traits).toBeGreaterThanOrEqual(2);
    expect(r.body.removed.audit_log).toBeGreaterThanOrEqual(1);
    expect(r.body.removed.jobs).toBeGreaterThanOrEqual(1);

    expect((await api.request('GET', '/v1/users/victim')).status).toBe(404);
    expect((await api.request('GET', `/v1/users/anon-${marker}`)).status).toBe(404);
    expect((await api.request('DELETE', '/v1/users/victim')).status).toBe(404);
    // The erasure itself is audited with counts only.
    const audit = (await api.request('GET', '/v1/audit?action=user.erase')).body.entries;
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ userId: null, keyId: expect.stringMatching(/^key_/) });
    expect(JSON.stringify(audit)).not.toContain('victim');

    api.db.sqlite.pragma('wal_checkpoint(TRUNCATE)');
    expect(filesContaining(api.dir, marker)).toEqual([]);
    // The scan does see text: the other user's marker is still there.
    expect(filesContaining(api.dir, control).length).toBeGreaterThan(0);
    expect((await api.request('GET', '/v1/users/bystander/traits')).body.traits.length).toBeGreaterThan(0);
  });

  it('runs every section of the list it is given: in one transaction, then those outside the database; users last', async () => {
    api.db.sqlite.exec('CREATE TABLE test_module_rows (user_id INTEGER NOT NULL, note TEXT)');
    let storeCalls = 0;
    const order: string[] = [];
    const extra: UserDataSection[] = [
      { name: 'test_store', tables: [], derived: true, afterCommit: async () => (order.push('test_store'), ++storeCalls) },
      { name: 'test_broken_store', tables: [], derived: true, afterCommit: async () => Promise.reject(new Error('index file gone')) },
      {
        name: 'test_module_rows',
        tables: ['test_module_rows'],
        derived: true,
        erase: async (q, u) => (order.push('test_module_rows'), (await q.run('DELETE FROM test_module_rows WHERE user_id = ?', [u])).changes),
      },
    ];
    // The list's own order puts users first here: erasure still deletes them last.
    const users = api.store.userData.find((s) => s.name === 'users')!;
    const list = [users, ...api.store.userData.filter((s) => s !== users), ...extra];
    await write([{ userId: 'modded', type: 'click' }]);
    const id = (await api.store.users.require('modded')).id;
    api.db.sqlite.prepare('INSERT INTO test_module_rows VALUES (?, ?), (?, ?)').run(id, 'a', id, 'b');
    const r = await eraseUser(api.store.exec, list, id);
    expect(r.removed).toMatchObject({ test_module_rows: 2, test_store: 1, users: 1, events: 1 });
    expect(r.failed).toEqual(['test_broken_store']);
    expect(order).toEqual(['test_module_rows', 'test_store']);
    expect(storeCalls).toBe(1);
    expect(await api.store.users.find('modded')).toBeUndefined();
  });

  it('is all or nothing: a section that fails inside the transaction leaves every row in place', async () => {
    await write([{ userId: 'kept', type: 'click' }]);
    const id = (await api.store.users.require('kept')).id;
    const failing: UserDataSection = { name: 'test_failing', tables: [], derived: false, erase: async () => Promise.reject(new Error('disk full')) };
    await expect(eraseUser(api.store.exec, [...api.store.userData, failing], id)).rejects.toThrow('disk full');
    expect((await api.store.users.require('kept')).eventCount).toBe(1);
    expect((await api.request('GET', '/v1/users/kept/events')).body.events).toHaveLength(1);
  });
});

describe('GET /v1/users/:id/export', () => {
  it('returns everything held about the user, and is audited', async () => {
    const marker = 'zqvx7exportmarker';
    await seedUser('exported', marker);
    const r = await api.request('GET', '/v1/users/exported/export');
    expect(r.status).toBe(200);
    const x = r.body;
    const audit = (await api.request('GET', '/v1/audit?user=exported&action=user.export')).body.entries;
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ route: '/v1/users/:id/export', status: 200, userId: 'exported' });
    expect(x.users).toMatchObject({ id: 'exported', attributes: { nickname: marker }, consentDeclared: null });
    expect(x.consent).toEqual({ profiling: true, llm_processing: true, marketing: false });
    expect(x.identities.map((i: { alias: string }) => i.alias).sort()).toEqual([`anon-${marker}`, 'exported'].sort());
    expect(x.events).toHaveLength(2);
    expect(x.events.map((e: { eventId: string }) => e.eventId).sort()).toEqual([`${marker}-e1`, `${marker}-e2`]);
    expect(x.traits.some((t: { key: string; evidence: { quote: string }[] }) => t.key === 'interest' && t.evidence[0]?.quote.includes(marker))).toBe(true);
    expect(x.traits.some((t: { kind: string }) => t.kind === 'declared')).toBe(true);
    expect(x.signal_embeddings).toEqual([expect.objectContaining({ count: 2 })]);
    expect(x.user_embeddings).toHaveLength(1);
    expect(x.llm_calls).toHaveLength(1);
    expect(JSON.stringify(x.llm_cache)).toContain(marker);
    expect(x.jobs.length).toBeGreaterThan(0);
    // The export and erasure run over one list: every section erasure counts is a key here.
    const erasedKeys = Object.keys((await api.request('DELETE', '/v1/users/exported')).body.removed);
    expect(erasedKeys.filter((k) => k !== 'ingest_counters' && !(k in x))).toEqual([]);
  });
});

describe('withdrawing profiling consent', () => {
  it('removes derived traits, vectors and cached answers at once; events and declared attributes stay; nothing is rebuilt', async () => {
    await seedUser('withdrawer', 'zqvx7withdraw');
    const put = await api.request('PUT', '/v1/users/withdrawer/attributes', { key: api.keys['events:write'], json: { attributes: {}, consent: { profiling: false } } });
    expect(put.status).toBe(200);
    expect(put.body.consent.profiling).toBe(false);
    const traits = (await api.request('GET', '/v1/users/withdrawer/traits')).body.traits as { kind: string }[];
    expect(traits.map((t) => t.kind)).toEqual(['declared']);
    const n = (sql: string) => (api.db.sqlite.prepare(sql).get() as { n: number }).n;
    expect(n('SELECT count(*) AS n FROM user_embeddings')).toBe(0);
    expect(n('SELECT count(*) AS n FROM signal_embeddings')).toBe(0);
    expect(n('SELECT count(*) AS n FROM llm_cache')).toBe(0);
    expect((await api.request('GET', '/v1/users/withdrawer/events')).body.events).toHaveLength(2);
    // A refresh builds nothing for a user without profiling consent.
    await api.request('POST', '/v1/users/withdrawer/refresh', { key: api.keys['events:write'], json: {} });
    const calls = llm.requests.length;
    await pipeline.createWorker().drain();
    expect(llm.requests.length).toBe(calls);
    expect(((await api.request('GET', '/v1/users/withdrawer/traits')).body.traits as { kind: string }[]).map((t) => t.kind)).toEqual(['declared']);
    expect(n('SELECT count(*) AS n FROM user_embeddings')).toBe(0);
  });
});
