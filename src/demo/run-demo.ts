import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Config } from '../core/config.ts';
import { UnprocessableError } from '../core/errors.ts';
import type { Json } from '../core/types.ts';
import { openDb, type Db } from '../db/connection.ts';
import { sqliteStore } from '../db/store.ts';
import type { FeatureStore } from '../db/stores/features.ts';
import type { TraitStore } from '../db/stores/traits.ts';
import { importFile, type ImportSummary } from '../ingest/import-file.ts';
import { assembleRuntime } from '../runtime/runtime.ts';
import { rebuildAllProfiles } from '../profile/profile-stage.ts';
import { createProfileServices } from '../similar/services.ts';
import type { RunTally } from '../jobs/worker.ts';
import type { DemoModelsResult } from './models.ts';
import { writePopulationJsonl, type DeclaredAttributes, type Identify } from './population.ts';
import { trainStoreItemEmbeddings, type ItemTrainReport } from '../pipeline/item-embeddings.ts';
import { demoItemCatalogue } from './items.ts';

/** The name of the admin key every demo database has (how the demo knows a database is its own). */
export const DEMO_ADMIN_KEY = 'demo admin';

export interface DemoOptions {
  dbPath: string;
  /** where the demo's models go (default: the config's TRAITLENS_MODELS_DIR, `<TRAITLENS_DATA_DIR>/models`) */
  modelsDir?: string;
  users: number;
  seed: number;
  /** called with a line of progress text */
  log?: (line: string) => void;
}

export interface DemoResult {
  db: Db;
  adminKey: { id: string; secret: string };
  readKey: { id: string; secret: string };
  import: ImportSummary;
  identified: number;
  pipeline: RunTally & { seconds: number };
  /** a user with a rich profile, to show */
  showcaseUserId: string;
  timings: Record<string, number>;
  /** the item embeddings trained from the demo's interactions */
  items: ItemTrainReport | null;
  /** the folder of the demo's trained models (TRAITLENS_MODELS_DIR unless given), for the server it starts */
  modelsDir: string;
  models: DemoModelsResult;
}

/**
 * The demo's main job on the embedded defaults: a fresh database, a synthetic population (fixed
 * seed) written as JSONL and imported through the normal import path, the client's declared data
 * (identify calls, attributes), then the pipeline over every user. No key, no network.
 */
