/**
 * The seam between SQL building and drivers (as in drizzle: queries apart from the connection).
 * Stores write their SQL once, with `?` placeholders and the few dialect differences taken from
 * `dialect.ts`; an executor runs it on better-sqlite3 or on `pg`. Everything is Promise-returning
 * so a networked database fits behind the same calls; the SQLite executor is synchronous inside.
 */
export type DialectName = 'sqlite' | 'postgres';

export interface RunResult {
  /** rows inserted, updated or deleted */
  changes: number;
}

/** Runs statements. Inside a transaction this is the transaction's connection. */
export interface Queryable {
  readonly dialect: DialectName;
  all<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  run(sql: string, params?: readonly unknown[]): Promise<RunResult>;
}

export interface Executor extends Queryable {
  /**
   * A short write transaction: `BEGIN IMMEDIATE` on SQLite (one at a time per connection; other
   * writes wait for it), `BEGIN` on a pooled PostgreSQL connection. Commits when `fn` resolves,
   * rolls back when it throws.
   */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** true when the database answers a trivial query; never throws */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
