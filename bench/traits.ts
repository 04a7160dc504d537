/**
 * Traits benchmark: offline extraction speed and the LLM path's calls and tokens per batch budget.
 *   node --import tsx bench/traits.ts [--data ../shared/datasets/personachat/speakers-dev.jsonl] [--synthetic] [--users N] [--llm-users N]
 *     [--synchronous FULL|NORMAL]   (the stage database's synchronous pragma; FULL, the default, is what the service runs)
 *     [--group N]                   (users per transaction in the grouped trait-stage row; default 50)
 *     [--only extractor,stage,llm]  (the sections to run; default all)
 *
 * Text: PersonaChat utterances when the file exists (one user per speaker), else the synthetic
 * population's text events (src/demo/population.ts). The LLM rows go through the real openai /
 * langchain client to the loopback test server, whose answers come from the echo oracle (the
 * offline extractor on the prompt's signals): they measure calls and tokens, not model quality.
 * Tokens are the usage recorded in the llm_calls table.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/core/config.ts';
import { openDb, type Db } from '../src/db/connection.ts';
import { IngestStore } from '../src/db/ingest-store.ts';
import { sqliteStore } from '../src/db/store.ts';
import { generatePopulation } from '../src/demo/population.ts';
import { echoOracleAnswer, loadSpeakers } from '../src/eval/traits.ts';
import { ingestBatch } from '../src/ingest/ingest.ts';
import { pipelineFor } from '../test/support/runtime.ts';
import { extractTraitsForUser, extractTraitsForUsers } from '../src/traits/extract-stage.ts';
import { extractOffline } from '../src/traits/offline-extractor.ts';
import { startOpenAIServer } from '../test/support/openai-server.ts';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/datasets/personachat/speakers-dev.jsonl' },
    synthetic: { type: 'boolean', default: false },
    users: { type: 'string', default: '1200' },
    'llm-users': { type: 'string', default: '100' },
    synchronous: { type: 'string', default: 'FULL' },
    /** users whose trait-stage merges share one transaction in the grouped row */
    group: { type: 'string', default: '50' },
    /** comma-separated: extractor, stage, llm (default all) */
    only: { type: 'string', default: 'extractor,stage,llm' },
  },
});
const only = new Set(values.only.split(','));

/** user → texts, in order. */
function loadTexts(): { source: string; users: string[][] } {
  const n = Number(values.users);
  if (!values.synthetic && existsSync(values.data)) {
    return {
      source: `PersonaChat ${values.data}`,
      users: loadSpeakers(values.data)
        .slice(0, n)
        .map((s) => s.utterances),
    };
  }
  const pop = generatePopulation({ users: n, seed: 7 });
  const by = new Map<string, string[]>();
  for (const e of pop.events) {
    const ev = e as { userId?: string; anonymousId?: string; text?: string };
    if (!ev.text) continue;
    const id = ev.userId ?? ev.anonymousId ?? '?';
    by.set(id, [...(by.get(id) ?? []), ev.text]);
  }
  return { source: `synthetic population (${n} users, seed 7)`, users: [...by.values()] };
}

function importUsers(db: Db, users: string[][]): number[] {
  const store = new IngestStore(db);
  const T0 = Date.UTC(2024, 0, 1);
  let batch: unknown[] = [];
  for (const [u, texts] of users.entries()) {
    for (const [i, text] of texts.entries()) batch.push({ userId: `b-${u}`, type: 'chat_message', text, timestamp: T0 + u * 3_600_000 + i * 60_000, eventId: `b-${u}-${i}` });
    if (batch.length >= 500 || u === users.length - 1) {
      ingestBatch(store, batch, { now: Date.now() });
      batch = [];
    }
  }
  return (db.sqlite.prepare("SELECT user_id FROM identities WHERE alias LIKE 'b-%' ORDER BY user_id").all() as { user_id: number }[]).map((r) => r.user_id);
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
};

const { source, users } = loadTexts();
const loadAtStart = loadavg()
  .map((x) => x.toFixed(2))
  .join(' ');
