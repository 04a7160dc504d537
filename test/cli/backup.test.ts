import Database from 'better-sqlite3';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, runCli } from './helpers.ts';

let dir: string;
const cli = (args: string[], dataDir = 'data') => runCli(args, { cwd: dir, env: { TRAITLENS_DATA_DIR: join(dir, dataDir) } });
const count = (db: string, sql: string) => {
  const c = new Database(db, { readonly: true });
  try {
    return (c.prepare(sql).get() as { n: number }).n;
  } finally {
    c.close();
  }
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'traitlens-backup-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('traitlens backup and restore', { timeout: 120_000 }, () => {
  it('backs up a database that another connection is writing: committed rows in, the open transaction out', async () => {
    expect((await cli(['import', fixture('cli-events.jsonl'), '--json'])).code).toBe(0);
    const live = join(dir, 'data', 'traitlens.db');
    mkdirSync(join(dir, 'data', 'models', 'm', '1'), { recursive: true });
    writeFileSync(join(dir, 'data', 'models', 'm', '1', 'card.json'), '{"name":"m"}');
    const before = count(live, 'SELECT count(*) AS n FROM events');
    expect(before).toBeGreaterThan(0);
    // A writer holding an uncommitted transaction while the backup runs (WAL lets the copy read).
    const writer = new Database(live);
    writer.exec('BEGIN IMMEDIATE');
    writer.exec('DELETE FROM events');
    try {
      const r = await cli(['backup', 'bk', '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ database: 'traitlens.db', models: true });
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
    }
    expect(count(join(dir, 'bk', 'traitlens.db'), 'SELECT count(*) AS n FROM events')).toBe(before);
    expect(readFileSync(join(dir, 'bk', 'models', 'm', '1', 'card.json'), 'utf8')).toBe('{"name":"m"}');
    // a folder that is not empty is a conflict (exit 1)
    expect((await cli(['backup', 'bk'])).code).toBe(1);
  });

  it('restores into a new data directory, and only with --force over an existing database', async () => {
    const r = await cli(['restore', join(dir, 'bk'), '--json'], 'data2');
    expect(r.code, r.stderr).toBe(0);
    const restored = join(dir, 'data2', 'traitlens.db');
    expect(count(restored, 'SELECT count(*) AS n FROM events')).toBe(count(join(dir, 'bk', 'traitlens.db'), 'SELECT count(*) AS n FROM events'));
    expect(existsSync(join(dir, 'data2', 'models', 'm', '1', 'card.json'))).toBe(true);
    // the restored data directory works for other commands
    const stats = await cli(['stats', '--json'], 'data2');
    expect(stats.code, stats.stderr).toBe(0);
    expect((JSON.parse(stats.stdout) as { events: { total: number } }).events.total).toBeGreaterThan(0);
    expect((await cli(['restore', join(dir, 'bk')], 'data2')).code).toBe(1);
    expect((await cli(['restore', join(dir, 'bk'), '--force'], 'data2')).code).toBe(0);
  });

  it('refuses a damaged backup and leaves the existing database alone', async () => {
    const bad = join(dir, 'bad');
    mkdirSync(bad);
    writeFileSync(join(bad, 'backup.json'), JSON.stringify({ format: 1, createdAt: 'x', database: 'traitlens.db', models: false, index: false }));
    writeFileSync(join(bad, 'traitlens.db'), `SQLite format 3\0${'garbage'.repeat(1000)}`);
    const r = await cli(['restore', bad, '--force'], 'data2');
    expect(r.code).toBe(1);
    expect(count(join(dir, 'data2', 'traitlens.db'), 'SELECT count(*) AS n FROM events')).toBeGreaterThan(0);
  });
});
