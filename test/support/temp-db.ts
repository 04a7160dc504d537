import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, type Db, type OpenOptions } from '../../src/db/connection.ts';
import { sqliteStore, type SqliteStore } from '../../src/db/store.ts';

export interface TempDb {
  db: Db;
  /** the async store over `db` (what stages and routes take) */
  store: SqliteStore;
  dir: string;
  path: string;
  /** closes the database and removes its directory */
  cleanup(): void;
}

/** A fresh temp directory under the OS temp dir; removed by the returned function. */
export function tempDir(prefix = 'traitlens-test-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A migrated SQLite file in its own temp directory (synchronous=OFF: tests need no fsync). */
export function createTempDb(opts: OpenOptions = {}): TempDb {
  const { dir, remove } = tempDir();
  const path = join(dir, 'traitlens.db');
  const db = openDb(path, { synchronous: 'OFF', ...opts });
  return {
    db,
    store: sqliteStore(db),
    dir,
    path,
    cleanup: () => {
      db.close();
      remove();
    },
  };
}
