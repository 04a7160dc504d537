import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.ts';
import { buildStore, type Store } from '../../src/db/store.ts';
import type { Executor, Queryable } from '../../src/db/sql/executor.ts';
import { SqliteExecutor } from '../../src/db/sql/sqlite-executor.ts';
import { ingestBatch } from '../../src/ingest/ingest.ts';
import { systemClock } from '../../src/jobs/worker.ts';
import { describeStores } from '../support/backends.ts';
import { startOpenAIServer, type OpenAITestServer } from '../support/openai-server.ts';
import { pipelineFor } from '../support/runtime.ts';

/**
 * The job worker's batched refresh runs the trait stage for its whole slice with the users' merges
 * in one transaction: the same trait and fact rows as one user at a time, with fewer commits, and a
 * user whose merge fails fails alone (its job is retried; the others are stored).
 *
 * Commits are counted on the real executor: a transaction counts when it changed a row (SQLite:
 * total_changes() moved; PostgreSQL: a transaction id was assigned), a statement outside one when it
 * changed a row. Trait commits are those that marked signals read (every trait-stage merge does).
 */
const TEXTS: string[][] = [
  ['i work as a nurse at the county hospital', 'i have two dogs and i walk them every morning'],
  ['i live in ohio with my husband', 'i go to the gym every day'],
  ['i was raised by my grandfather', 'i love hiking in the mountains', 'i play the guitar in a band'],
  ['i read twenty books a year', 'i am a vegan'],
  ['i have a cat named tom', 'my favorite color is blue'],
  ['hello there', 'i am fine thanks'],
  ['i drive a red truck', 'i enjoy cooking italian food'],
  ['i moved to lisbon last month', 'i have been a teacher for ten years'],
];

let at = 1_780_000_000_000;
async function seed(store: Store, prefix: string): Promise<number[]> {
  const ids: number[] = [];
  for (const [i, texts] of TEXTS.entries()) {
    const user = `${prefix}-${i}`;
    await ingestBatch(
      store.events,
      texts.map((text) => ({ userId: user, type: 'chat_message', text, timestamp: (at += 1000), eventId: `${user}-${at}` })),
    );
    ids.push((await store.users.require(user)).id);
  }
  return ids;
}

