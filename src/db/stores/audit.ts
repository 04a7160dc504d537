import type { Dialect } from '../sql/dialect.ts';
import type { Executor } from '../sql/executor.ts';

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
}

const INSERT_AUDIT = 'INSERT INTO audit_log (at, key_id, action, method, route, status, user_id, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)';

interface Waiting {
  entry: AuditEntry;
  resolve(): void;
  reject(err: unknown): void;
}

export class SqlAuditStore implements AuditStore {
  private queue: Waiting[] = [];
  private scheduled = false;

  constructor(
    protected readonly x: Executor,
    protected readonly d: Dialect,
  ) {}

  write(entry: AuditEntry): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // After the current turn's other requests have queued theirs: they share the commit.
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    try {
      await this.x.tx(async (q) => {
        for (const { entry: e } of batch) await q.run(INSERT_AUDIT, [e.at, e.keyId, e.action, e.method, e.route, e.status, e.userId, e.details ? JSON.stringify(e.details) : null]);
      });
      for (const w of batch) w.resolve();
    } catch (err) {
      for (const w of batch) w.reject(err);
    } finally {
      // Entries that arrived during the commit form the next group.
      if (this.queue.length) setImmediate(() => void this.flush());
      else this.scheduled = false;
    }
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
