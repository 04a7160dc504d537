/**
 * Pipeline benchmark: the per-user refresh over every demo user, with the offline providers.
 *   node --import tsx bench/pipeline.ts [--users 2000] [--seed 42] [--limit N]
 *
 * The demo database (`traitlens demo --no-serve`'s steps: population, import, declared data,
 * pipeline, models, items, vectors) is built once and cached under .cache/bench-pipeline/<users>-<seed>/;
 * each run copies it and refreshes every user again on the copy (traits, embeddings, features,
 * scores, vector), timing the whole refresh and, per user, the stages as the report returns them.
 * The copy's users were already refreshed by the demo, so this is the steady-state refresh (no new
 * signals); the history rows added per user are printed (0 expected).
 *
 * Not yet here: the dependency floor (a plain better-sqlite3 + wink-nlp + tfjs + hnswlib script
 * doing the same work) and its ratio; see the README's "Pipeline speed" note.
 */
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/core/config.ts';
import { openDb } from '../src/db/connection.ts';
import { sqliteStore } from '../src/db/store.ts';
import { runDemo } from '../src/demo/run-demo.ts';
import { assembleRuntime } from '../src/runtime/runtime.ts';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '42' },
    limit: { type: 'string' },
  },
});

const cacheDir = resolve('.cache/bench-pipeline', `${values.users}-${values.seed}`);
const demoDb = join(cacheDir, 'demo.db');
const modelsDir = join(cacheDir, 'models');
const base = loadConfig({ ...process.env, TRAITLENS_DATA_DIR: cacheDir, TRAITLENS_DB: demoDb, TRAITLENS_MODELS_DIR: modelsDir });

if (!existsSync(join(cacheDir, 'done'))) {
  mkdirSync(cacheDir, { recursive: true });
  console.log(`building the demo database once → ${demoDb}`);
  const r = await runDemo(base, { dbPath: demoDb, modelsDir, users: Number(values.users), seed: Number(values.seed), log: (l) => console.log(`  ${l}`) });
  r.db.sqlite.close();
  mkdirSync(join(cacheDir, 'done'));
}

const runPath = join(cacheDir, 'run.db');
for (const s of ['', '-wal', '-shm']) rmSync(`${runPath}${s}`, { force: true });
{
  const src = openDb(demoDb);
  src.sqlite.pragma('wal_checkpoint(TRUNCATE)');
  src.sqlite.close();
}
copyFileSync(demoDb, runPath);
const db = openDb(runPath, { busyTimeoutMs: base.TRAITLENS_BUSY_TIMEOUT_MS });
const store = sqliteStore(db);
const config = { ...base, TRAITLENS_DB: runPath };
const asOf = (await store.features.maxEventTs()) ?? Date.now();
const { pipeline } = assembleRuntime(store, config, { featuresAsOf: asOf });
let ids = (db.sqlite.prepare('SELECT id FROM users ORDER BY id').all() as { id: number }[]).map((r) => r.id);
if (values.limit) ids = ids.slice(0, Number(values.limit));
const traitRows = () => (db.sqlite.prepare('SELECT COUNT(*) AS n FROM traits').get() as { n: number }).n;

// Warm-up: models, word vectors and tfjs load once per process.
await pipeline.refreshUser(ids[0] as number);
const before = traitRows();
const load0 = loadavg();
const t0 = performance.now();
for (const id of ids) await pipeline.refreshUser(id);
const seconds = (performance.now() - t0) / 1000;
const added = traitRows() - before;
const load1 = loadavg();

console.log('\n| what | users | seconds | users/s | trait rows added per user |');
console.log('|---|---:|---:|---:|---:|');
console.log(
  `| traitlens refreshUser (offline providers, steady state) | ${ids.length} | ${seconds.toFixed(1)} | ${(ids.length / seconds).toFixed(0)} | ${(added / ids.length).toFixed(2)} |`,
);
console.log(`\nload average before ${load0.map((l) => l.toFixed(2)).join(' ')}, after ${load1.map((l) => l.toFixed(2)).join(' ')} (2 cores, shared machine: other work running)`);
db.sqlite.close();
