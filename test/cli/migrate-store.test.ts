import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgAvailable, createTempPgSchema, type TempPg } from '../support/pg.ts';
import { tempDir } from '../support/temp-db.ts';
import { fixture, runCli } from './helpers.ts';

// The real CLI moves a database (events, users, traits with history, keys, jobs, LLM usage, vectors)
// to another and verifies it; a second run copies nothing and still verifies; a changed row fails.
describe('traitlens migrate-store', () => {
  const dir = tempDir();
  const source = join(dir.dir, 'source.db');
  const env = { TRAITLENS_DB: source, TRAITLENS_DB_SYNCHRONOUS: 'OFF', LOG_LEVEL: 'silent', TRAITLENS_CACHE_DIR: join(dir.dir, 'cache') };
  const cli = (args: string[]) => runCli(args, { cwd: dir.dir, env });

  beforeAll(async () => {
    expect((await cli(['import', fixture('cli-events.jsonl'), '--json'])).code).toBe(0);
    expect((await cli(['keys', 'create', '--name', 'ops', '--scopes', 'admin'])).code).toBe(0);
    expect((await cli(['process'])).code).toBe(0);
  }, 120_000);
  afterAll(() => dir.remove());

  it('copies into a SQLite file, verifies, and a re-run copies nothing', async () => {
    const target = join(dir.dir, 'target.db');
    const first = await cli(['migrate-store', '--from', source, '--to', target, '--json']);
    expect(first.code, first.stderr).toBe(0);
    const report = JSON.parse(first.stdout) as { ok: boolean; tables: { table: string; source: number; copied: number; ok: boolean }[] };
    expect(report.ok).toBe(true);
    const byName = Object.fromEntries(report.tables.map((t) => [t.table, t]));
    for (const t of ['users', 'identities', 'events', 'traits', 'api_keys', 'jobs']) expect(byName[t]?.source, t).toBeGreaterThan(0);
    expect(byName.events?.copied).toBe(byName.events?.source);

    const again = await cli(['migrate-store', '--from', source, '--to', target, '--json']);
    expect(again.code, again.stderr + again.stdout).toBe(0);
    expect((JSON.parse(again.stdout) as typeof report).tables.every((t) => t.copied === 0 && t.ok)).toBe(true);

    // A row that differs is caught by the checksum even though the counts match.
    const db = new Database(target);
    db.prepare("UPDATE events SET text = 'tampered' WHERE id = (SELECT min(id) FROM events)").run();
    db.close();
    const tampered = await cli(['migrate-store', '--from', source, '--to', target]);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toMatch(/events\s.*MISMATCH/);
  }, 60_000);

  it('refuses the same database on both sides', async () => {
    const r = await cli(['migrate-store', '--from', source, '--to', source]);
    expect(r.code).toBe(2);
  });

  describe.skipIf(!pgAvailable())('to PostgreSQL', () => {
    let pg: TempPg;
    // biome-ignore lint/suspicious/noDuplicateTestHooks: this nested suite's own schema
    beforeAll(async () => {
      pg = await createTempPgSchema();
    });
    // biome-ignore lint/suspicious/noDuplicateTestHooks: drops this nested suite's schema
    afterAll(async () => pg?.drop());

    it('moves the database to PostgreSQL and verifies every table', async () => {
      const r = await cli(['migrate-store', '--from', source, '--to', pg.url, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as { ok: boolean }).ok).toBe(true);
      const again = await cli(['migrate-store', '--from', source, '--to', pg.url, '--json']);
      expect(again.code, again.stderr + again.stdout).toBe(0);
    }, 60_000);
  });
});
