import { afterAll, afterEach, beforeEach, describe } from 'vitest';
import { loadConfig } from '../../src/core/config.ts';
import { openStore } from '../../src/db/open.ts';
import { createPgPool } from '../../src/db/pg/pool.ts';
import { PgExecutor } from '../../src/db/sql/pg-executor.ts';
import { buildStore, type Store } from '../../src/db/store.ts';
import { acquireMigratedSchema, dropIdleSchemas, pgAvailable, releaseMigratedSchema } from './pg.ts';
import { createTempDb } from './temp-db.ts';

/** One backend the store contract runs on: opens a fresh, migrated, empty store per test. */
export interface Backend {
  name: 'sqlite' | 'postgres';
  open(): Promise<{ store: Store; cleanup(): Promise<void> }>;
  /** frees what the backend keeps between tests (called once a suite is done) */
  release?(): Promise<void>;
}

const sqlite: Backend = {
  name: 'sqlite',
  async open() {
    const t = createTempDb();
    return { store: t.store, cleanup: async () => t.cleanup() };
  },
};

const pgConfig = (url: string) => ({ ...loadConfig({}), TRAITLENS_DB: url, TRAITLENS_PG_POOL_SIZE: 4 });

/**
 * The real PostgreSQL (TRAITLENS_TEST_PG_URL). Each test gets a migrated schema of its own, empty,
 * with its ids restarting at 1, reached through a URL that puts it first on search_path (public,
 * where pgvector lives, after it). Measured on this machine (2 cores, load ~15): a fresh database
 * ≈ 0.2-0.9 s to create + ≈ 1 s to migrate + 0.2-0.7 s to drop; a fresh schema ≈ 0.02 s + the same
 * 1 s migration; emptying a migrated schema (DELETE + sequence restart) ≈ 0.01-0.08 s; a new pool's
 * first connection ≈ 0.16 s. So a schema is created and migrated (by `openStore`, under the
 * advisory lock) once per suite and process, and emptied after each test: ≈ 0.2-0.3 s per test.
 */
const postgres: Backend = {
  name: 'postgres',
  async open() {
    const schema = await acquireMigratedSchema(async (url) => {
      await (await openStore(pgConfig(url))).close();
    });
    // Migrated when first acquired (by openStore, under the lock); a reused schema only needs a pool.
    const c = pgConfig(schema.url);
    const store = buildStore(new PgExecutor(createPgPool(schema.url, { max: c.TRAITLENS_PG_POOL_SIZE, statementTimeoutMs: c.TRAITLENS_PG_STATEMENT_TIMEOUT_MS })));
    return {
      store,
      cleanup: async () => {
        await store.close();
        await releaseMigratedSchema(schema);
      },
    };
  },
  release: dropIdleSchemas,
};

/**
 * The backends available to this run. PostgreSQL joins when TRAITLENS_TEST_PG_URL is set; without
 * it, it is left out with one message, except in CI where that fails (see test/support/pg.ts).
 */
export function backends(): Backend[] {
  return pgAvailable() ? [sqlite, postgres] : [sqlite];
}

/**
 * Runs the same suite over every backend, as drizzle runs one suite over every driver:
 * `describeStores('users', (ctx) => { it('…', async () => { await ctx.store.users… }) })`.
 */
export function describeStores(title: string, fn: (ctx: { readonly store: Store }) => void): void {
  for (const b of backends()) {
    describe(`${title} [${b.name}]`, () => {
      let opened: Awaited<ReturnType<Backend['open']>> | undefined;
      const ctx = {
        get store(): Store {
          if (!opened) throw new Error('store used outside a test');
          return opened.store;
        },
      };
      beforeEach(async () => {
        opened = await b.open();
      });
      afterEach(async () => {
        await opened?.cleanup();
        opened = undefined;
      });
      afterAll(async () => {
        await b.release?.();
      });
      fn(ctx);
    });
  }
}
