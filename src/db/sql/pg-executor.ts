import type pg from 'pg';
import type { Executor, Queryable, RunResult } from './executor.ts';

const rewritten = new Map<string, string>();

/**
 * `?` placeholders → `$1..$n`, as the stores write SQL once for both drivers. A `?` inside a
 * single-quoted literal, a double-quoted identifier or a comment is left alone. Cached per SQL
 * string (stores build a bounded set of statements; variable IN lists are capped below).
 */
export function toPgPlaceholders(sql: string): string {
  const hit = rewritten.get(sql);
  if (hit !== undefined) return hit;
  let out = '';
  let n = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql.charAt(i);
    if (c === "'" || c === '"') {
      // '' inside a literal (and "" inside an identifier) closes and reopens: the scan stays in step.
      const end = sql.indexOf(c, i + 1);
      const stop = end < 0 ? sql.length : end + 1;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      const stop = end < 0 ? sql.length : end + 2;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '?') {
      out += `$${++n}`;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  if (rewritten.size >= 2000) rewritten.clear();
  rewritten.set(sql, out);
  return out;
}

const params = (p: readonly unknown[]) => p as unknown[];

class PgQueryable implements Queryable {
  readonly dialect = 'postgres' as const;
  constructor(private readonly c: pg.Pool | pg.PoolClient) {}

  async all<T>(sql: string, p: readonly unknown[] = []): Promise<T[]> {
    const r = await this.c.query(toPgPlaceholders(sql), params(p));
    return r.rows as T[];
  }

  async get<T>(sql: string, p: readonly unknown[] = []): Promise<T | undefined> {
    const r = await this.c.query(toPgPlaceholders(sql), params(p));
    return r.rows[0] as T | undefined;
  }

  async run(sql: string, p: readonly unknown[] = []): Promise<RunResult> {
    const r = await this.c.query(toPgPlaceholders(sql), params(p));
    return { changes: r.rowCount ?? 0 };
  }
}

/**
 * fn caught a statement error and carried on; on PostgreSQL that error had already aborted the
 * transaction, so it was rolled back. Retry the whole transaction, or avoid the error in SQL
 * (`ON CONFLICT …`).
 */
export class TxAbortedError extends Error {
  readonly code = '25P02'; // in_failed_sql_transaction
  constructor() {
    super('transaction rolled back: a statement inside it failed (its error was caught inside the transaction)');
    this.name = 'TxAbortedError';
  }
}

/**
 * The `pg` pool behind the async executor. Statements outside `tx` run on any pooled connection
 * (autocommit); `tx` holds one connection for BEGIN … COMMIT, so concurrent transactions run side
 * by side and PostgreSQL's row locks and unique indexes arbitrate between them (and between replicas).
 */
export class PgExecutor implements Executor {
  readonly dialect = 'postgres' as const;
  private readonly q: PgQueryable;

  constructor(readonly pool: pg.Pool) {
    this.q = new PgQueryable(pool);
  }

  all<T>(sql: string, p?: readonly unknown[]): Promise<T[]> {
    return this.q.all<T>(sql, p);
  }

  get<T>(sql: string, p?: readonly unknown[]): Promise<T | undefined> {
    return this.q.get<T>(sql, p);
  }

  run(sql: string, p?: readonly unknown[]): Promise<RunResult> {
    return this.q.run(sql, p);
  }

  async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      try {
        const out = await fn(new PgQueryable(client));
        const done = await client.query('COMMIT');
        // After a failed statement PostgreSQL answers COMMIT with ROLLBACK (unlike SQLite, an error
        // aborts the whole transaction): fn caught that error, but nothing was written.
        if (done.command === 'ROLLBACK') throw new TxAbortedError();
        return out;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          // A connection that cannot roll back is not given to the next caller.
          broken = rollbackErr as Error;
        }
        throw err;
      }
    } finally {
      client.release(broken);
    }
  }

  async ping(): Promise<boolean> {
    try {
      const r = await this.pool.query('SELECT 1 AS ok');
      return r.rows[0]?.ok === 1;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}
