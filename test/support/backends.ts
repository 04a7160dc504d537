import { afterEach, beforeEach, describe } from 'vitest';
import type { Store } from '../../src/db/store.ts';
import { createTempDb } from './temp-db.ts';

/** One backend the store contract runs on: opens a fresh, migrated, empty store per test. */
export interface Backend {
  name: 'sqlite' | 'postgres';
  open(): Promise<{ store: Store; cleanup(): Promise<void> }>;
}

const sqlite: Backend = {
  name: 'sqlite',
  async open() {
    const t = createTempDb();
    return { store: t.store, cleanup: async () => t.cleanup() };
  },
};

/** The backends available to this run. PostgreSQL joins when TRAITLENS_TEST_PG_URL is set (see test/support/pg.ts). */
export function backends(): Backend[] {
  return [sqlite];
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
      fn(ctx);
    });
  }
}
