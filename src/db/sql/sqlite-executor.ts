import type { Db } from '../connection.ts';
import type { Executor, Queryable, RunResult } from './executor.ts';

/** Synchronous reads on the serving connection, inside `SqliteExecutor.read`. */
export interface SyncReader {
  all<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): T[];
  get<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): T | undefined;
}

/**
 * better-sqlite3 behind the async executor. Statements are compiled once per connection
 * (`db.stmt`). One connection has one transaction at a time, and an `await` inside a transaction
 * lets other requests' code run: so transactions queue on a lock, and writes outside a transaction
 * wait for it too (otherwise they would land inside, and vanish with a rollback). Reads never wait.
 */
export class SqliteExecutor implements Executor {
  readonly dialect = 'sqlite' as const;
  private lock: Promise<void> = Promise.resolve();
  private locked = false;

  constructor(readonly db: Db) {}

  all<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    try {
      return Promise.resolve(this.db.stmt(sql).all(...params) as T[]);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  get<T>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    try {
      return Promise.resolve(this.db.stmt(sql).get(...params) as T | undefined);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<RunResult> {
    if (this.locked) return this.exclusive(() => this.runNow(sql, params));
    return this.runNow(sql, params);
  }

  /**
   * A write that never waits for SQLite's write lock: null when another connection (the audit or
   * ingestion writer thread, the pipeline) holds it. The busy handler would sleep on this thread,
   * and this is the serving thread: for bookkeeping that may simply be skipped (a key's last use).
   */
  async tryRun(sql: string, params: readonly unknown[] = []): Promise<RunResult | null> {
    const attempt = (): RunResult | null => {
      const s = this.db.sqlite;
      const timeout = Number(s.pragma('busy_timeout', { simple: true }));
      s.pragma('busy_timeout = 0');
      try {
        return this.runNow(sql, params);
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_BUSY') return null;
        throw err;
      } finally {
        s.pragma(`busy_timeout = ${Math.trunc(timeout)}`);
      }
    };
    return this.locked ? this.exclusive(attempt) : attempt();
  }

  private runNow(sql: string, params: readonly unknown[]): RunResult {
    return { changes: this.db.stmt(sql).run(...params).changes };
  }

  /**
   * Several reads as one snapshot, synchronously (a hot read path: the profile). One read
   * transaction instead of one per statement: the reads agree with each other, and when another
   * connection (the audit writer, the pipeline) has committed since the last read, SQLite drops
   * this connection's page cache once for the lot instead of before each statement's pages are
   * fetched again. Inside an open transaction of this connection it simply runs (reads never wait).
   */
  read<T>(fn: (q: SyncReader) => T): T {
    if (this.db.sqlite.inTransaction) return fn(this.reader);
    this.readTx ??= this.db.sqlite.transaction((f: (q: SyncReader) => unknown) => f(this.reader));
    return this.readTx(fn) as T;
  }

  private readTx: ((fn: (q: SyncReader) => unknown) => unknown) | undefined;
  private readonly reader: SyncReader = {
    all: <T>(sql: string, params: readonly unknown[] = []) => this.db.stmt(sql).all(...params) as T[],
    get: <T>(sql: string, params: readonly unknown[] = []) => this.db.stmt(sql).get(...params) as T | undefined,
  };

  /**
   * Runs synchronous driver work (a hot path's prepared statements, a better-sqlite3
   * transaction) once no async transaction is open, so the two never interleave.
   */
  async exclusive<T>(fn: () => T): Promise<T> {
    const prev = this.lock;
    let release!: () => void;
    this.lock = new Promise<void>((r) => (release = r));
    await prev;
    this.locked = true;
    try {
      return fn();
    } finally {
      this.locked = false;
      release();
    }
  }

  async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    const prev = this.lock;
    let release!: () => void;
    this.lock = new Promise<void>((r) => (release = r));
    await prev;
    this.locked = true;
    const q: Queryable = {
      dialect: 'sqlite',
      all: (sql, params = []) => this.all(sql, params),
      get: (sql, params = []) => this.get(sql, params),
      run: async (sql, params = []) => this.runNow(sql, params),
    };
    try {
      this.db.sqlite.exec('BEGIN IMMEDIATE');
      try {
        const out = await fn(q);
        this.db.sqlite.exec('COMMIT');
        return out;
      } catch (err) {
        if (this.db.sqlite.inTransaction) this.db.sqlite.exec('ROLLBACK');
        throw err;
      }
    } finally {
      this.locked = false;
      release();
    }
  }

  async ping(): Promise<boolean> {
    try {
      return this.db.sqlite.open && (this.db.stmt('SELECT 1 AS ok').get() as { ok: number } | undefined)?.ok === 1;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.lock;
    this.db.close();
  }
}
