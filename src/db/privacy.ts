import { effectiveConsent } from '../core/consent.ts';
import type { ConsentFlag, Json, JsonObject } from '../core/types.ts';
import type { Executor } from './sql/executor.ts';
import { SqliteExecutor } from './sql/sqlite-executor.ts';
import type { UserRow } from './stores/users.ts';
import type { EraseReason, UserDataSection } from './user-data.ts';

/**
 * Erasure and the subject-access export, both driven by the one list of per-user data sections
 * (`Store.userData` plus what the composition root adds for data outside the database), so what
 * the export returns and what erasure deletes cannot drift apart.
 */

export interface ErasureResult {
  /** rows (or store entries) removed per section */
  removed: Record<string, number>;
  /** sections whose afterCommit failed (their data is rebuildable; the caller logs it) */
  failed: string[];
  /** true when the WAL was checkpointed and truncated, so no old page image holds erased data */
  checkpointed: boolean;
}

// `users` goes last whatever the list's order: other rows may reference it.
const ordered = (sections: readonly UserDataSection[], derivedOnly: boolean) => {
  const list = sections.filter((s) => !derivedOnly || s.derived);
  const isUsers = (s: UserDataSection) => s.tables.includes('users');
  return [...list.filter((s) => !isUsers(s)), ...list.filter(isUsers)];
};

/**
 * Removes everything held about an internal user id, in one transaction, then records an audit
 * entry with counts only (no id, nothing personal), runs the sections outside the database, and
 * truncates SQLite's WAL. With `secure_delete` (connection.ts) freed bytes are zeroed in the file.
 */
export async function eraseUser(exec: Executor, sections: readonly UserDataSection[], userId: number, meta: { keyId?: string | null; now?: number } = {}): Promise<ErasureResult> {
  const now = meta.now ?? Date.now();
  const list = ordered(sections, false);
  const removed: Record<string, number> = {};
  await exec.tx(async (q) => {
    for (const s of list) if (s.erase) removed[s.name] = (removed[s.name] ?? 0) + (await s.erase(q, userId, 'erasure'));
    await q.run('INSERT INTO audit_log (at, key_id, action, method, route, status, user_id, details) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)', [
      now,
      meta.keyId ?? null,
      'user.erase',
      'DELETE',
      '/v1/users/:id',
      200,
      JSON.stringify({ removed }),
    ]);
  });
  const failed = await runAfterCommit(list, userId, 'erasure', removed);
  return { removed, failed, checkpointed: await checkpoint(exec) };
}

/** Removes the user's derived data (profiling consent withdrawn); events and declared attributes stay. */
export async function eraseDerived(
  exec: Executor,
  sections: readonly UserDataSection[],
  userId: number,
  meta: { now?: number } = {},
): Promise<{ removed: Record<string, number>; failed: string[] }> {
  const now = meta.now ?? Date.now();
  const list = ordered(sections, true);
  const removed: Record<string, number> = {};
  await exec.tx(async (q) => {
    for (const s of list) if (s.erase) removed[s.name] = (removed[s.name] ?? 0) + (await s.erase(q, userId, 'profiling_withdrawn'));
    // Caches (summaries, vectors) key on the profile version: what they held is gone.
    if (Object.values(removed).some((n) => n > 0)) await q.run('UPDATE users SET profile_version = profile_version + 1, updated_at = ? WHERE id = ?', [now, userId]);
  });
  const failed = await runAfterCommit(list, userId, 'profiling_withdrawn', removed);
  return { removed, failed };
}

async function runAfterCommit(list: UserDataSection[], userId: number, reason: EraseReason, removed: Record<string, number>): Promise<string[]> {
  const failed: string[] = [];
  for (const s of list) {
    if (!s.afterCommit) continue;
    try {
      removed[s.name] = (removed[s.name] ?? 0) + (await s.afterCommit(userId, reason));
    } catch {
      failed.push(s.name);
    }
  }
  return failed;
}

/**
 * Moves SQLite's WAL into the main file and truncates it; false when a reader kept old frames
 * alive (the next checkpoint completes it). PostgreSQL's WAL is not ours to truncate: false.
 */
async function checkpoint(exec: Executor): Promise<boolean> {
  if (!(exec instanceof SqliteExecutor)) return false;
  return exec.exclusive(() => {
    try {
      // The database and, where it is a file of its own, the audit log (src/db/connection.ts).
      const schemas = (exec.db.sqlite.pragma('database_list') as { name: string }[]).map((d) => d.name).filter((n) => n === 'main' || n === 'audit');
      return schemas.every((s) => (exec.db.sqlite.pragma(`${s}.wal_checkpoint(TRUNCATE)`) as { busy: number }[])[0]?.busy === 0);
    } catch {
      return false;
    }
  });
}

/**
 * Everything held about one user, for a subject access request: one key per section (what
 * erasure would delete, under the same name), plus the effective consent. Sections without an
 * export (nothing per user to show) are left out.
 */
export async function exportUser(sections: readonly UserDataSection[], user: UserRow, defaultConsent: readonly ConsentFlag[]): Promise<JsonObject> {
  const out: JsonObject = {
    exportedAt: new Date().toISOString(),
    consent: effectiveConsent(user.consent, defaultConsent) as unknown as Json,
  };
  for (const s of sections) if (s.export) out[s.name] = await s.export(user.id);
  return out;
}
