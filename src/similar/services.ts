/**
 * What the profile routes and commands share: the database, the providers, the profile deps and
 * the index owner. One per process that serves queries (the API server, a CLI command).
 */
import type { Config } from '../core/config.ts';
import type { Db } from '../db/connection.ts';
import { profileDepsFromConfig, type ProfileDeps } from '../profile/profile-stage.ts';
import { createProviders, type Providers } from '../providers/index.ts';
import { wrapProviders } from '../providers/usage.ts';
import { sqliteStore } from '../db/store.ts';
import { indexOptionsFromConfig, ProfileIndex } from './profile-index.ts';

export interface ProfileServices {
  db: Db;
  config: Config;
  providers: Providers;
  deps: ProfileDeps;
  index: ProfileIndex;
  close(): void;
}

export function createProfileServices(db: Db, config: Config, opts: { providers?: Providers; log?: (msg: string, fields?: Record<string, unknown>) => void } = {}): ProfileServices {
  // Summaries and segment compiling spend the same daily budget and are recorded like extraction
  // (TRANSITION: the composition root wraps once; wrapping is idempotent meanwhile).
  const providers = wrapProviders(opts.providers ?? createProviders(config), { ledger: sqliteStore(db).llm, dailyTokens: config.TRAITLENS_LLM_DAILY_TOKENS });
  const deps = profileDepsFromConfig(db, providers.embedder, config);
  const index = new ProfileIndex(deps, { ...indexOptionsFromConfig(config, db.path), ...(opts.log ? { log: opts.log } : {}) });
  return { db, config, providers, deps, index, close: () => index.close() };
}
