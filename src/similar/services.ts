/**
 * What the profile routes and commands share: the store, the providers, the profile deps and the
 * index owner. One per process that serves queries (the API server, a CLI command).
 */
import type { Config } from '../core/config.ts';
import type { Db } from '../db/connection.ts';
import { sqliteStore, type Store } from '../db/store.ts';
import { profileDepsFromConfig, type ProfileDeps } from '../profile/profile-stage.ts';
import { createProviders, type Providers } from '../providers/index.ts';
import { wrapProviders } from '../providers/usage.ts';
import { indexOptionsFromConfig, ProfileIndex } from './profile-index.ts';

export interface ProfileServices {
  store: Store;
  config: Config;
  /** chat metered (daily budget, usage of every call): summaries and segment compiling go through it */
  providers: Providers;
  deps: ProfileDeps;
  index: ProfileIndex;
  close(): void;
}

/**
 * TRANSITION: callers still holding a `Db` pass it (its store is `sqliteStore(db)`, the index file
 * sits beside it); the composition root will pass its `Store`.
 */
export function createProfileServices(
  from: Store | Db,
  config: Config,
  opts: { providers?: Providers; log?: (msg: string, fields?: Record<string, unknown>) => void } = {},
): ProfileServices {
  const store = 'sqlite' in from ? sqliteStore(from) : from;
  const dbPath = 'sqlite' in from ? from.path : 'db' in store ? (store as { db: Db }).db.path : config.TRAITLENS_DB;
  // Wrapping is idempotent: providers the caller already metered are used as they are.
  const providers = wrapProviders(opts.providers ?? createProviders(config), { ledger: store.llm, dailyTokens: config.TRAITLENS_LLM_DAILY_TOKENS });
  const deps = profileDepsFromConfig(store, providers.embedder, config);
  const index = new ProfileIndex(deps, { ...indexOptionsFromConfig(config, dbPath), ...(opts.log ? { log: opts.log } : {}) });
  return { store, config, providers, deps, index, close: () => index.close() };
}
