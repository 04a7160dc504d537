import Database from 'better-sqlite3';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { auditPathOf, openDb } from '../../src/db/connection.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { tempDir } from '../support/temp-db.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function tableIn(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'").pluck().get() as number;
  } finally {
    db.close();
  }
}

/** The audit log in a file of its own beside the database (src/db/connection.ts). */
describe('the audit log file', () => {
  it('a database from before the split: the log, its rows and indexes move out once, and SQL still names it unqualified', () => {
    const d = tempDir();
    cleanups.push(d.remove);
    const path = join(d.dir, 'old.db');
    // Migrate, then put the table back into the database as an older version had it (with rows).
    const first = openDb(path);
    first.sqlite.exec('CREATE TABLE main.audit_log AS SELECT * FROM audit.audit_log WHERE 0');
    first.sqlite.exec('DROP TABLE audit.audit_log');
    first.sqlite.exec("INSERT INTO main.audit_log (id, at, action, user_id) VALUES (1, 10, 'profile.read', 7), (2, 20, 'traits.read', 8)");
    first.sqlite.exec('CREATE INDEX main.audit_at_idx ON audit_log (at)');
    first.close();
    expect(tableIn(path)).toBe(1);

    for (let i = 0; i < 2; i++) {
      const db = openDb(path);
      expect(db.sqlite.prepare('SELECT id, action, user_id AS u FROM audit_log ORDER BY id').all()).toEqual([
        { id: 1, action: 'profile.read', u: 7 },
        { id: 2, action: 'traits.read', u: 8 },
      ]);
      expect(db.sqlite.prepare("SELECT name FROM audit.sqlite_master WHERE type = 'index' AND name = 'audit_at_idx'").pluck().get()).toBe('audit_at_idx');
      db.close();
    }
    expect(tableIn(path)).toBe(0);
    expect(tableIn(auditPathOf(path)!)).toBe(1);
    // Read-only: attached when it exists.
    const ro = openDb(path, { readonly: true });
    expect(ro.sqlite.prepare('SELECT count(*) FROM audit_log').pluck().get()).toBe(2);
    ro.close();
  });

  it('a database file copied without its log: the log starts empty, with the table and indexes the migrations define', () => {
    const d = tempDir();
    cleanups.push(d.remove);
    const path = join(d.dir, 'a.db');
    const db = openDb(path);
    db.sqlite.exec("INSERT INTO audit_log (at, action) VALUES (1, 'profile.read')");
    db.close();
    const copy = join(d.dir, 'copy.db');
    copyFileSync(path, copy);
    const opened = openDb(copy);
    expect(opened.sqlite.prepare('SELECT count(*) FROM audit_log').pluck().get()).toBe(0);
    expect(opened.sqlite.prepare("SELECT name FROM audit.sqlite_master WHERE type = 'index' ORDER BY name").pluck().all()).toEqual(['audit_at_idx', 'audit_user_idx']);
    opened.sqlite.exec("INSERT INTO audit_log (at, action) VALUES (2, 'traits.read')");
    opened.close();
  });

  it("an audited read commits to the log's file only: the database's other connections keep their pages", async () => {
    const api: TestApi = createTestApi();
    cleanups.push(() => api.cleanup());
    expect((await api.request('POST', '/v1/events', { key: api.keys['events:write'], json: [{ userId: 'ann', type: 'click' }] })).status).toBe(200);
    await api.request('GET', '/v1/users/ann');
    expect(existsSync(auditPathOf(api.path)!)).toBe(true);
    // data_version changes for a connection when another one commits to that file.
    const watcher = new Database(api.path, { readonly: true });
    const auditWatcher = new Database(auditPathOf(api.path)!, { readonly: true });
    cleanups.push(() => (watcher.close(), auditWatcher.close()));
    const version = (db: Database.Database) => db.pragma('data_version', { simple: true });
    const before = [version(watcher), version(auditWatcher)];
    for (let i = 0; i < 3; i++) expect((await api.request('GET', '/v1/users/ann')).status).toBe(200);
    expect(version(watcher)).toBe(before[0]);
    expect(version(auditWatcher)).not.toBe(before[1]);
    expect(auditWatcher.prepare("SELECT count(*) FROM audit_log WHERE route = '/v1/users/:id'").pluck().get()).toBe(4);
  });
});
