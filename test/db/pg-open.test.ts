import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.ts';
import { openStore } from '../../src/db/open.ts';
import { PgExecutor } from '../../src/db/sql/pg-executor.ts';
import { SqliteExecutor } from '../../src/db/sql/sqlite-executor.ts';
import type { Store } from '../../src/db/store.ts';
import { createTempPgSchema, pgAvailable, pgTestUrl } from '../support/pg.ts';
import { tempDir } from '../support/temp-db.ts';

const config = (db: string, env: Record<string, string> = {}) => ({ ...loadConfig(env), TRAITLENS_DB: db });

describe('openStore: TRAITLENS_DB picks the backend', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const opened = (s: Store) => {
    cleanups.push(() => s.close());
    return s;
  };

  it('a file path opens SQLite, migrated', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const store = opened(await openStore(config(join(dir.dir, 'x.db'))));
    expect(store.dialect.name).toBe('sqlite');
    expect(store.exec).toBeInstanceOf(SqliteExecutor);
    expect(await store.exec.get('SELECT count(*) AS n FROM users')).toEqual({ n: 0 });
  });

  describe.skipIf(!pgAvailable())('on PostgreSQL', () => {
    it('postgres:// and postgresql:// URLs open PostgreSQL with the pool settings from config', async () => {
      const s = await createTempPgSchema();
      cleanups.push(() => s.drop());
      for (const url of [s.url, s.url.replace(/^postgres:/, 'postgresql:')]) {
        const store = opened(await openStore(config(url, { TRAITLENS_PG_POOL_SIZE: '3', TRAITLENS_PG_STATEMENT_TIMEOUT_MS: '1234' })));
        expect(store.dialect.name).toBe('postgres');
        expect(store.exec).toBeInstanceOf(PgExecutor);
        const pool = (store.exec as PgExecutor).pool;
        expect(pool.options.max).toBe(3);
        expect(await store.exec.get('SELECT count(*) AS n FROM users')).toEqual({ n: 0 });
        expect(await store.exec.get(`SELECT current_setting('statement_timeout') AS t`)).toEqual({ t: '1234ms' });
      }
    });

    it('a server that refuses the login fails the open with its error', async () => {
      const bad = new URL(pgTestUrl() ?? '');
      bad.password = 'wrong-password';
      await expect(openStore(config(bad.toString()))).rejects.toMatchObject({ code: '28P01' });
    });
  });
});