const rows: [string, string][] = [];
const dirs: string[] = [];
const sync = values.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL';
const tempDb = (synchronous: 'NORMAL' | 'FULL' = 'FULL') => {
  const d = mkdtempSync(join(tmpdir(), 'traitlens-bench-traits-'));
  dirs.push(d);
  return { db: openDb(join(d, 'b.db'), { synchronous }), path: join(d, 'b.db') };
};

try {
  // 1. The extractor alone (no database): pure CPU, with facts off (the 1.1.0 work) and on.
  if (only.has('extractor')) {
    const signals = users.map((texts) => texts.map((text, i) => ({ eventId: i + 1, type: 'chat_message', text, ts: i })));
    // loads wink-nlp and warms the JIT outside the timing (otherwise whichever pass runs first loses)
    for (const s of signals) extractOffline(s, []);
    // two rounds, off and on alternating, so load swings on a shared machine hit both alike
    const rate: Record<string, number> = {};
    for (const [round, facts] of [
      [1, false],
      [1, true],
      [2, false],
      [2, true],
    ] as const) {
      const t = performance.now();
      const c0 = process.cpuUsage();
      let n = 0;
      let found = 0;
      for (const s of signals) {
        found += extractOffline(s, [], { facts }).facts.length;
        n += s.length;
      }
      const c = process.cpuUsage(c0);
      rate[String(facts)] = (rate[String(facts)] ?? 0) + n / ((performance.now() - t) / 1000) / 2;
      rows.push([
        `offline extractor alone (no DB), facts ${facts ? 'on' : 'off'}, round ${round}`,
        `${Math.round(rate[String(facts)] as number)} signals/s wall, ${Math.round(n / ((c.user + c.system) / 1e6))} per CPU-second (${n} signals${facts ? `, ${found} facts` : ''})`,
      ]);
    }
    rows.push(['  facts on / off (wall, mean of the rounds)', `${((rate.true as number) / (rate.false as number)).toFixed(2)}×`]);
  }

  // 2. The whole trait stage (read unread signals, redact, extract, merge, mark read), on SQLite
  //    with the service's synchronous setting: users grouped per transaction (--group), one
  //    transaction per user, and the per-user refresh (trait stage + computed traits) as earlier
  //    figures measured it. Each on a fresh copy of the same imported database.
  if (only.has('stage')) {
    const group = Math.max(1, Number(values.group));
    // wink-nlp loads and the JIT warms outside the timing
    for (const texts of users.slice(0, 50))
      extractOffline(
        texts.map((text, i) => ({ eventId: i + 1, type: 'chat_message', text, ts: i })),
        [],
      );
    const stored: string[] = [];
    const modes = [
      { label: `${group} users per transaction`, run: 'group' },
      { label: 'one transaction per user', run: 'user' },
      { label: 'refreshUser per user: + computed traits', run: 'refresh' },
    ] as const;
    for (const mode of modes) {
      const { db, path } = tempDb(sync);
      const ids = importUsers(db, users);
      const pipeline = pipelineFor(db, loadConfig({ TRAITLENS_DB: path, TRAITLENS_EMBEDDER: 'offline', TRAITLENS_WORKER: 'false' }), { embeddings: false });
      const lat: number[] = [];
      let n = 0;
      let commits = 0;
      const t = performance.now();
      const c0 = process.cpuUsage();
      if (mode.run === 'group') {
        for (let i = 0; i < ids.length; i += group) {
          const slice = ids.slice(i, i + group);
          for (const r of await extractTraitsForUsers(pipeline.traitDeps, slice, { groupUsers: group })) n += r.signals;
          commits++;
        }
      } else {
        for (const id of ids) {
          const t1 = performance.now();
          n += mode.run === 'user' ? (await extractTraitsForUser(pipeline.traitDeps, id)).signals : (await pipeline.refreshUser(id)).traits.signals;
          lat.push(performance.now() - t1);
        }
      }
      const c = process.cpuUsage(c0);
      const s = (performance.now() - t) / 1000;
      const kinds = db.sqlite.prepare("SELECT kind, count(*) AS n FROM traits WHERE valid_to IS NULL AND kind IN ('semantic','fact') GROUP BY kind").all() as {
        kind: string;
        n: number;
      }[];
      const count = (k: string) => kinds.find((r) => r.kind === k)?.n ?? 0;
      stored.push(
        JSON.stringify(
          db.sqlite
            .prepare(
              "SELECT i.alias, t.kind, t.key, t.value, t.confidence, t.valid_to IS NULL AS open FROM traits t JOIN identities i ON i.user_id = t.user_id AND i.alias LIKE 'b-%' WHERE t.kind IN ('semantic','fact') ORDER BY t.id",
            )
            .all(),
        ),
      );
      rows.push([
        `offline trait stage (SQLite, synchronous ${sync}, facts on), ${mode.label}`,
        `${Math.round(n / s)} signals/s wall, ${Math.round(n / ((c.user + c.system) / 1e6))} per CPU-second (${n} signals, ${ids.length} users; current rows: ${count('semantic')} traits, ${count('fact')} facts)`,
      ]);
      if (mode.run === 'group') rows.push(['  groups (one transaction each, one more per extra batch of a user)', String(commits)]);
      else rows.push(['  per-user latency p50 / p99', `${quantile(lat, 0.5).toFixed(2)} ms / ${quantile(lat, 0.99).toFixed(2)} ms`]);
      db.close();
    }
    rows.push(['  same trait and fact rows in the three runs', stored.every((x) => x === stored[0]) ? 'yes' : 'NO']);
  }

  // 3. The LLM path through the loopback server, per batch budget; then a forced re-read (cache).
  if (only.has('llm')) {
    const server = await startOpenAIServer({
      chatHandler: (body) => {
        const prompt = (body.messages ?? []).map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content))).join('\n');
        return { type: 'answer', data: echoOracleAnswer(prompt) };
      },
    });
    try {
      const llmUsers = users.slice(0, Number(values['llm-users']));
      for (const budget of [100, 500, 2000, 8000]) {
        const { db, path } = tempDb();
        const ids = importUsers(db, llmUsers);
        const config = loadConfig({
          TRAITLENS_DB: path,
          TRAITLENS_EMBEDDER: 'offline',
          TRAITLENS_WORKER: 'false',
          TRAITLENS_EXTRACT_BATCH_TOKENS: String(budget),
          OPENAI_BASE_URL: server.baseURL,
          OPENAI_CHAT_MODEL: 'test-model',
        });
        const pipeline = pipelineFor(db, config, { embeddings: false });
        let n = 0;
        const t = performance.now();
        for (const id of ids) n += (await pipeline.refreshUser(id)).traits.signals;
        const s = (performance.now() - t) / 1000;
        const usage = () =>
          db.sqlite.prepare("SELECT count(*) AS calls, coalesce(sum(prompt_tokens),0) AS p, coalesce(sum(completion_tokens),0) AS c FROM llm_calls WHERE status = 'ok'").get() as {
            calls: number;
            p: number;
            c: number;
          };
        const u = usage();
        const per100 = (x: number) => ((x / n) * 100).toFixed(1);
        rows.push([
          `LLM budget ${budget} tokens (${ids.length} users, ${n} signals)`,
          `${per100(u.calls)} calls, ${per100(u.p)} prompt + ${per100(u.c)} completion tokens per 100 signals; ${(n / s).toFixed(0)} signals/s on loopback`,
        ]);
        for (const id of ids) await sqliteStore(db).traits.forgetSignalsRead(id);
        let again = 0;
        let calls = 0;
        for (const id of ids) {
          const r = await pipeline.refreshUser(id);
          again += r.traits.signals;
          calls += r.traits.calls;
        }
        const u2 = usage();
        rows.push([`  re-run after forgetSignalsRead`, `${again} signals re-read, ${calls} calls (llm_calls rows ${u.calls} → ${u2.calls}): answered from the cache`]);
        db.close();
      }
    } finally {
      await server.close();
    }
  }
} finally {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

const w = Math.max(...rows.map((r) => r[0].length));
console.log(
  `traits benchmark — text: ${source}; load average ${loadAtStart} at the start, ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')} at the end`,
);
console.log('LLM rows: loopback server with the echo oracle (offline extractor on the prompt): calls and tokens, not model quality.');
for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
