/**
 * Backups of the embedded store. SQLite's online backup API copies a consistent snapshot (what
 * was committed when the copy finished) while the server keeps reading and writing: the copy
 * restarts its pages when another connection writes mid-way, so it never holds a torn page.
 */
import { copyFileSync, renameSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';

/** Copies the live SQLite database at `src` to `dest` (which must not exist). */
export async function backupSqlite(src: string, dest: string): Promise<{ pages: number }> {
  const db = new Database(src, { readonly: true, fileMustExist: true });
  try {
    const r = await db.backup(dest);
    return { pages: r.totalPages };
  } finally {
    db.close();
  }
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
  copyFileSync(src, `${dest}.restoring`);
  // A stale WAL would be replayed over the restored file on the next open.
  for (const suffix of ['-wal', '-shm']) rmSync(dest + suffix, { force: true });
  // rename replaces atomically on one filesystem: a crash leaves the old database or the new one.
  renameSync(`${dest}.restoring`, dest);
}
