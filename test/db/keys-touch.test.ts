import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import { createTempDb, type TempDb } from '../support/temp-db.ts';

let t: TempDb | undefined;
afterEach(() => {
  t?.cleanup();
  t = undefined;
});

it('a key use is skipped, not waited for, while another connection holds the write lock (the serving thread never sleeps on it)', async () => {
  t = createTempDb({ busyTimeoutMs: 5000 });
  const keys = t.store.keys;
  const k = await keys.create('reader', ['profiles:read']);
  const lastUsed = async () => (await keys.list()).find((x) => x.id === k.id)?.lastUsedAt ?? null;

  // Another connection (as the audit or ingestion writer thread) holds the write lock.
  const other = new Database(t.path);
  other.exec('BEGIN IMMEDIATE');
  const started = performance.now();
  await keys.touch(k.id, 5_000);
  // Before: the busy handler slept up to the 5 s busy timeout on this thread, then threw SQLITE_BUSY.
  expect(performance.now() - started).toBeLessThan(1000);
  expect(await lastUsed()).toBeNull();
  // The connection's busy timeout is back for every other statement.
  expect(t.db.sqlite.pragma('busy_timeout', { simple: true })).toBe(5000);
  other.exec('COMMIT');
  other.close();

  await keys.touch(k.id, 7_000);
  expect(await lastUsed()).toBe(new Date(7_000).toISOString());
});
