import type { Config } from '../core/config.ts';
import { openStore } from '../db/open.ts';
import type { Store } from '../db/store.ts';
import type { UserDataSection } from '../db/user-data.ts';
import { createPipeline, type Pipeline } from '../pipeline/pipeline.ts';
import { createProviders, type Providers } from '../providers/index.ts';
import { wrapProviders } from '../providers/usage.ts';
import { createProfileServices, type ProfileServices } from '../similar/services.ts';
import { ItemService } from '../recommend/recommend.ts';
import { loadCatalogue, type Catalogue } from '../traits/catalogue.ts';

/**
 * The composition root. Everything a process runs on is built here, once: the store, the
 * providers (wrapped once with the daily token budget and usage recording of every call), the
 * catalogue, the per-user data list (what erasure deletes and export returns), the pipeline and
 * the profile services with their vector index. The API, the worker (thread or process) and every
 * CLI command receive a Runtime; nothing below builds its own.
 */
export interface Runtime {
  readonly config: Config;
  readonly store: Store;
  /** chat metered (daily budget, usage of successes and failures), embedder */
  readonly providers: Providers;
  readonly catalogue: Catalogue;
  /** every kind of per-user data, the vector index's included: erasure and export walk this list */
  readonly userData: readonly UserDataSection[];
  readonly pipeline: Pipeline;
  readonly profiles: ProfileServices;
  /** the item catalogue's service: active item embeddings (cached), similar items, recommendations */
  readonly items: ItemService;
  /**
   * Where similar-user queries run: `hnsw`, an in-process index file this process owns (SQLite), or
   * `pgvector`, in SQL (PostgreSQL; replicas hold no index and answer alike).
   */
  readonly vectorIndex: 'hnsw' | 'pgvector';
  /** closes the index and the store (when the runtime opened it) */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** unwrapped providers (tests pass ones pointed at a loopback server); default from config */
  providers?: Providers;
  /** the cut-off for behavioural features and scoring (default now; the demo pins its data's end) */
  featuresAsOf?: number;
  /** build text embeddings and user vectors in the pipeline (default true) */
  embeddings?: boolean;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** close the store with the runtime (default: true when createRuntime opened it) */
  ownsStore?: boolean;
}

/** Builds the runtime over an open store (synchronous: nothing here does I/O beyond reading files). */
export function assembleRuntime(store: Store, config: Config, opts: RuntimeOptions = {}): Runtime {
  const providers = wrapProviders(opts.providers ?? createProviders(config), { ledger: store.llm, dailyTokens: config.TRAITLENS_LLM_DAILY_TOKENS });
  const catalogue = loadCatalogue(config.TRAITLENS_TRAIT_CATALOGUE);
  const profiles = createProfileServices(store, config, { providers, ...(opts.log ? { log: opts.log } : {}) });
  const vectorIndex = store.profiles.nearest ? 'pgvector' : 'hnsw';
  // The in-process index holds per-user data too (erased after the commit, exported as a flag).
  const userData = [...store.userData, ...(vectorIndex === 'hnsw' ? [profiles.index.dataSection()] : [])];
  const pipeline = createPipeline(store, config, {
    providers,
    catalogue,
    userData,
    ...(opts.featuresAsOf !== undefined ? { featuresAsOf: opts.featuresAsOf } : {}),
    ...(opts.embeddings !== undefined ? { embeddings: opts.embeddings } : {}),
  });
  let closed: Promise<void> | undefined;
  return {
    config,
    store,
    providers,
    catalogue,
    userData,
    pipeline,
    profiles,
    items: new ItemService(profiles),
    vectorIndex,
    close: () =>
      (closed ??= (async () => {
        profiles.close();
        if (opts.ownsStore) await store.close();
      })()),
  };
}

/** Opens the configured store (SQLite file or PostgreSQL URL, migrated) and assembles the runtime on it. */
export async function createRuntime(config: Config, opts: RuntimeOptions = {}): Promise<Runtime> {
  const store = await openStore(config);
  try {
    return assembleRuntime(store, config, { ownsStore: true, ...opts });
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** Runs `fn` with a runtime and closes it afterwards (CLI commands). */
export async function withRuntime<T>(config: Config, fn: (rt: Runtime) => Promise<T>, opts: RuntimeOptions = {}): Promise<T> {
  const rt = await createRuntime(config, opts);
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}
