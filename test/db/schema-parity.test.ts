import { is } from 'drizzle-orm';
import { getTableConfig as pgConfig, PgTable } from 'drizzle-orm/pg-core';
import { getTableConfig as sqliteConfig, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migratePg } from '../../src/db/pg/migrate.ts';
import { createPgPool } from '../../src/db/pg/pool.ts';
import * as pgSchema from '../../src/db/schema-pg.ts';
import * as sqliteSchema from '../../src/db/schema.ts';
import { createTempPgSchema, pgAvailable, type TempPg } from '../support/pg.ts';
import { createTempDb, type TempDb } from '../support/temp-db.ts';

/**
 * The two schemas describe the same tables: names, columns, nullability, defaults, keys and
 * indexes. First as declared (drizzle's table configs), then as applied by each dialect's
 * migrations (PRAGMA table_info against information_schema), so a migration generated from one
 * schema but not the other is caught too.
 */

interface ColumnShape {
  notNull: boolean;
  /** text | integer | real | blob: the storage class both sides agree on */
  kind: string;
  default: unknown;
}
interface TableShape {
  columns: Record<string, ColumnShape>;
  primaryKey: string[];
  indexes: Record<string, { unique: boolean; columns: string[]; where: boolean }>;
  foreignKeys: string[];
}

const kindOf = (type: string): string => {
  const t = type.toLowerCase();
  if (t === 'text') return 'text';
  if (t === 'integer' || t === 'bigint' || t === 'int8' || t === 'int4') return 'integer';
  if (t === 'real' || t === 'double precision' || t === 'float8') return 'real';
  if (t === 'blob' || t === 'bytea') return 'blob';
  return `unknown:${t}`;
};

const colName = (c: unknown) => (c as { name: string }).name;

function declared(table: SQLiteTable | PgTable): TableShape {
  const cfg = is(table, PgTable) ? pgConfig(table) : sqliteConfig(table as SQLiteTable);
  const columns: TableShape['columns'] = {};
  for (const c of cfg.columns) {
    columns[c.name] = { notNull: c.notNull || c.primary, kind: kindOf(c.getSQLType()), default: c.default ?? null };
  }
  const primaryKey = [...cfg.columns.filter((c) => c.primary).map((c) => c.name), ...cfg.primaryKeys.flatMap((pk) => pk.columns.map(colName))];
  const indexes: TableShape['indexes'] = {};
  for (const i of cfg.indexes) {
    const ic = i.config as { name: string; unique: boolean; columns: unknown[]; where?: unknown };
    indexes[ic.name] = { unique: ic.unique, columns: ic.columns.map(colName), where: ic.where !== undefined };
  }
  const foreignKeys = cfg.foreignKeys
    .map((fk) => {
      const r = fk.reference();
      const foreign = is(r.foreignTable, PgTable) ? pgConfig(r.foreignTable).name : sqliteConfig(r.foreignTable as SQLiteTable).name;
      return `${r.columns.map(colName).join(',')} -> ${foreign}(${r.foreignColumns.map(colName).join(',')}) on delete ${fk.onDelete ?? 'no action'}`;
    })
    .sort();
  return { columns, primaryKey, indexes, foreignKeys };
}

const tablesOf = <T>(mod: Record<string, unknown>, cls: abstract new (...a: never[]) => T) => Object.values(mod).filter((t): t is T => is(t, cls as never));

/**
 * The one deliberate difference: on PostgreSQL each user vector is also a pgvector column for SQL
 * nearest-neighbour search (src/db/stores/profiles-pg.ts), with HNSW indexes created per vector length.
 */
const PG_ONLY_COLUMNS: Record<string, string[]> = { user_profiles: ['embedding'] };
const PG_ONLY_INDEX = /^user_profiles_hnsw_\d+$/;
const withoutPgOnly = <T>(table: string, cols: Record<string, T> | undefined) =>
  cols && Object.fromEntries(Object.entries(cols).filter(([c]) => !PG_ONLY_COLUMNS[table]?.includes(c)));

const sqliteTables = new Map(tablesOf(sqliteSchema, SQLiteTable).map((t) => [sqliteConfig(t).name, declared(t)]));
const pgTables = new Map(tablesOf(pgSchema, PgTable).map((t) => [pgConfig(t).name, declared(t)]));

describe('schema parity: declared', () => {
  it('has the same tables', () => {
    expect([...pgTables.keys()].sort()).toEqual([...sqliteTables.keys()].sort());
    expect(sqliteTables.size).toBeGreaterThan(10);
  });

  for (const [name, lite] of sqliteTables) {
    it(`${name}: same columns, nullability, defaults, keys and indexes`, () => {
      const pgShape = pgTables.get(name);
      expect(pgShape, `table ${name} missing from schema-pg.ts`).toBeDefined();
      expect(pgShape && { ...pgShape, columns: withoutPgOnly(name, pgShape.columns) }).toEqual(lite);
    });
  }
});

