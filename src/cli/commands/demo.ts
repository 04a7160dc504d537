import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer } from '../../api/server.ts';
import { DEMO_ADMIN_KEY, describeTraits, runDemo } from '../../demo/run-demo.ts';
import { existsSync } from 'node:fs';
import { ConflictError } from '../../core/errors.ts';
import type { Config } from '../../core/config.ts';
import { openStore } from '../../db/open.ts';
import { isPgUrl } from '../../db/pg/pool.ts';
import { sqliteStore } from '../../db/store.ts';
import { assembleRuntime } from '../../runtime/runtime.ts';
import { summarise } from '../../profile/summary.ts';
import { createProfileServices } from '../../similar/services.ts';
import { similarUsers } from '../../similar/similar.ts';
import { ItemService } from '../../recommend/recommend.ts';
import { UsageError, writeLine, type Command } from '../command.ts';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'generate sample users, import them, build their profiles and serve them',
  usage: `usage: traitlens demo [--users N] [--seed N] [--db PATH] [--force] [--no-serve] [--json]

Builds a demo database in the data directory every command uses (TRAITLENS_DATA_DIR, default
./data: the database ./data/traitlens.db, models in ./data/models, the similar-users index beside the
database), so \`traitlens keys create\`, \`traitlens serve\` and the rest work on it afterwards with
nothing set. It generates a synthetic population with a fixed seed (default 2,000 users, ~300k
events with searches, chats, support tickets and reviews), imports it through the normal import
path, runs the pipeline for every user on the embedded defaults (offline trait extractor and
embeddings: no key, no network), trains two models and item embeddings, prints one user's profile
and recommendations, then starts the API
server (HOST/PORT) with the pipeline worker and prints an API key and curl examples.

The database is replaced on every run. A database the demo did not make (it has users but no
"demo admin" key) is left alone unless --force is given.

  --users N    population size (default 2000)
  --seed N     generator seed (default 42)
  --db PATH    database file (default TRAITLENS_DB, i.e. <TRAITLENS_DATA_DIR>/traitlens.db)
  --force      replace the database even if the demo did not make it
  --no-serve   stop after building the profiles (for scripts and CI)
  --json       with --no-serve: print the run's figures as one JSON object`,
  async run(args, { config, io }) {
    const { values } = parseArgs({
      args,
      options: {
        users: { type: 'string', default: '2000' },
        seed: { type: 'string', default: '42' },
        db: { type: 'string' },
        force: { type: 'boolean', default: false },
        'no-serve': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
    const users = Number(values.users);
    const seed = Number(values.seed);
    if (!Number.isInteger(users) || users < 1 || users > 100_000) throw new UsageError('--users must be an integer from 1 to 100000');
    if (!Number.isInteger(seed)) throw new UsageError('--seed must be an integer');
    const target = values.db ?? config.TRAITLENS_DB;
    if (isPgUrl(target)) throw new UsageError('the demo builds a SQLite database: pass --db PATH, or unset TRAITLENS_DB');
    const dbPath = resolve(target);
    const quiet = values.json === true;
    const log = (line: string) => writeLine(quiet ? io.stderr : io.stdout, line);
    if (!values.force) await refuseForeignDatabase(dbPath, config);

    const demo = await runDemo({ ...config, TRAITLENS_DB: dbPath }, { dbPath, users, seed, log });
    const showcase = await sqliteStore(demo.db).users.find(demo.showcaseUserId);
    if (values['no-serve']) {
      if (quiet) {
        writeLine(
          io.stdout,
          JSON.stringify({
            db: dbPath,
            modelsDir: demo.modelsDir,
            users,
            seed,
            import: { accepted: demo.import.accepted, duplicates: demo.import.duplicates, rejected: demo.import.rejected, seconds: demo.import.seconds },
            identified: demo.identified,
            pipeline: demo.pipeline,
            showcaseUserId: demo.showcaseUserId,
            showcaseTraits: showcase ? (await describeTraits(sqliteStore(demo.db).traits, showcase.id)).length : 0,
            timings: demo.timings,
            models: demo.models.models,
            items: demo.items && {
              version: demo.items.version,
              items: demo.items.items,
              interactions: demo.items.interactions,
              users: demo.items.users,
              seconds: demo.items.seconds,
            },
          }),
        );
      } else await printProfile();
      demo.db.close();
      return 0;
    }
    await printProfile();
    const serveConfig = { ...config, TRAITLENS_DB: dbPath, TRAITLENS_MODELS_DIR: demo.modelsDir };
    const server = await startServer({ config: serveConfig, runtime: assembleRuntime(sqliteStore(demo.db), serveConfig) });
    const u = server.url;
    const k = demo.adminKey.secret;
    log('');
    log(`Traitlens is serving the demo profiles at ${u}  (API docs: ${u}/docs)`);
    log(`Web console: ${u}/console  (paste the admin or the read-only key below)`);
    log(`admin API key (shown once): ${k}`);
    log(`read-only support key:      ${demo.readKey.secret}`);
    log('');
    log('Try:');
    log(`  export TL_KEY=${k}`);
    log(`  curl -s -H "Authorization: Bearer $TL_KEY" ${u}/v1/users/${demo.showcaseUserId}`);
    log(`  curl -s -H "Authorization: Bearer $TL_KEY" "${u}/v1/users/${demo.showcaseUserId}/traits?kind=semantic&minConfidence=0.6"`);
    log(`  curl -s -H "Authorization: Bearer $TL_KEY" ${u}/v1/users/${demo.showcaseUserId}/traits/interest/history`);
    log(`  curl -s -H "Authorization: Bearer $TL_KEY" "${u}/v1/users/${demo.showcaseUserId}/events?limit=5"`);
    const email = showcase ? (JSON.parse(showcase.attributes) as { email?: unknown }).email : undefined;
    if (typeof email === 'string') log(`  curl -s -H "Authorization: Bearer $TL_KEY" "${u}/v1/users?email=${encodeURIComponent(email)}"`);
    log(`  curl -s -H "Authorization: Bearer $TL_KEY" ${u}/v1/stats`);
    log(`  curl -s -H "Authorization: Bearer $TL_KEY" "${u}/v1/users/${demo.showcaseUserId}/traits?kind=predicted"`);
    log(`  curl -s -H "Authorization: Bearer $TL_KEY" ${u}/v1/models/purchase_30d`);
    log(`  curl -s -H "Authorization: Bearer $TL_KEY" "${u}/v1/users/${demo.showcaseUserId}/similar?k=5&filter=plan:pro"`);
    log(`  curl -s -H "Authorization: Bearer $TL_KEY" "${u}/v1/users/${demo.showcaseUserId}/summary?audience=support"`);
    log(`  curl -s -H "Authorization: Bearer $TL_KEY" ${u}/v1/users/${demo.showcaseUserId}/recommendations`);
    log(`  curl -s -H "Authorization: Bearer $TL_KEY" -H 'content-type: application/json' ${u}/v1/search/users -d '{"query":"hiking boots","k":5}'`);
    log(
      `  curl -s -H "Authorization: Bearer $TL_KEY" -H 'content-type: application/json' ${u}/v1/segments \\\n` +
        `       -d '{"name":"keen hikers","filter":{"trait":{"key":"interest","value":"hiking","minConfidence":0.6}}}'`,
    );
    log(`  curl -s -X POST -H "Authorization: Bearer $TL_KEY" "${u}/v1/segments/1/lookalikes?k=5"`);
    log(
      `  curl -s -H "Authorization: Bearer $TL_KEY" -H 'content-type: application/json' ${u}/v1/events \\\n` +
        `       -d '{"events":[{"userId":"${demo.showcaseUserId}","type":"chat_message","text":"I just adopted a cat","eventId":"demo-1"}]}'`,
    );
    log('');
    log('Ctrl-C stops the server.');
    return new Promise<number>(() => {}); // serve until a signal; the server's handler exits the process

    async function printProfile(): Promise<void> {
      if (!showcase) return;
      log('');
      log(`Profile of ${demo.showcaseUserId} (profile version ${showcase.profileVersion}):`);
      for (const line of await describeTraits(sqliteStore(demo.db).traits, showcase.id)) log(line);
      const summary = await summarise({ store: sqliteStore(demo.db), chat: null, defaultConsent: config.TRAITLENS_DEFAULT_CONSENT }, showcase, 'support');
      log('');
      log(`Summary (${summary.generator}, profile version ${summary.profileVersion}):`);
      log(`  ${summary.summary}`);
      const profiles = createProfileServices(demo.db, config);
      const similar = await similarUsers(profiles, showcase.id, { k: 5 });
      log('');
      log(`Similar users (${similar.vectorVersion ?? 'no vector'}):`);
      for (const r of similar.results)
        log(`  ${r.userId.padEnd(10)} ${r.similarity.toFixed(3)}  shared: ${r.sharedTraits.map((t) => `${t.key}=${String(t.value)}`).join(', ') || '-'}`);
      const items = new ItemService(profiles);
      const top = await items.userTopItems(showcase.id, 3);
      const rec = await items.recommend(showcase.id, { k: 5, neighbours: 20 });
      log('');
      log(`Top items: ${top.map((t) => `${t.title ?? t.item} (${t.n}×)`).join('; ') || '-'}`);
      log(`Recommended items (item embeddings ${rec.embeddingsVersion ?? 'none'}, ${rec.neighbours} similar users):`);
      for (const r of rec.recommendations) log(`  ${(r.title ?? r.item).padEnd(34)} ${r.score.toFixed(3)}  ${r.reasons.map((x) => x.text).join('; ')}`);
      if (rec.note) log(`  (${rec.note})`);
    }
  },
};

/** The demo replaces its database: refuse when the file holds someone's data rather than an earlier demo's. */
async function refuseForeignDatabase(dbPath: string, config: Config): Promise<void> {
  if (!existsSync(dbPath)) return;
  const store = await openStore({ ...config, TRAITLENS_DB: dbPath });
  try {
    if (!(await store.users.hasAny())) return;
    if ((await store.keys.list({ includeRevoked: true })).some((k) => k.name === DEMO_ADMIN_KEY)) return;
  } finally {
    await store.close();
  }
  throw new ConflictError(`${dbPath} holds data the demo did not create, and the demo replaces its database: pass --db PATH for another file, or --force to replace it`, {
    db: dbPath,
  });
}
