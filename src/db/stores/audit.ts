import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { auditPathOf } from '../connection.ts';
import type { Dialect } from '../sql/dialect.ts';
import type { Executor } from '../sql/executor.ts';
import { SqliteExecutor } from '../sql/sqlite-executor.ts';
import type { WritePriority } from '../write-priority.ts';

export interface AuditEntry {
  at: number;
  keyId: string | null;
  action: string;
  method: string | null;
  route: string | null;
  status: number | null;
  /** internal user id only: never the external id */
  userId: number | null;
  details?: Record<string, unknown> | null;
}

export interface AuditFilter {
  keyId?: string | undefined;
  userId?: number | undefined;
  route?: string | undefined;
  action?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
  /** id of the last row of the previous page (rows come newest first) */
  before?: number | undefined;
  limit: number;
}

export interface AuditRow extends AuditEntry {
  id: number;
}

/** The access log SECURITY.md promises: who read what, when, with which outcome. */
export interface AuditStore {
  /**
   * Records an access; resolves once the row is committed (durable as the database's
   * synchronous setting makes it), rejects when it could not be written. Writes arriving together
   * share one transaction (group commit): one commit for many concurrent requests.
   */
  write(entry: AuditEntry): Promise<void>;
  /** Newest first, keyset-paged on the row id. */
  query(filter: AuditFilter): Promise<{ rows: AuditRow[]; next: number | null }>;
  /** Waits for writes in flight and stops the writer thread (SQLite); the store's close calls it. */
  close(): Promise<void>;
}

const INSERT_AUDIT = 'INSERT INTO audit_log (at, key_id, action, method, route, status, user_id, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)';

interface Waiting {
  entry: AuditEntry;
  resolve(): void;
  reject(err: unknown): void;
}

const rowOf = (e: AuditEntry): unknown[] => [e.at, e.keyId, e.action, e.method, e.route, e.status, e.userId, e.details ? JSON.stringify(e.details) : null];

/**
 * Group commit. Every read of personal data waits for its audit row to be committed before it is
 * answered; with synchronous FULL each commit is an fsync. So rows are never committed one by one:
 * the entries of one event-loop turn form a group, at most one group is being committed at a time,
 * and whatever arrives meanwhile forms the next group (under load a group holds every request
 * that arrived during the previous commit). On SQLite the commit runs on a thread of its own with
 * its own connection (`SqliteAuditWriter`), so the fsync never blocks the serving event loop;
 * elsewhere (PostgreSQL, an in-memory database) it is one transaction on the executor.
 */
export class SqlAuditStore implements AuditStore {
  private queue: Waiting[] = [];
  /** a group is scheduled or being committed */
  private busy = false;
  private writer: SqliteAuditWriter | undefined;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: (() => void) | undefined;

  constructor(
    protected readonly x: Executor,
    protected readonly d: Dialect,
    /** SQLite: tells this process's other writer threads that an audit group goes first */
    private readonly priority?: WritePriority,
  ) {
    if (x instanceof SqliteExecutor && x.db.path !== ':memory:' && !x.db.sqlite.readonly) this.writer = new SqliteAuditWriter(x);
  }

  write(entry: AuditEntry): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      if (!this.busy) {
        this.busy = true;
        this.idle = new Promise<void>((r) => (this.markIdle = r));
        // After the current turn's other requests have queued theirs: they share the commit.
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const group = this.queue;
    this.queue = [];
    try {
      const rows = group.map((w) => rowOf(w.entry));
      if (this.writer?.usable) {
        this.priority?.enter();
        try {
          await this.writer.write(rows);
        } finally {
          this.priority?.leave();
        }
      } else
        await this.x.tx(async (q) => {
          for (const r of rows) await q.run(INSERT_AUDIT, r);
        });
      for (const w of group) w.resolve();
    } catch (err) {
      for (const w of group) w.reject(err);
    } finally {
      // Entries that arrived during the commit form the next group, committed right away.
      if (this.queue.length) void this.flush();
      else {
        this.busy = false;
        this.markIdle?.();
      }
    }
  }

  /**
   * True while a group is being committed on the writer thread (the audit file's lock and fsync),
   * and reads wait for it. Ingestion on the serving connection checks this before it writes, so its
   * batches' disk writes do not hold up the audit's fsync (and so every audited read). Always false
   * where the commit runs on the executor itself.
   */
  get committingElsewhere(): boolean {
    return this.busy && this.writer?.usable === true;
  }

  async close(): Promise<void> {
    await this.idle;
    await this.writer?.close();
  }

