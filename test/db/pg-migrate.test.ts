import { readMigrationFiles } from 'drizzle-orm/migrator';
import { is } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.ts';
import { openStore } from '../../src/db/open.ts';
import type { Store } from '../../src/db/store.ts';
import { migratePg, PG_MIGRATIONS_DIR } from '../../src/db/pg/migrate.ts';
import { createPgPool } from '../../src/db/pg/pool.ts';
import * as pgSchema from '../../src/db/schema-pg.ts';
import { createTempPgDatabase, createTempPgSchema, pgAvailable, type TempPg } from '../support/pg.ts';
import { tempDir } from '../support/temp-db.ts';

const expectedTables = (Object.values(pgSchema) as unknown[])
  .filter((t): t is PgTable => is(t, PgTable))
  .map((t) => getTableConfig(t).name)
  .sort();

describe.skipIf(!pgAvailable())('PostgreSQL migrations', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const pool = (t: TempPg) => {
    const p = createPgPool(t.url, { max: 2 });
    cleanups.push(() => p.end());
    return p;
  };
  const tablesOf = async (p: pg.Pool) => (await p.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1`)).rows.map((r) => r.t);

  it('two replicas migrating a fresh database at once: both succeed, one applies, the journal has each migration once', async () => {
    const db = await createTempPgDatabase();
    cleanups.push(() => db.drop());
    const [a, b] = [pool(db), pool(db)];
    const results = await Promise.all([migratePg(a), migratePg(b)]);
    const files = readMigrationFiles({ migrationsFolder: PG_MIGRATIONS_DIR });
    expect(results.map((r) => r.applied).sort()).toEqual([0, files.length]);
    expect((await tablesOf(a)).filter((t) => t !== '__drizzle_migrations')).toEqual(expectedTables);
    const journal = await a.query<{ hash: string }>('SELECT hash FROM __drizzle_migrations ORDER BY id');
    expect(journal.rows.map((r) => r.hash)).toEqual(files.map((f) => f.hash));
    // a later start finds nothing to do
    expect((await migratePg(b)).applied).toBe(0);
    expect((await a.query('SELECT count(*)::int AS n FROM __drizzle_migrations')).rows[0].n).toBe(files.length);
  });

  it('many processes opening the store at once on one schema (openStore: lock, then pool)', async () => {
    const s = await createTempPgSchema();
    cleanups.push(() => s.drop());
    const config = { ...loadConfig({}), TRAITLENS_DB: s.url, TRAITLENS_PG_POOL_SIZE: 2 };
    const stores = await Promise.all([1, 2, 3, 4].map(() => openStore(config)));
    cleanups.push(async () => void (await Promise.all(stores.map((st) => st.close()))));
    for (const st of stores) expect(await st.ping()).toBe(true);
    const [first] = stores as [Store, ...Store[]];
    expect(first.dialect.name).toBe('postgres');
    const tables = await first.exec.all<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1`);
    expect(tables.map((r) => r.t).filter((t) => t !== '__drizzle_migrations')).toEqual(expectedTables);
    // the tables landed in the test's schema, not in public
    expect(await first.exec.get<{ s: string }>('SELECT current_schema() AS s')).toEqual({ s: s.name });
    const files = readMigrationFiles({ migrationsFolder: PG_MIGRATIONS_DIR }).length;
    expect(await first.exec.get('SELECT count(*) AS n, count(DISTINCT hash) AS d FROM __drizzle_migrations')).toEqual({ n: files, d: files });
  });

  it('a failing migration rolls back whole, records nothing, and does not hold the lock', async () => {
    const s = await createTempPgSchema();
    cleanups.push(() => s.drop());
    const dir = tempDir();
    cleanups.push(async () => dir.remove());
    mkdirSync(join(dir.dir, 'meta'));
    const entries = [
      { idx: 0, version: '7', when: 1000, tag: '0000_ok', breakpoints: true },
      { idx: 1, version: '7', when: 2000, tag: '0001_bad', breakpoints: true },
    ];
    writeFileSync(join(dir.dir, 'meta', '_journal.json'), JSON.stringify({ version: '7', dialect: 'postgresql', entries }));
    writeFileSync(join(dir.dir, '0000_ok.sql'), 'CREATE TABLE "a" ("id" bigint PRIMARY KEY);');
    writeFileSync(join(dir.dir, '0001_bad.sql'), 'CREATE TABLE "b" ("id" bigint);\n--> statement-breakpoint\nSELECT no_such_function();');
    const p = pool(s);
    await expect(migratePg(p, dir.dir)).rejects.toMatchObject({ code: '42883' });
    expect(await tablesOf(p)).toEqual(['__drizzle_migrations', 'a']);
    expect((await p.query('SELECT count(*)::int AS n FROM __drizzle_migrations')).rows[0].n).toBe(1);
    // fixed, the next start applies the rest: the lock was released even though the first call failed
    writeFileSync(join(dir.dir, '0001_bad.sql'), 'CREATE TABLE "b" ("id" bigint);');
    expect((await migratePg(p, dir.dir)).applied).toBe(1);
    expect(await tablesOf(p)).toEqual(['__drizzle_migrations', 'a', 'b']);
  });

  it('reports pgvector: installed where the database has it', async () => {
    const s = await createTempPgSchema();
    cleanups.push(() => s.drop());
    const p = pool(s);
    const r = await migratePg(p);
    const has = await p.query(`SELECT 1 FROM pg_extension WHERE extname = 'vector'`);
    expect(r.vector).toBe((has.rowCount ?? 0) > 0);
  });
});
