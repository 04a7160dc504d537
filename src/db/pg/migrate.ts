import { readMigrationFiles } from 'drizzle-orm/migrator';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

export const PG_MIGRATIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../db/pg');

/** First key of the two-key advisory lock held while migrating ('trln'); the second is the schema. */
const MIGRATION_LOCK_KEY = 0x74726c6e;

export interface PgMigrateResult {
  /** migrations applied by this call (0 when another replica got there first) */
  applied: number;
  /** pgvector is installed in this database */
  vector: boolean;
}

/**
 * Applies pending drizzle-kit migrations from db/pg, on one connection holding
 * `pg_advisory_lock`: replicas starting together queue on the lock, and the later ones find the
 * journal up to date. The lock's second key is the schema, so databases (and test schemas) that
 * do not share tables do not wait for each other. Each migration runs in its own transaction with
 * its journal row (drizzle's `__drizzle_migrations` layout, in the same schema as the tables).
 */
export async function migratePg(pool: pg.Pool, migrationsFolder = PG_MIGRATIONS_DIR): Promise<PgMigrateResult> {
  const migrations = readMigrationFiles({ migrationsFolder });
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    // Waiting for another replica's migration, or building an index on a big table, may take longer
    // than the pool's statement timeout; RESET restores it before the connection goes back.
    await client.query('SET statement_timeout = 0');
    await client.query('SELECT pg_advisory_lock($1, hashtext(current_schema()))', [MIGRATION_LOCK_KEY]);
    try {
      const vector = await ensureVector(client);
      await client.query('CREATE TABLE IF NOT EXISTS __drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)');
      const last = await client.query<{ created_at: string | null }>('SELECT max(created_at)::text AS created_at FROM __drizzle_migrations');
      const lastMillis = Number(last.rows[0]?.created_at ?? 0);
      let applied = 0;
      for (const m of migrations) {
        if (m.folderMillis <= lastMillis) continue;
        await client.query('BEGIN');
        try {
          // drizzle-kit qualifies references with "public"; unqualified, they resolve through
          // search_path like the tables themselves, so the schema can be another one (tests use one each).
          for (const stmt of m.sql) if (stmt.trim()) await client.query(stmt.replace(/"public"\./g, ''));
          await client.query('INSERT INTO __drizzle_migrations (hash, created_at) VALUES ($1, $2)', [m.hash, m.folderMillis]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch((e: Error) => (broken = e));
          throw err;
        }
        applied++;
      }
      return { applied, vector };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, hashtext(current_schema()))', [MIGRATION_LOCK_KEY]).catch((e: Error) => (broken = e));
      await client.query('RESET statement_timeout').catch((e: Error) => (broken = e));
    }
  } finally {
    // A connection whose lock or transaction state is unknown is closed, not pooled.
    client.release(broken);
  }
}

/**
 * `CREATE EXTENSION IF NOT EXISTS vector` when the server has pgvector. Creating it needs a
 * superuser (it is not a trusted extension): where our role may not, the operator creates it once
 * and this finds it installed; without it, the result says so and vector features stay off.
 */
async function ensureVector(client: pg.PoolClient): Promise<boolean> {
  const r = await client.query<{ available: boolean; installed: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS available,
            EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') AS installed`,
  );
  if (r.rows[0]?.installed) return true;
  if (!r.rows[0]?.available) return false;
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS vector');
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '42501') return false; // insufficient_privilege
    throw err;
  }
}
