import { join } from 'node:path';
import type { Hono } from 'hono';
import type { Config } from '../../src/core/config.ts';
import type { Scope } from '../../src/core/types.ts';
import { createApp } from '../../src/api/app.ts';
import type { ApiEnv } from '../../src/api/types.ts';
import { createRuntime, type Runtime } from '../../src/runtime/runtime.ts';
import { createKeysPerScope, readResponse, testConfig, type ApiResponse } from './api.ts';
import { createTempPgSchema, pgAvailable } from './pg.ts';
import { tempDir } from './temp-db.ts';

/** The real app on one backend, built the way the server builds it: createRuntime(config) → createApp(runtime). */
export interface BackendApi {
  runtime: Runtime;
  config: Config;
  app: Hono<ApiEnv>;
  /** one key secret per scope, created through the store */
  keys: Record<Scope, string>;
  request(method: string, path: string, opts?: { key?: string | null; json?: unknown }): Promise<ApiResponse>;
  cleanup(): Promise<void>;
}

export interface ApiBackend {
  name: 'sqlite' | 'postgres';
  /** whether this run can use it (PostgreSQL: TRAITLENS_TEST_PG_URL; without it skipped, except in CI where pgAvailable throws) */
  available: boolean;
  open(env?: Record<string, string>): Promise<BackendApi>;
}

async function build(dbTarget: string, cacheDir: string, env: Record<string, string>, onClose: () => Promise<void>): Promise<BackendApi> {
  // The cache dir (LLM cache, and for SQLite the index file beside the database) stays in the temp dir.
  const config = testConfig(dbTarget, { TRAITLENS_CACHE_DIR: cacheDir, ...env });
  const runtime = await createRuntime(config);
  try {
    const app = createApp(runtime);
    const keys = await createKeysPerScope(runtime.store);
    const request: BackendApi['request'] = async (method, path, opts = {}) => {
      const headers: Record<string, string> = {};
      const key = opts.key === undefined ? keys.admin : opts.key;
      if (key !== null) headers.authorization = `Bearer ${key}`;
      let body: string | undefined;
      if (opts.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(opts.json);
      }
      return readResponse(await app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) }));
    };
    return {
      runtime,
      config,
      app,
      keys,
      request,
      cleanup: async () => {
        await runtime.close();
        await onClose();
      },
    };
  } catch (err) {
    await runtime.close();
    await onClose();
    throw err;
  }
}

const sqlite: ApiBackend = {
  name: 'sqlite',
  available: true,
  async open(env = {}) {
    const t = tempDir();
    return build(join(t.dir, 'traitlens.db'), join(t.dir, 'cache'), env, async () => t.remove());
  },
};

const postgres = (available: boolean): ApiBackend => ({
  name: 'postgres',
  available,
  async open(env = {}) {
    // A fresh schema; createRuntime migrates it (TRAITLENS_DB is the schema's URL).
    const schema = await createTempPgSchema();
    const t = tempDir();
    return build(schema.url, join(t.dir, 'cache'), env, async () => {
      t.remove();
      await schema.drop();
    });
  },
});

/** Both backends; PostgreSQL marked unavailable (and its suites skipped) without TRAITLENS_TEST_PG_URL, except in CI. */
export function apiBackends(): ApiBackend[] {
  return [sqlite, postgres(pgAvailable())];
}
