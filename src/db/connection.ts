import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { existsSync, mkdirSync } from 'node:fs';
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
  /** apply pending migrations (default true; a second connection of a process that migrated skips it) */
  migrate?: boolean;
}

export const MIGRATIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../db');

/**
 * The audit log's own SQLite file, beside the database (`<path>.audit`), attached to every
 * connection as schema `audit`: SQL names `audit_log` unqualified and SQLite finds it there. Every
 * audited read commits a row; in the database file itself each of those commits made every other
 * connection drop its page cache at its next read (the serving connection re-read the pages of
 * every profile read). null for an in-memory database (the log stays in it).
 */
export function auditPathOf(path: string): string | null {
  return path === ':memory:' || path === '' ? null : `${path}.audit`;
}

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
  // No mmap_size on purpose: when another connection has committed (the audit and ingestion writer
  // threads, the pipeline), SQLite unmaps the whole file at this connection's next read transaction,
  // so a mapped profile read cost ~4.6× an unmapped one under per-read commits (bench/read-cache.ts).
  const auditPath = auditPathOf(path);
  // A read-only connection attaches the log only where it exists (it cannot create it).
  const attached = auditPath !== null && !(opts.readonly && !existsSync(auditPath));
  if (attached) {
    sqlite.prepare('ATTACH DATABASE ? AS audit').run(auditPath);
    if (!opts.readonly) {
      sqlite.pragma('audit.journal_mode = WAL');
      sqlite.pragma(`audit.synchronous = ${opts.synchronous ?? 'FULL'}`);
    }
    sqlite.pragma('audit.secure_delete = ON');
  }
  const orm = drizzle(sqlite, { schema });
  if (!opts.readonly && opts.migrate !== false) {
    migrate(orm, { migrationsFolder: MIGRATIONS_DIR });
    if (attached) moveAuditLog(sqlite);
  }
  const statements = new StatementCache((sql) => sqlite.prepare(sql));
  return {
    sqlite,
    orm,
    path,
    stmt: (sql: string) => statements.get(sql),
    close: () => {
      if (sqlite.open) sqlite.close();
    },
  };
}

/**
 * Puts the audit log in the attached `audit` file: the migrations create `audit_log` in the database
 * (they are shared with databases from before the split); its rows, table and indexes move to the
 * audit file in one transaction. Where neither file has the table (the database file was copied
 * without its `.audit` file beside it), the log starts empty, as the migrations define it.
 */
function moveAuditLog(sqlite: Database.Database): void {
  type Ddl = { type: 'table' | 'index'; sql: string };
  const ddlIn = (db: Database.Database, schemaName: string) =>
    db.prepare(`SELECT type, sql FROM ${schemaName}.sqlite_master WHERE tbl_name = 'audit_log' AND sql IS NOT NULL ORDER BY type DESC`).all() as Ddl[];
  const inMain = ddlIn(sqlite, 'main');
  if (!inMain.length && ddlIn(sqlite, 'audit').length) return;
  let ddl = inMain;
  if (!ddl.length) {
    const fresh = openDb(':memory:');
    try {
      ddl = ddlIn(fresh.sqlite, 'main');
    } finally {
      fresh.close();
    }
  }
  // `CREATE TABLE \`audit_log\`` → `CREATE TABLE IF NOT EXISTS audit.\`audit_log\``; the same for each index.
  const inAudit = (d: Ddl) => d.sql.replace(new RegExp(`^CREATE ${d.type === 'table' ? 'TABLE' : '(UNIQUE )?INDEX'} `, 'i'), (m) => `${m}IF NOT EXISTS audit.`);
  sqlite.transaction(() => {
    for (const d of ddl) sqlite.exec(inAudit(d));
    if (!inMain.length) return;
    const columns = (sqlite.prepare('SELECT name FROM main.pragma_table_info(?)').all('audit_log') as { name: string }[]).map((c) => `"${c.name}"`).join(', ');
    sqlite.exec(`INSERT INTO audit.audit_log (${columns}) SELECT ${columns} FROM main.audit_log ORDER BY id`);
    sqlite.exec('DROP TABLE main.audit_log');
  })();
}

/**
 * Prepared statements by SQL text, least recently used first out, bounded by entries and by the
 * bytes of SQL held. Some SQL is built from client input (compiled filters: its text varies with
 * the filter's shape), and a compiled statement's native memory grows with its text (a 999-clause
 * filter held ~1.3 MB): so a byte budget, and statements too large to be worth keeping are
 * prepared for the call and left to the garbage collector.
 */
export class StatementCache {
  static readonly MAX_ENTRIES = 1000;
  /** total SQL text held (UTF-16 code units ≈ bytes for SQL) */
  static readonly MAX_BYTES = 512 * 1024;
  /** larger statements are never cached */
  static readonly MAX_STATEMENT_BYTES = 4096;
  private readonly map = new Map<string, Database.Statement>();
  private bytes = 0;

  constructor(private readonly prepare: (sql: string) => Database.Statement) {}

  get size(): number {
    return this.map.size;
  }

  get heldBytes(): number {
    return this.bytes;
  }

  get(sql: string): Database.Statement {
    const hit = this.map.get(sql);
    if (hit) {
      // Re-insert: Map keeps insertion order, so the first key is the least recently used.
      this.map.delete(sql);
      this.map.set(sql, hit);
      return hit;
    }
    const st = this.prepare(sql);
    if (sql.length > StatementCache.MAX_STATEMENT_BYTES) return st;
    this.map.set(sql, st);
    this.bytes += sql.length;
    while (this.map.size > StatementCache.MAX_ENTRIES || this.bytes > StatementCache.MAX_BYTES) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
      this.bytes -= oldest.length;
    }
    return st;
  }
}

/** True when the database answers a trivial query (readiness probes). Never throws. */
export function pingDb(db: Db): boolean {
  try {
    return db.sqlite.open && (db.stmt('SELECT 1 AS ok').get() as { ok: number } | undefined)?.ok === 1;
  } catch {
    return false;
  }
}
