import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/connection.ts';

const run = promisify(execFile);
const child = join(import.meta.dirname, '../support/ingest-child.ts');

describe('concurrent writers on one database file', () => {
  it('three processes ingesting at once all succeed (IMMEDIATE transactions wait instead of failing) and nothing is lost', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'tl-conc-')), 'c.db');
    openDb(path).close(); // migrate once, before the race
    const outs = await Promise.all(['a', 'b', 'c'].map((p) => run(process.execPath, ['--import', 'tsx', child, path, p, '40'])));
    const accepted = outs.map((o) => (JSON.parse(o.stdout) as { accepted: number }).accepted);
    expect(accepted).toEqual([8000, 8000, 8000]);
    const db = openDb(path);
    expect((db.sqlite.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n).toBe(24_000);
    expect((db.sqlite.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n).toBe(37);
    db.close();
  }, 90_000); // three tsx processes start, each loading the store: slow on a busy machine
});
