import type { Db } from './connection.ts';

/**
 * Erasure as a registry: every module that stores something about a user registers an eraser for
 * its table or store, so `DELETE /v1/users/:id` (and consent withdrawal) reach data added later
 * without this file knowing about it.
 *
 * - `erase` runs inside the erasure's one write transaction (SQL tables): all or nothing.
 * - `afterCommit` is for stores outside SQLite (an HNSW index file, a cache directory): it runs once
 *   the rows are gone; a failure there is reported, not rolled back (the store is a rebuildable cache).
 * - `derived: true` marks data inferred from events (traits, vectors, summaries): it is also removed
 *   when the user withdraws `profiling` consent. Events, identities and declared attributes are not.
 */
export type EraseReason = 'erasure' | 'profiling_withdrawn';

export interface Eraser {
  /** table or store name; the key in the counts an erasure returns */
  name: string;
  derived: boolean;
  /** deletes the user's rows; returns how many went */
  erase?(db: Db, userId: number, reason: EraseReason): number;
  afterCommit?(db: Db, userId: number, reason: EraseReason): number | Promise<number>;
}

const erasers = new Map<string, Eraser>();

/** Adds (or replaces, by name) an eraser. Modules call this at import time. */
export function registerEraser(e: Eraser): void {
  erasers.set(e.name, e);
}

export function listErasers(): Eraser[] {
  return [...erasers.values()];
}

const run = (db: Db, sql: string, ...args: unknown[]) => db.stmt(sql).run(...args).changes;

// Core tables. Order matters only for counting: children before parents so the counts are real
// rows and not cascade side effects (foreign keys would remove most of them anyway).
registerEraser({
  name: 'signal_extractions',
  derived: true,
  erase: (db, u) => run(db, 'DELETE FROM signal_extractions WHERE event_id IN (SELECT id FROM events WHERE user_id = ?)', u),
});
registerEraser({ name: 'signal_embeddings', derived: true, erase: (db, u) => run(db, 'DELETE FROM signal_embeddings WHERE user_id = ?', u) });
registerEraser({ name: 'user_embeddings', derived: true, erase: (db, u) => run(db, 'DELETE FROM user_embeddings WHERE user_id = ?', u) });
registerEraser({ name: 'llm_cache', derived: true, erase: (db, u) => run(db, 'DELETE FROM llm_cache WHERE user_id = ?', u) });
registerEraser({
  name: 'traits',
  derived: true,
  // On withdrawal the declared attributes (the client's own data, with their history) stay.
  erase: (db, u, reason) =>
    reason === 'erasure'
      ? run(db, 'DELETE FROM traits WHERE user_id = ?', u)
      : run(db, "DELETE FROM traits WHERE user_id = ? AND kind <> 'declared'", u),
});
registerEraser({
  name: 'llm_calls',
  derived: false,
  // Usage rows stay for token accounting (the daily budget), detached from the user and without
  // error text, which could quote model output about them.
  erase: (db, u) => run(db, 'UPDATE llm_calls SET user_id = NULL, error = NULL WHERE user_id = ?', u),
});
registerEraser({ name: 'jobs', derived: false, erase: (db, u) => run(db, 'DELETE FROM jobs WHERE user_id = ?', u) });
registerEraser({ name: 'events', derived: false, erase: (db, u) => run(db, 'DELETE FROM events WHERE user_id = ?', u) });
registerEraser({ name: 'identities', derived: false, erase: (db, u) => run(db, 'DELETE FROM identities WHERE user_id = ?', u) });
registerEraser({ name: 'audit_log', derived: false, erase: (db, u) => run(db, 'DELETE FROM audit_log WHERE user_id = ?', u) });
registerEraser({ name: 'users', derived: false, erase: (db, u) => run(db, 'DELETE FROM users WHERE id = ?', u) });

// `users` must go last whatever other modules register: their rows may reference it.
const ordered = (derivedOnly: boolean) => {
  const list = listErasers().filter((e) => !derivedOnly || e.derived);
  return [...list.filter((e) => e.name !== 'users'), ...list.filter((e) => e.name === 'users')];
};

export interface ErasureResult {
  /** rows (or store entries) removed per table/store */
  removed: Record<string, number>;
  /** stores whose afterCommit failed (their data is rebuildable; the error is in the log) */
  failed: string[];
  /** true when the WAL was checkpointed and truncated, so no old page image holds erased data */
  checkpointed: boolean;
}

/**
 * Removes everything held about an internal user id, in one transaction, then records an audit
 * entry with counts only (no id, nothing personal) and truncates the WAL. With `secure_delete`
 * (connection.ts) the freed bytes are zeroed in the main file.
 */
export async function eraseUser(db: Db, userId: number, meta: { keyId?: string | null; now?: number } = {}): Promise<ErasureResult> {
  const now = meta.now ?? Date.now();
  const removed: Record<string, number> = {};
  const erasers = ordered(false);
  db.sqlite.transaction(() => {
    for (const e of erasers) if (e.erase) removed[e.name] = (removed[e.name] ?? 0) + e.erase(db, userId, 'erasure');
    db.sqlite
      .prepare('INSERT INTO audit_log (at, key_id, action, method, route, status, user_id, details) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)')
      .run(now, meta.keyId ?? null, 'user.erase', 'DELETE', '/v1/users/:id', 200, JSON.stringify({ removed }));
  }).immediate();
  const failed = await runAfterCommit(db, erasers, userId, 'erasure', removed);
  return { removed, failed, checkpointed: checkpoint(db) };
}

/** Removes the user's derived data (profiling consent withdrawn); events and declared attributes stay. */
export async function eraseDerived(db: Db, userId: number): Promise<{ removed: Record<string, number>; failed: string[] }> {
  const removed: Record<string, number> = {};
  const erasers = ordered(true);
  db.sqlite.transaction(() => {
    for (const e of erasers) if (e.erase) removed[e.name] = (removed[e.name] ?? 0) + e.erase(db, userId, 'profiling_withdrawn');
    // Caches (summaries, vectors) key on the profile version: what they held is gone.
    if (Object.values(removed).some((n) => n > 0)) db.stmt('UPDATE users SET profile_version = profile_version + 1, updated_at = ? WHERE id = ?').run(Date.now(), userId);
  }).immediate();
  const failed = await runAfterCommit(db, erasers, userId, 'profiling_withdrawn', removed);
  return { removed, failed };
}

async function runAfterCommit(db: Db, list: Eraser[], userId: number, reason: EraseReason, removed: Record<string, number>): Promise<string[]> {
  const failed: string[] = [];
  for (const e of list) {
    if (!e.afterCommit) continue;
    try {
      removed[e.name] = (removed[e.name] ?? 0) + (await e.afterCommit(db, userId, reason));
    } catch {
      failed.push(e.name);
    }
  }
  return failed;
}

/** Moves the WAL into the main file and truncates it. False when a reader kept old frames alive. */
export function checkpoint(db: Db): boolean {
  try {
    const r = db.sqlite.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number; checkpointed: number }[];
    return r[0]?.busy === 0;
  } catch {
    return false;
  }
}
