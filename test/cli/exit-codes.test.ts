import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.ts';
import { openDb } from '../../src/db/connection.ts';
import { sqliteStore } from '../../src/db/store.ts';
import { tempDir } from '../support/temp-db.ts';
import { fixture, runCli } from './helpers.ts';

// Issue 16 item 12: small frictions, each reproduced through the real CLI or the shipped docs.
describe('one exit-code rule for every command', { timeout: 180_000 }, () => {
  const work = tempDir('traitlens-cli-exit-');
  const env = { TRAITLENS_DATA_DIR: work.dir, TRAITLENS_DB_SYNCHRONOUS: 'OFF', LOG_LEVEL: 'silent' };
  const cli = (args: string[]) => runCli(args, { cwd: work.dir, env });
  afterAll(() => work.remove());

  it('a malformed or out-of-range option value is exit 2 whichever command it is given to', async () => {
    const runs = await Promise.all([
      cli(['demo', '--users', 'abc', '--no-serve']),
      cli(['keys', 'create', '--name', 'x', '--scopes', 'everything']),
      cli(['keys', 'create', '--scopes', 'admin']),
      cli(['import', fixture('cli-events.csv'), '--batch-size', '0']),
      cli(['import', fixture('cli-events.csv'), '--format', 'xml']),
      cli(['jobs', 'list', '--status', 'sleeping']),
      cli(['jobs', 'retry', 'x1']),
      cli(['eval', 'similar', '--limit', 'many']),
    ]);
    for (const r of runs) expect(r.code, r.stderr).toBe(2);
  });

  it('--help of the tool and of each command states the rule', async () => {
    const [top, keys, jobs] = await Promise.all([cli(['--help']), cli(['keys', '--help']), cli(['jobs', '--help'])]);
    for (const r of [top, keys, jobs]) {
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/exit codes/);
      expect(r.stdout).toMatch(/ 2 +the command line or a setting is wrong/);
      expect(r.stdout).toMatch(/ 1 +the command ran but could not do it/);
    }
  });
});

describe('jobs retry of an id that is not a parked job', { timeout: 180_000 }, () => {
  const work = tempDir('traitlens-cli-retry-');
  const db = join(work.dir, 'jobs.db');
  const env = { TRAITLENS_DB: db, TRAITLENS_DB_SYNCHRONOUS: 'OFF', LOG_LEVEL: 'silent' };
  const cli = (args: string[]) => runCli(args, { cwd: work.dir, env });
  beforeAll(async () => {
    expect((await cli(['import', fixture('cli-events.jsonl'), '--json'])).code).toBe(0);
  }, 120_000);
  afterAll(() => work.remove());

  it('is an error (exit 1) naming the id, and retries nothing', async () => {
    const conn = openDb(db, { synchronous: 'OFF' });
    try {
      const store = sqliteStore(conn);
      const [job] = await store.jobs.claim('test', 1, { leaseMs: 60_000 });
      expect(await store.jobs.release(job!, { error: 'Error: boom', delayMs: 0, park: true })).toBe('parked');
      const missing = await cli(['jobs', 'retry', '999999']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/no job 999999/);
      expect(missing.stdout).toBe('');
      // A mix of a parked job and a missing one: nothing moves.
      const mixed = await cli(['jobs', 'retry', String(job!.id), '999999']);
      expect(mixed.code).toBe(1);
      expect((await store.jobs.counts()).parked).toBe(1);
      const pending = (await store.jobs.list('pending', 1))[0]!;
      const notParked = await cli(['jobs', 'retry', String(pending.id)]);
      expect(notParked.code).toBe(1);
      expect(notParked.stderr).toMatch(new RegExp(`job ${pending.id} is pending, not parked`));
      const ok = await cli(['jobs', 'retry', String(job!.id)]);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain('1 parked job(s) queued again');
    } finally {
      conn.close();
    }
  });
});

describe('the docs name the default port', () => {
  it('every http://127.0.0.1:PORT or localhost:PORT in README.md and docs/ is the configured default', () => {
    const port = String(loadConfig({}).PORT);
    const root = new URL('../../', import.meta.url);
    const files = [
      'README.md',
      ...readdirSync(new URL('docs/', root))
        .filter((f) => f.endsWith('.md'))
        .map((f) => `docs/${f}`),
    ];
    const wrong: string[] = [];
    for (const f of files) {
      const text = readFileSync(new URL(f, root), 'utf8');
      for (const m of text.matchAll(/(?:127\.0\.0\.1|localhost):(\d{2,5})(?!\d)/g)) {
        // An OpenAI-compatible endpoint's port (…/v1) is another server's, not ours.
        const after = text.slice(m.index! + m[0].length, m.index! + m[0].length + 3);
        if (m[1] !== port && after !== '/v1') wrong.push(`${f}: ${m[0]}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