/** The real executor, counting commits that wrote something. */
function counting(x: Executor): { exec: Executor; commits: { all: number; traits: number } } {
  const commits = { all: 0, traits: 0 };
  const writes = (sql: string) => !/^\s*(SELECT|PRAGMA)\b/i.test(sql);
  const exec = Object.assign(Object.create(x) as Executor, {
    all: async (sql: string, p?: readonly unknown[]) => {
      const r = await x.all(sql, p);
      if (writes(sql) && r.length) commits.all++;
      return r;
    },
    get: async (sql: string, p?: readonly unknown[]) => {
      const r = await x.get(sql, p);
      if (writes(sql) && r !== undefined) commits.all++;
      return r;
    },
    run: async (sql: string, p?: readonly unknown[]) => {
      const r = await x.run(sql, p);
      if (r.changes > 0) commits.all++;
      return r;
    },
    tx: <T>(fn: (q: Queryable) => Promise<T>) =>
      x.tx(async (q) => {
        let marked = false;
        const wrote = x.dialect === 'sqlite' ? ((await q.get<{ n: number }>('SELECT total_changes() AS n')) as { n: number }).n : 0;
        const out = await fn({
          dialect: q.dialect,
          all: (sql, p) => q.all(sql, p),
          get: (sql, p) => q.get(sql, p),
          run: (sql, p) => {
            if (/INSERT INTO signal_extractions/.test(sql)) marked = true;
            return q.run(sql, p);
          },
        });
        const changed =
          x.dialect === 'sqlite'
            ? ((await q.get<{ n: number }>('SELECT total_changes() AS n')) as { n: number }).n !== wrote
            : (await q.get<{ t: string | null }>('SELECT txid_current_if_assigned()::text AS t'))?.t != null;
        if (changed) commits.all++;
        if (changed && marked) commits.traits++;
        return out;
      }),
  });
  // The SQLite executor's own helpers go to the real one (its lock is the real one's); synchronous
  // driver work (`exclusive`) counts when it changed a row, as does a `tryRun`.
  if (x instanceof SqliteExecutor) {
    const changes = () => (x.db.sqlite.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
    Object.assign(exec, {
      exclusive: <T>(fn: () => T) =>
        x.exclusive(() => {
          const before = changes();
          const out = fn();
          if (changes() !== before) commits.all++;
          return out;
        }),
      tryRun: async (sql: string, p?: readonly unknown[]) => {
        const r = await x.tryRun(sql, p);
        if (r && r.changes > 0) commits.all++;
        return r;
      },
      read: x.read.bind(x),
    });
  }
  Object.assign(exec, { ping: x.ping.bind(x), close: x.close.bind(x) });
  return { exec, commits };
}

/** A user's trait and fact rows, history included, without ids and times. */
async function rowsOf(store: Store, userId: number) {
  const rows = await store.exec.all<{ kind: string; key: string; value: string; confidence: number; evidence: string; open: number | boolean }>(
    "SELECT kind, key, value, confidence, evidence, valid_to IS NULL AS open FROM traits WHERE user_id = ? AND kind IN ('semantic', 'fact', 'computed') ORDER BY id",
    [userId],
  );
  return rows.map((r) => ({
    kind: r.kind,
    key: r.key,
    value: r.value,
    confidence: Number(r.confidence),
    quotes: (JSON.parse(r.evidence) as { quote: string }[]).map((e) => e.quote),
    open: Boolean(r.open),
  }));
}

const config = () => loadConfig({});
// jobs are stamped by the ingest at the wall clock; the worker runs a day later (no wait for a backoff)
const clock = { ...systemClock, now: () => Date.now() + 86_400_000 };
// a failed job waits an hour before its retry: a drain does not run it twice
const noRetryYet = { baseDelayMs: 3_600_000, maxDelayMs: 3_600_000, random: () => 0.5 };

describeStores('the worker refreshes a slice with one trait transaction', (ctx) => {
  it('stores the same trait and fact rows as one user at a time, with fewer commits', async () => {
    const one = counting(ctx.store.exec);
    const oneStore = buildStore(one.exec);
    const oneIds = await seed(oneStore, 'one');
    one.commits.all = 0;
    one.commits.traits = 0;
    const tallyOne = await pipelineFor(oneStore, config(), { embeddings: false }).createWorker({ concurrency: 1, clock }).drain();
    expect(tallyOne).toEqual({ done: TEXTS.length, retried: 0, parked: 0 });

    const many = counting(ctx.store.exec);
    const manyStore = buildStore(many.exec);
    const manyIds = await seed(manyStore, 'many');
    many.commits.all = 0;
    many.commits.traits = 0;
    const tallyMany = await pipelineFor(manyStore, config(), { embeddings: false }).createWorker({ concurrency: TEXTS.length, clock }).drain();
    expect(tallyMany).toEqual({ done: TEXTS.length, retried: 0, parked: 0 });

    for (const [i, u] of manyIds.entries()) expect(await rowsOf(ctx.store, u)).toEqual(await rowsOf(ctx.store, oneIds[i] as number));
    const all = (await Promise.all(manyIds.map((u) => rowsOf(ctx.store, u)))).flat();
    expect(all.some((r) => r.kind === 'fact')).toBe(true);
    expect(all.some((r) => r.kind === 'semantic')).toBe(true);
    // one trait transaction per user (each user's signals fit one batch) against one for the slice
    expect(one.commits.traits).toBe(TEXTS.length);
    expect(many.commits.traits).toBe(1);
    expect(many.commits.all).toBeLessThanOrEqual(one.commits.all - (TEXTS.length - 1));
    console.info(
      `[${ctx.store.exec.dialect}] commits for ${TEXTS.length} users: one at a time ${one.commits.all} (trait ${one.commits.traits}), one slice ${many.commits.all} (trait ${many.commits.traits})`,
    );
  });

  it('a user whose trait merge fails fails alone: the others are stored, its job is retried and stores its rows next time', async () => {
    const ids = await seed(ctx.store, 'f');
    const bad = ids[2] as number;
    const pg = ctx.store.exec.dialect === 'postgres';
    // a real failure inside the database: inserting any trait row for `bad` aborts its transaction
    if (pg) {
      await ctx.store.exec.run(
        `CREATE OR REPLACE FUNCTION trait_groups_worker_boom() RETURNS trigger AS $$ BEGIN IF NEW.user_id = ${bad} THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`,
      );
      await ctx.store.exec.run('CREATE TRIGGER trait_groups_worker_boom BEFORE INSERT ON traits FOR EACH ROW EXECUTE FUNCTION trait_groups_worker_boom()');
    } else {
      await ctx.store.exec.run(`CREATE TRIGGER trait_groups_worker_boom BEFORE INSERT ON traits WHEN NEW.user_id = ${bad} BEGIN SELECT RAISE(ABORT, 'boom'); END`);
    }
    const pipeline = pipelineFor(ctx.store, config(), { embeddings: false });
    const deps = pipeline.traitDeps;
    const unread = (u: number) => ctx.store.traits.unreadSignals(u, deps.offline.producer, deps.offline.version);
    const errors: string[] = [];
    try {
      const tally = await pipeline.createWorker({ concurrency: TEXTS.length, clock, ...noRetryYet, onError: (_j, err) => errors.push(String(err)) }).drain();
      expect(tally).toEqual({ done: TEXTS.length - 1, retried: 1, parked: 0 });
      expect(errors.join()).toMatch(/boom/);
    } finally {
      await ctx.store.exec.run(pg ? 'DROP TRIGGER trait_groups_worker_boom ON traits' : 'DROP TRIGGER trait_groups_worker_boom');
      if (pg) await ctx.store.exec.run('DROP FUNCTION trait_groups_worker_boom()');
    }
    expect(await rowsOf(ctx.store, bad)).toEqual([]);
    expect(await unread(bad)).toHaveLength(TEXTS[2]!.length);
    for (const u of ids.filter((u) => u !== bad)) {
      expect(await unread(u)).toEqual([]);
      // every user but the chit-chat one has extracted rows; everyone has computed ones
      expect((await rowsOf(ctx.store, u)).length).toBeGreaterThan(0);
    }
    // the retry (after its backoff) reads the failed user's signals and stores them
    const later = { ...systemClock, now: () => Date.now() + 30 * 86_400_000 };
    expect(await pipeline.createWorker({ concurrency: TEXTS.length, clock: later }).drain()).toEqual({ done: 1, retried: 0, parked: 0 });
    expect(await unread(bad)).toEqual([]);
    expect((await rowsOf(ctx.store, bad)).some((r) => r.kind === 'semantic' || r.kind === 'fact')).toBe(true);
  });
});

// An extraction that fails (the LLM endpoint refuses one user's request) fails that user alone.
let server: OpenAITestServer;
beforeAll(async () => {
  server = await startOpenAIServer();
});
afterAll(() => server.close());

describeStores('a slice whose trait stage fails for one user', (ctx) => {
  it("a user whose extraction fails fails alone: the others' signals are read and stored in the slice's transaction; its signals stay unread", async () => {
    const llmConfig = loadConfig({
      OPENAI_BASE_URL: server.baseURL,
      OPENAI_CHAT_MODEL: 'test-model',
      OPENAI_EMBEDDING_MODEL: 'test-embedding',
      OPENAI_RETRY_BASE_MS: '1',
      OPENAI_RETRY_MAX_MS: '5',
      OPENAI_MAX_RETRIES: '0',
      OPENAI_TIMEOUT_MS: '2000',
    });
    const ids = await seed(ctx.store, 'llm');
    // the request carrying the third user's text is refused (not retryable); the others get an empty answer
    server.chatHandler = (body) =>
      String(body.messages?.at(-1)?.content ?? '').includes(TEXTS[2]![2]!)
        ? { type: 'status', status: 400, message: 'refused' }
        : { type: 'answer', data: { operations: [], facts: [] } };
    const pipeline = pipelineFor(ctx.store, llmConfig, { embeddings: false });
    const deps = pipeline.traitDeps;
    expect(deps.llm).not.toBeNull();
    const outs = await pipeline.refreshUsers(ids);
    expect(outs.map((o) => o.ok)).toEqual(ids.map((_, i) => i !== 2));
    const unread = (u: number) => ctx.store.traits.unreadSignals(u, deps.llm!.producer, deps.llm!.version);
    expect(await unread(ids[2]!)).toHaveLength(TEXTS[2]!.length);
    for (const u of ids.filter((_, i) => i !== 2)) expect(await unread(u)).toEqual([]);
    expect(outs.filter((o) => o.ok).every((o) => o.ok && o.report.traits.extractor.startsWith(deps.llm!.producer))).toBe(true);
  });
});
