import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as schema from './schema.ts';

export type Drizzle = BetterSQLite3Database<typeof schema>;

export interface Db {
  /** The raw driver, for prepared hot-path statements inside src/db only. */
  sqlite: Database.Database;
  orm: Drizzle;
  path: string;
  /**
   * A prepared statement for constant SQL, compiled once per connection. Preparing costs more than
   * running a small query (it was the top item in a profile of GET /v1/users/:id).
   */
  stmt(sql: string): Database.Statement;
  close(): void;
}

export interface OpenOptions {
  synchronous?: 'OFF' | 'NORMAL' | 'FULL';
  busyTimeoutMs?: number;
  readonly?: boolean;
}

export const MIGRATIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../db');

/**
 * Opens (creating if needed) the SQLite file with WAL, foreign keys and a busy timeout, and
 * applies any pending migrations from `db/`.
 */
export function openDb(path: string, opts: OpenOptions = {}): Db {
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  const sqlite = new Database(path, { readonly: opts.readonly ?? false });
  sqlite.pragma(`busy_timeout = ${Math.trunc(opts.busyTimeoutMs ?? 5000)}`);
  if (!opts.readonly) {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
  }
  sqlite.pragma('foreign_keys = ON');
  // Random-order unique-index inserts (the dedupe key) thrash the default 2 MB page cache.
  sqlite.pragma('cache_size = -131072');
  // Erased data must not linger in free pages (see erasure in SECURITY.md).
  sqlite.pragma('secure_delete = ON');
  const orm = drizzle(sqlite, { schema });
  if (!opts.readonly) migrate(orm, { migrationsFolder: MIGRATIONS_DIR });
  const statements = new Map<string, Database.Statement>();
  return {
    sqlite,
    orm,
    path,
    stmt(sql: string) {
      let st = statements.get(sql);
      if (!st) {
        // Bounded: callers building SQL with a variable IN (...) list must not grow it forever.
        if (statements.size >= 1000) statements.clear();
        st = sqlite.prepare(sql);
        statements.set(sql, st);
      }
      return st;
    },
    close: () => {
      if (sqlite.open) sqlite.close();
    },
  };
}

/** True when the database answers a trivial query (readiness probes). Never throws. */
export function pingDb(db: Db): boolean {
  try {
    return db.sqlite.open && (db.stmt('SELECT 1 AS ok').get() as { ok: number } | undefined)?.ok === 1;
  } catch {
    return false;
  }
}
