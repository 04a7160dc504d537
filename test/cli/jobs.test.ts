import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/connection.ts';
import { sqliteStore } from '../../src/db/store.ts';
import type { Job } from '../../src/db/stores/jobs.ts';
import { tempDir } from '../support/temp-db.ts';
import { fixture, runCli } from './helpers.ts';

// `traitlens jobs list|retry` and `traitlens process` over the JobStore, through the real CLI.
describe('traitlens jobs', () => {
  const dir = tempDir();
  const db = join(dir.dir, 'jobs.db');
  const env = { TRAITLENS_DB: db, TRAITLENS_DB_SYNCHRONOUS: 'OFF', LOG_LEVEL: 'silent', TRAITLENS_CACHE_DIR: join(dir.dir, 'cache') };
  const cli = (args: string[]) => runCli(args, { cwd: dir.dir, env });

  beforeAll(async () => {
    expect((await cli(['import', fixture('cli-events.jsonl'), '--json'])).code).toBe(0);
  }, 120_000);
  afterAll(() => dir.remove());

  it('lists pending work, retries a parked job by id, refuses a bad id, and process drains the queue', async () => {
    const pending = await cli(['jobs', 'list', '--status', 'pending', '--json']);
    expect(pending.code, pending.stderr).toBe(0);
    const rows = JSON.parse(pending.stdout) as Job[];
    expect(rows.length).toBeGreaterThan(0);
    expect(rows[0]).toMatchObject({ kind: 'user.refresh', status: 'pending', attempts: 0 });
    // Park one job as a worker would after its last attempt.
    const conn = openDb(db, { synchronous: 'OFF' });
    try {
      const [job] = await sqliteStore(conn).jobs.claim('test', 1, { leaseMs: 60_000 });
      expect(await sqliteStore(conn).jobs.release(job!, { error: 'Error: boom', delayMs: 0, park: true })).toBe('parked');
      const parked = await cli(['jobs', 'list']);
      expect(parked.stdout).toContain('Error: boom');
      expect((await cli(['jobs', 'retry', 'x1'])).code).not.toBe(0);
      const retried = await cli(['jobs', 'retry', String(job!.id)]);
      expect(retried.stdout).toContain('1 parked job(s) queued again');
      expect(await sqliteStore(conn).jobs.counts()).toMatchObject({ parked: 0, pending: rows.length });
    } finally {
      conn.close();
    }
    const processed = await cli(['process', '--json']);
    expect(processed.code, processed.stderr).toBe(0);
    expect(JSON.parse(processed.stdout)).toMatchObject({ done: rows.length, parked: 0 });
    expect(JSON.parse((await cli(['jobs', 'list', '--status', 'pending', '--json'])).stdout)).toEqual([]);
  }, 180_000);
});