export async function runDemo(config: Config, opts: DemoOptions): Promise<DemoResult> {
  const log = opts.log ?? (() => {});
  const timings: Record<string, number> = {};
  const time = async <T>(name: string, fn: () => T | Promise<T>): Promise<T> => {
    const t = performance.now();
    const r = await fn();
    timings[name] = Math.round(performance.now() - t) / 1000;
    return r;
  };
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${opts.dbPath}${suffix}`, { force: true });
  // The same models folder every command reads (TRAITLENS_MODELS_DIR); only the demo's own models are replaced.
  const modelsDir = resolve(opts.modelsDir ?? config.TRAITLENS_MODELS_DIR);
  // Loaded here, not at the top: the models module pulls in tfjs, which importers of this file need not pay for.
  const { clearDemoModels, trainDemoModels } = await import('./models.ts');
  clearDemoModels(modelsDir);
  const db = openDb(opts.dbPath, { synchronous: 'NORMAL', busyTimeoutMs: config.TRAITLENS_BUSY_TIMEOUT_MS });

  const eventsPath = join(dirname(opts.dbPath), 'demo-events.jsonl');
  log(`generating ${opts.users} users (seed ${opts.seed}) → ${eventsPath}`);
  const written = await time('generate', () => writePopulationJsonl(eventsPath, { users: opts.users, seed: opts.seed }));
  log(`importing ${written.events.toLocaleString('en-US')} events through the normal import path`);
  const imported = await time('import', () => importFile(sqliteStore(db).events, eventsPath, {}));
  log(
    `  accepted ${imported.accepted.toLocaleString('en-US')}, duplicates ${imported.duplicates}, rejected ${imported.rejected} ` +
      `(${
        Object.entries(imported.rejectedByReason)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ') || 'none'
      }) in ${imported.seconds.toFixed(1)}s`,
  );

  const declared = JSON.parse(readFileSync(written.declaredPath, 'utf8')) as { identifies: Identify[]; attributes: DeclaredAttributes[] };
  const users = sqliteStore(db).users;
  const identified = await time('declare', async () => {
    let n = 0;
    for (const i of declared.identifies) if ((await users.identify(i.anonymousId, i.userId)).status !== 'unchanged') n++;
    // Demo users opted in to marketing, so segments and lookalikes have someone to show. An email is one
    // user's identity: a generated address that repeats (same name, same suffix) stays with its first user.
    const emails = new Set<string>();
    for (const a of declared.attributes) {
      const { email, ...rest } = a.attributes;
      const attrs: Record<string, Json> = emails.has(email.toLowerCase()) ? rest : { ...rest, email };
      emails.add(email.toLowerCase());
      await users.setAttributes(a.userId, attrs, { marketing: true });
    }
    return n;
  });
  log(`identified ${identified} anonymous visitors; declared attributes for ${declared.attributes.length} users`);

  log('running the pipeline for every user (offline trait extraction, embeddings)…');
  // Behavioural features and scores as of the data's end (the population is a fixed past period).
  const store = sqliteStore(db);
  const dataEnd = (await store.features.maxEventTs()) ?? Date.now();
  const { pipeline } = assembleRuntime(store, { ...config, TRAITLENS_MODELS_DIR: modelsDir }, { featuresAsOf: dataEnd });
  const started = performance.now();
  const tally = await time('pipeline', () =>
    pipeline.createWorker().drain((t) => {
      if (t.done % 250 === 0 && t.done > 0) log(`  ${t.done} users processed`);
    }),
  );
  const seconds = Math.round(performance.now() - started) / 1000;
  log(`  ${tally.done} users in ${seconds}s; parked ${tally.parked}`);

  log('training behavioural models (purchase propensity, churn) and scoring every user…');
  const models = await time('models', () => trainDemoModels(store, { modelsDir, asOf: dataEnd, defaultConsent: config.TRAITLENS_DEFAULT_CONSENT, log }));

  // Items: the shop's catalogue, then item embeddings from what people viewed and bought (the
  // recommendations' "bought with" candidates; the pipeline would retrain them on its own too).
  log('importing the item catalogue and training item embeddings…');
  const items = await time('items', async () => {
    const imported = await store.items.upsert(demoItemCatalogue(), 'import');
    try {
      const r = await trainStoreItemEmbeddings(store, config, { seed: 42 });
      log(`  ${imported} catalogue items; ${r.items} embedded from ${r.interactions} interactions of ${r.users} users in ${r.seconds}s (${r.version})`);
      return r;
    } catch (err) {
      // A tiny population may not have enough baskets: recommendations then use similar users and popularity.
      if (!(err instanceof UnprocessableError)) throw err;
      log(`  ${imported} catalogue items; no item embeddings: ${err.message}`);
      return null;
    }
  });

  // Vectors were built per user as the pipeline ran; refit the behaviour scaler on the whole
  // population, recompute them, and build the similar-users index file.
  log('building user vectors and the similar-users index…');
  await time('vectors', async () => {
    const profiles = createProfileServices(db, config);
    // As of the data's end, as the pipeline computed them: a refresh pinned to it (bench/pipeline)
    // then rewrites no vector, and the behaviour scaler is fitted on the same clock.
    const built = await rebuildAllProfiles(profiles.deps, { now: dataEnd });
    const ix = await profiles.index.rebuild();
    log(`  ${built.stored} vectors (${(await profiles.index.currentLayout()).dim}-d), index ${ix.upserted} → ${profiles.index.opts.path}`);
  });
  const adminKey = await sqliteStore(db).keys.create(DEMO_ADMIN_KEY, ['admin']);
  const readKey = await sqliteStore(db).keys.create('demo support (read-only)', ['profiles:read', 'summaries:read']);
  return {
    db,
    adminKey,
    readKey,
    import: imported,
    identified,
    pipeline: { ...tally, seconds },
    showcaseUserId: await pickShowcase(store.features),
    timings,
    modelsDir,
    models,
    items,
  };
}

/** The known user with the most distinct semantic trait keys (ties: lowest id), for a rich example. */
export async function pickShowcase(features: FeatureStore): Promise<string> {
  return (await features.richestKnownUser()) ?? 'u00001';
}

/** A readable block of a user's current traits with their evidence. */
export async function describeTraits(traits: TraitStore, userId: number): Promise<string[]> {
  return (await traits.current(userId)).map((t) => {
    const ev = t.evidence[0];
    const quote = ev ? `  “${ev.quote}” (event ${ev.eventId}${t.evidence.length > 1 ? ` +${t.evidence.length - 1} more` : ''})` : '';
    return `  ${t.kind.padEnd(9)} ${t.key} = ${JSON.stringify(t.value)}  [${t.confidence.toFixed(2)}, ${t.producer}]${quote}`;
  });
}