describe.skipIf(!pgAvailable())('schema parity: applied (SQLite migrations vs PostgreSQL migrations)', () => {
  let lite: TempDb;
  let pgTmp: TempPg;
  let pool: ReturnType<typeof createPgPool>;

  beforeAll(async () => {
    lite = createTempDb();
    pgTmp = await createTempPgSchema();
    pool = createPgPool(pgTmp.url, { max: 2 });
    await migratePg(pool);
  });

  afterAll(async () => {
    lite?.cleanup();
    await pool?.end();
    await pgTmp?.drop();
  });

  interface AppliedColumn {
    notNull: boolean;
    kind: string;
  }

  async function appliedSqlite(): Promise<Map<string, Record<string, AppliedColumn>>> {
    const tables = lite.db.sqlite
      .prepare(
        `SELECT name FROM (SELECT name, type FROM sqlite_master UNION ALL SELECT name, type FROM audit.sqlite_master) WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_\\_%' ESCAPE '\\'`,
      )
      .all() as {
      name: string;
    }[];
    const out = new Map<string, Record<string, AppliedColumn>>();
    for (const { name } of tables) {
      const cols = lite.db.sqlite.prepare(`PRAGMA table_info("${name}")`).all() as { name: string; type: string; notnull: number; pk: number }[];
      out.set(name, Object.fromEntries(cols.map((c) => [c.name, { notNull: c.notnull === 1 || c.pk > 0, kind: kindOf(c.type) }])));
    }
    return out;
  }

  async function appliedPg(): Promise<Map<string, Record<string, AppliedColumn>>> {
    const r = await pool.query<{ t: string; c: string; nullable: 'YES' | 'NO'; type: string }>(
      `SELECT table_name AS t, column_name AS c, is_nullable AS nullable, data_type AS type
         FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_\\_%'
        ORDER BY table_name, ordinal_position`,
    );
    const out = new Map<string, Record<string, AppliedColumn>>();
    for (const row of r.rows) {
      const cols = out.get(row.t) ?? {};
      cols[row.c] = { notNull: row.nullable === 'NO', kind: kindOf(row.type) };
      out.set(row.t, cols);
    }
    return out;
  }

  it('the migrated databases have the same tables, columns, storage kinds and nullability', async () => {
    const [a, b] = [await appliedSqlite(), await appliedPg()];
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [name, cols] of a) expect({ table: name, cols: withoutPgOnly(name, b.get(name)) }).toEqual({ table: name, cols });
    expect(b.get('user_profiles')?.embedding).toBeDefined();
  });

  it('the migrated databases have the same named indexes (uniqueness and columns)', async () => {
    const liteIdx: Record<string, string> = {};
    const indexes = lite.db.sqlite
      .prepare(
        `SELECT name, tbl_name AS t FROM (SELECT name, tbl_name, type, sql FROM sqlite_master UNION ALL SELECT name, tbl_name, type, sql FROM audit.sqlite_master) WHERE type = 'index' AND sql IS NOT NULL`,
      )
      .all() as { name: string; t: string }[];
    for (const { name, t } of indexes) {
      const unique = (lite.db.sqlite.prepare(`PRAGMA index_list("${t}")`).all() as { name: string; unique: number }[]).find((i) => i.name === name)?.unique;
      const cols = (lite.db.sqlite.prepare(`PRAGMA index_info("${name}")`).all() as { name: string }[]).map((c) => c.name);
      liteIdx[name] = `${t}${unique ? ' unique' : ''} (${cols.join(',')})`;
    }
    // indexes created as such, not the ones behind primary-key constraints
    const r = await pool.query<{ name: string; t: string; unique: boolean; cols: string[] }>(
      `SELECT ic.relname AS name, tc.relname AS t, i.indisunique AS unique,
              array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(n, o)
                      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o)::text[] AS cols
         FROM pg_index i
         JOIN pg_class ic ON ic.oid = i.indexrelid
         JOIN pg_class tc ON tc.oid = i.indrelid
        WHERE tc.relnamespace = current_schema()::regnamespace AND NOT i.indisprimary AND tc.relname NOT LIKE '\\_\\_%'`,
    );
    const pgIdx = Object.fromEntries(r.rows.filter((x) => !PG_ONLY_INDEX.test(x.name)).map((x) => [x.name, `${x.t}${x.unique ? ' unique' : ''} (${x.cols.join(',')})`]));
    expect(pgIdx).toEqual(liteIdx);
    expect(Object.keys(liteIdx).length).toBeGreaterThan(10);
  });
});