  async query(f: AuditFilter): Promise<{ rows: AuditRow[]; next: number | null }> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (cond: string, v: unknown) => {
      where.push(cond);
      args.push(v);
    };
    if (f.keyId !== undefined) add('key_id = ?', f.keyId);
    if (f.userId !== undefined) add('user_id = ?', f.userId);
    if (f.route !== undefined) add('route = ?', f.route);
    if (f.action !== undefined) add('action = ?', f.action);
    if (f.since !== undefined) add('at >= ?', f.since);
    if (f.until !== undefined) add('at < ?', f.until);
    if (f.before !== undefined) add('id < ?', f.before);
    const raw = await this.x.all<{
      id: number;
      at: number;
      keyId: string | null;
      action: string;
      method: string | null;
      route: string | null;
      status: number | null;
      userId: number | null;
      details: string | null;
    }>(
      `SELECT id, at, key_id AS "keyId", action, method, route, status, user_id AS "userId", details FROM audit_log
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
      [...args, f.limit + 1],
    );
    const page = raw.slice(0, f.limit);
    const last = page[page.length - 1];
    return {
      rows: page.map((r) => ({
        id: Number(r.id),
        at: Number(r.at),
        keyId: r.keyId,
        action: r.action,
        method: r.method,
        route: r.route,
        status: r.status === null ? null : Number(r.status),
        userId: r.userId === null ? null : Number(r.userId),
        details: r.details ? (JSON.parse(r.details) as Record<string, unknown>) : null,
      })),
      next: raw.length > f.limit && last ? Number(last.id) : null,
    };
  }
}

/**
 * The audit rows' own SQLite connection on a thread (started on first use): it runs each group's
 * INSERTs and the COMMIT (the fsync under synchronous FULL) off the serving event loop, with the
 * serving connection's durability and busy-timeout settings. One message per group; the answer
 * comes after the commit. If the thread fails, the waiting rows are rejected (their reads are
 * refused, 503) and later groups are written on the serving connection instead.
 */
class SqliteAuditWriter {
  private thread: Worker | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(): void; reject(err: unknown): void }>();
  private failed = false;

  constructor(private readonly x: SqliteExecutor) {}

  get usable(): boolean {
    return !this.failed && this.x.db.sqlite.open;
  }

  write(rows: unknown[][]): Promise<void> {
    const t = this.start();
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      t.postMessage({ id, rows });
    });
  }

  private start(): Worker {
    if (this.thread) return this.thread;
    const s = this.x.db.sqlite;
    const t = new Worker(WRITER_SOURCE, {
      eval: true,
      name: 'traitlens-audit-writer',
      workerData: {
        driver: createRequire(import.meta.url).resolve('better-sqlite3'),
        // The log's own file (attached as `audit` on the serving connection): its commits leave the
        // database's pages cached on every other connection.
        path: auditPathOf(this.x.db.path) ?? this.x.db.path,
        synchronous: Number(s.pragma('synchronous', { simple: true })),
        busyTimeoutMs: Number(s.pragma('busy_timeout', { simple: true })),
        sql: INSERT_AUDIT,
      },
    });
    // The serving process's lifetime is not the writer's business.
    t.unref();
    t.on('message', (m: { id: number; ok: boolean; error?: string; code?: string }) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.ok) w.resolve();
      else w.reject(Object.assign(new Error(`audit write failed: ${m.error}`), { code: m.code }));
    });
    const fail = (err: unknown) => {
      this.failed = true;
      this.thread = undefined;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
    t.on('error', fail);
    t.on('exit', (code) => {
      if (this.thread === t) fail(new Error(`audit writer thread exited (${code})`));
    });
    this.thread = t;
    return t;
  }

  async close(): Promise<void> {
    const t = this.thread;
    if (!t) return;
    this.thread = undefined;
    this.failed = true;
    await t.terminate();
  }
}

/** The writer thread (CommonJS, no TypeScript: it needs only the driver). */
const WRITER_SOURCE = `
const { parentPort, workerData: w } = require('node:worker_threads');
const Database = require(w.driver);
const db = new Database(w.path);
// No busy handler: its sleeps grow to 100 ms and lose every race for the lock to back-to-back
// ingestion batches on the serving connection. Poll every millisecond instead, up to the busy timeout.
db.pragma('busy_timeout = 0');
db.pragma('synchronous = ' + Math.trunc(w.synchronous));
db.pragma('foreign_keys = ON');
db.pragma('secure_delete = ON');
const insert = db.prepare(w.sql);
const group = db.transaction((rows) => { for (const r of rows) insert.run(...r); });
const pause = new Int32Array(new SharedArrayBuffer(4));
parentPort.on('message', (m) => {
  try {
    const deadline = Date.now() + w.busyTimeoutMs;
    for (;;) {
      try {
        group.immediate(m.rows);
        break;
      } catch (err) {
        if (!err || err.code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw err;
        Atomics.wait(pause, 0, 0, 1);
      }
    }
    parentPort.postMessage({ id: m.id, ok: true });
  } catch (err) {
    parentPort.postMessage({ id: m.id, ok: false, error: String(err && err.message || err), code: err && err.code });
  }
});
`;
