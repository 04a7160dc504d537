import type { Db } from './connection.ts';

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

export function writeAudit(db: Db, e: AuditEntry): void {
  db.stmt('INSERT INTO audit_log (at, key_id, action, method, route, status, user_id, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(e.at, e.keyId, e.action, e.method, e.route, e.status, e.userId, e.details ? JSON.stringify(e.details) : null);
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

/** Newest first, keyset-paged on the row id. */
export function queryAudit(db: Db, f: AuditFilter): { rows: AuditRow[]; next: number | null } {
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
  const raw = db.sqlite
    .prepare(`SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`)
    .all(...args, f.limit + 1) as { id: number; at: number; key_id: string | null; action: string; method: string | null; route: string | null; status: number | null; user_id: number | null; details: string | null }[];
  const page = raw.slice(0, f.limit);
  return {
    rows: page.map((r) => ({
      id: r.id,
      at: r.at,
      keyId: r.key_id,
      action: r.action,
      method: r.method,
      route: r.route,
      status: r.status,
      userId: r.user_id,
      details: r.details ? (JSON.parse(r.details) as Record<string, unknown>) : null,
    })),
    next: raw.length > f.limit ? (page[page.length - 1]?.id ?? null) : null,
  };
}
