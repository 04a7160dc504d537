/**
 * Backups of the embedded store. SQLite's online backup API copies a consistent snapshot (what
 * was committed when the copy finished) while the server keeps reading and writing: the copy
 * restarts its pages when another connection writes mid-way, so it never holds a torn page.
 */
import { copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { auditPathOf } from './connection.ts';

/**
 * Copies the live SQLite database at `src` to `dest` (which must not exist), and its audit log file
 * (`<src>.audit`, src/db/connection.ts) to `<dest>.audit`: two snapshots, each consistent.
 */
export async function backupSqlite(src: string, dest: string): Promise<{ pages: number }> {
  let pages = 0;
  for (const [from, to] of [
    [src, dest],
    [auditPathOf(src), auditPathOf(dest)],
  ] as const) {
    if (!from || !to || (from !== src && !existsSync(from))) continue;
    const db = new Database(from, { readonly: true, fileMustExist: true });
    try {
      pages += (await db.backup(to)).totalPages;
    } finally {
      db.close();
    }
  }
  return { pages };
}

/** `PRAGMA integrity_check` of a database file: 'ok', or the problems SQLite found. */
export function checkSqliteFile(path: string): string {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const rows = db.pragma('integrity_check') as { integrity_check: string }[];
    return rows.map((r) => r.integrity_check).join('; ');
  } catch (err) {
    // a file too damaged to open or check at all
    return (err as Error).message;
  } finally {
    db?.close();
  }
}

/**
 * Puts a backed-up database file in place at `dest` (the server must be stopped): the copy is
 * checked first, and stale WAL/shared-memory files of the replaced database are removed so they
 * cannot be replayed over the restored one.
 */
export function restoreSqlite(src: string, dest: string): void {
  const check = checkSqliteFile(src);
  if (check !== 'ok') throw new Error(`the backup's database is damaged: ${check}`);
  // The audit log file beside it, when the backup has one (backups from before the split keep the
  // log inside the database; the next open moves it out).
  const audit = auditPathOf(src);
  const auditDest = auditPathOf(dest);
  const withAudit = audit !== null && existsSync(audit);
  if (withAudit) {
    const c = checkSqliteFile(audit);
    if (c !== 'ok') throw new Error(`the backup's audit log is damaged: ${c}`);
  }
  putInPlace(src, dest);
  if (!auditDest) return;
  if (withAudit) putInPlace(audit, auditDest);
  else {
    // The replaced database's log must not be joined to the restored one.
    for (const suffix of ['', '-wal', '-shm']) rmSync(auditDest + suffix, { force: true });
  }
}

/** Copies `from` over `to`, removing `to`'s stale WAL (it would be replayed over the copy on the next open). */
function putInPlace(from: string, to: string): void {
  copyFileSync(from, `${to}.restoring`);
  for (const suffix of ['-wal', '-shm']) rmSync(to + suffix, { force: true });
  // rename replaces atomically on one filesystem: a crash leaves the old file or the new one.
  renameSync(`${to}.restoring`, to);
}
