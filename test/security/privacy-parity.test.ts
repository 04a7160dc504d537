import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REFRESH_JOB } from '../../src/db/stores/events.ts';
import type { Pipeline } from '../../src/pipeline/pipeline.ts';
import { pipelineFor } from '../support/runtime.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { startOpenAIServer, type OpenAITestServer, type ChatRequestBody } from '../support/openai-server.ts';

/**
 * Export/erasure parity (issue 12 items 4 and 5): one list of per-user data drives both, so a
 * marker planted in every kind of per-user data is in the export, and after erasure it is in no
 * column of any table. A second test reads the schema and fails when a table holding per-user rows
 * is covered by no section.
 */

let llm: OpenAITestServer;
let api: TestApi;
let pipeline: Pipeline;
beforeAll(async () => {
  llm = await startOpenAIServer();
});
afterAll(() => llm.close());
beforeEach(() => {
  llm.reset();
  const env = {
    OPENAI_BASE_URL: llm.baseURL,
    OPENAI_CHAT_MODEL: 'test-model',
    OPENAI_EMBEDDING_MODEL: 'test-embedding',
    OPENAI_MAX_RETRIES: '0',
  };
  api = createTestApi(env);
  pipeline = pipelineFor(api.db, { ...api.config, TRAITLENS_CACHE_DIR: join(api.dir, 'cache') });
});
afterEach(() => api.cleanup());

const asWriter = { key: () => api.keys['events:write'] };
const isSummary = (body: ChatRequestBody) => JSON.stringify(body.tools ?? body.response_format ?? '').includes('profile_summary');

/** Puts `marker` into every kind of data the service keeps about `user`, through the API and the stores. */
async function plant(user: string, marker: string): Promise<number> {
  llm.chatHandler = (body) => {
    if (isSummary(body)) return { type: 'answer', data: { summary: `A hiker who mentions ${marker} often.` } };
    const prompt = String(body.messages?.at(-1)?.content ?? '');
    const id = Number(new RegExp(`id (\\d+) \\(chat_message\\): "I love hiking with ${marker}`).exec(prompt)?.[1] ?? 0);
    const ops = id ? [{ op: 'add', key: 'interest', value: 'hiking', confidence: 0.9, evidence: [{ eventId: id, quote: `I love hiking with ${marker}` }] }] : [];
    return { type: 'answer', data: { operations: ops } };
  };
  const write = await api.request('POST', '/v1/events', {
    key: asWriter.key(),
    json: [
      // text, properties, the client's eventId and source, and an event type the client chose
      { userId: user, type: 'chat_message', text: `I love hiking with ${marker} every weekend`, properties: { note: marker }, eventId: `${marker}-e1`, source: `${marker}-app` },
      { userId: user, type: `${marker}_clicked`, properties: { item_id: 'x' } },
      { anonymousId: `anon-${marker}`, type: 'search', text: `boots for ${marker}`, eventId: `${marker}-e2` },
    ],
  });
  expect(write.body.accepted).toBe(3);
  // an alias, declared attributes (and their trait history), consent
  expect((await api.request('POST', '/v1/identify', { key: asWriter.key(), json: { anonymousId: `anon-${marker}`, userId: user } })).status).toBe(200);
  const put = await api.request('PUT', `/v1/users/${user}/attributes`, { key: asWriter.key(), json: { attributes: { nickname: marker }, consent: { marketing: true } } });
  expect(put.status).toBe(200);
  // derived: traits with quotes, cached model answers, signal and user embeddings, the profile vector
  await pipeline.createWorker({ baseDelayMs: 0 }).drain();
  // a generated summary (model text about the person), and audit rows naming the user
  const summary = await api.request('GET', `/v1/users/${user}/summary`);
  expect(summary.body.summary).toContain(marker);
  expect((await api.request('GET', `/v1/users/${user}`)).status).toBe(200);
  const id = (await api.store.users.require(user)).id;
  // what failures leave: an LLM call's error text, a parked job's payload and error
  await api.store.llm.recordCall({
    at: Date.now(),
    userId: id,
    operation: 'extract_traits',
    model: 'test-model',
    promptVersion: 'v1',
    promptTokens: 1,
    completionTokens: 0,
    latencyMs: 1,
    status: 'error',
    error: `model said: ${marker}`,
  });
  expect(await api.store.jobs.enqueue(REFRESH_JOB, id, { note: marker })).toBe(true);
  const [job] = await api.store.jobs.claim('parity-test', 1, { leaseMs: 60_000 });
  expect(job?.userId).toBe(id);
  expect(await api.store.jobs.release(job!, { error: `failed on ${marker}`, delayMs: 0, park: true })).toBe('parked');
  return id;
}

/** Every column of every table where `needle` occurs, with counts (blobs are read as text too). */
async function residue(needle: string): Promise<Record<string, number>> {
  const tables = await api.store.exec.all<{ name: string }>(
    // The audit log lives in a file of its own, attached as `audit` (src/db/connection.ts).
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' UNION ALL SELECT name FROM audit.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
  );
  const found: Record<string, number> = {};
  for (const { name } of tables) {
    const cols = await api.store.exec.all<{ name: string }>('SELECT name FROM pragma_table_info(?)', [name]);
    for (const c of cols) {
      const r = await api.store.exec.get<{ n: number }>(`SELECT count(*) AS n FROM "${name}" WHERE instr(CAST("${c.name}" AS TEXT), ?) > 0`, [needle]);
      if (r!.n > 0) found[`${name}.${c.name}`] = r!.n;
    }
  }
  return found;
}

describe('export and erasure over one list of per-user data', () => {
  it('the export holds the marker from every kind of data; erasure leaves it in no column of any table', async () => {
    const marker = 'zqvxparitymark';
    const control = 'zqvxbystandermark';
    const victimId = await plant('victim', marker);
    await plant('bystander', control);

    // Where the marker went: every table-section with text is reached, so the checks below are not empty.
    const planted = Object.keys(await residue(marker)).map((c) => c.split('.')[0]!);
    for (const t of ['users', 'identities', 'events', 'traits', 'llm_cache', 'llm_calls', 'jobs', 'summaries']) expect(planted, t).toContain(t);

    const x = (await api.request('GET', '/v1/users/victim/export')).body as Record<string, unknown>;
    const sections = api.store.userData;
    for (const s of sections) {
      if (!s.export) continue;
      const v = x[s.name];
      expect(v, `export section ${s.name}`).toBeDefined();
      // Each section holds the victim's rows: every kind was planted above.
      expect(Array.isArray(v) ? v.length : v === null ? 0 : 1, `export section ${s.name} is empty`).toBeGreaterThan(0);
    }
    // Every table where the marker sits is exported with it (generated text included: summaries, cached answers, errors).
    for (const table of new Set(planted)) {
      const s = sections.find((sec) => sec.tables.includes(table));
      expect(s, `no section covers ${table}`).toBeDefined();
      expect(JSON.stringify(x[s!.name]), `export of ${s!.name}`).toContain(marker);
    }
    expect(x.hnsw_index).toBeDefined();
    expect(JSON.stringify(x)).not.toContain(control);

    const r = await api.request('DELETE', '/v1/users/victim');
    expect(r.status).toBe(200);
    expect(r.body.failed).toEqual([]);
    for (const s of sections) if (s.erase && s.name !== 'ingest_counters') expect(r.body.removed[s.name], `erased from ${s.name}`).toBeGreaterThan(0);

    expect(await residue(marker)).toEqual({});
    expect(await residue(`anon-${marker}`)).toEqual({});
    // No row anywhere still points at the erased user's id.
    for (const s of sections)
      for (const t of s.tables) {
        const cols = (await api.store.exec.all<{ name: string }>('SELECT name FROM pragma_table_info(?)', [t])).map((c) => c.name);
        if (!cols.includes('user_id')) continue;
        const n = await api.store.exec.get<{ n: number }>(`SELECT count(*) AS n FROM "${t}" WHERE user_id = ?`, [victimId]);
        expect(n!.n, `${t} rows of the erased user`).toBe(0);
      }
    // The scan does see text: the bystander's marker is still everywhere it was.
    const kept = new Set(Object.keys(await residue(control)).map((c) => c.split('.')[0]!));
    expect([...new Set(planted)].filter((t) => !kept.has(t))).toEqual([]);
  });

  it('counters keep no client-chosen strings: an event type reaches no counter', async () => {
    const marker = 'zqvxcountermark';
    const r = await api.request('POST', '/v1/events', { key: api.keys['events:write'], json: [{ userId: 'typer', type: `${marker}_type` }] });
    expect(r.body.accepted).toBe(1);
    // Only the user's own rows hold it: the event, and that user's tally by type (in the per-user
    // data list, so erasure takes it with the events); no shared counter.
    expect(Object.keys(await residue(marker)).sort()).toEqual(['events.type', 'user_event_counts.type']);
    expect(api.store.userData.some((s) => s.tables.includes('user_event_counts'))).toBe(true);
    // Stats still count events by type, from the events themselves (so erasure takes them along).
    expect((await api.request('GET', '/v1/stats')).body.events.byType).toMatchObject({ [`${marker}_type`]: 1 });
  });
});

describe('the per-user data list covers the schema', () => {
  it('every table with a user column, or a key into users or events, is in some section', async () => {
    const covered = new Set(api.store.userData.flatMap((s) => s.tables));
    const tables = (
      await api.store.exec.all<{ name: string }>(
        // The audit log lives in a file of its own, attached as `audit` (src/db/connection.ts).
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' UNION ALL SELECT name FROM audit.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
      )
    ).map((t) => t.name);
    const personal: string[] = ['users'];
    for (const t of tables) {
      const cols = (await api.store.exec.all<{ name: string }>('SELECT name FROM pragma_table_info(?)', [t])).map((c) => c.name);
      const fks = (await api.store.exec.all<{ table: string }>('SELECT "table" FROM pragma_foreign_key_list(?)', [t])).map((f) => f.table);
      if (cols.includes('user_id') || fks.includes('users') || fks.includes('events')) personal.push(t);
    }
    // The check has teeth: the tables known to hold per-user rows are among those found.
    expect(personal).toEqual(expect.arrayContaining(['users', 'events', 'identities', 'traits', 'audit_log', 'summaries', 'signal_extractions']));
    expect(personal.filter((t) => !covered.has(t))).toEqual([]);
    // And no section names a table that does not exist (a typo would cover nothing).
    expect([...covered].filter((t) => !tables.includes(t))).toEqual([]);
  });
});
