import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, runCli } from './helpers.ts';

let dir: string;
let dbPath: string;
const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: dir, env: { TRAITLENS_DB: dbPath, ...env } });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'traitlens-cli-'));
  dbPath = join(dir, 'cli.db');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Each test starts the CLI several times (≈1 s each on a quiet machine, 10+ s on a loaded one).
describe('traitlens import and stats', { timeout: 120_000 }, () => {
  type Summary = {
    accepted: number;
    duplicates: number;
    rejected: number;
    seconds: number;
    eventsPerSecond: number;
    rejectedByReason: Record<string, number>;
    file: string;
    rejections: { line: number; reason: string }[];
  };

  it('imports a JSONL file with a malformed line, bad events and a duplicate', async () => {
    const r = await cli(['import', fixture('cli-events.jsonl'), '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(''); // no progress bar off a TTY
    const s = JSON.parse(r.stdout) as Summary;
    expect(s).toMatchObject({ file: fixture('cli-events.jsonl'), accepted: 4, duplicates: 1, rejected: 3 });
    expect(s.rejectedByReason).toEqual({ invalid_json: 1, missing_identity: 1, impossible_value: 1 });
    expect(s.rejections.map((x) => [x.line, x.reason])).toEqual([
      [3, 'invalid_json'],
      [4, 'missing_identity'],
      [8, 'impossible_value'],
    ]);
    expect(s.seconds).toBeGreaterThanOrEqual(0);
    expect(s.eventsPerSecond).toBeGreaterThan(0);
  });

  it('imports a CSV file: field columns, a properties JSON column, properties.x and extra columns', async () => {
    const r = await cli(['import', fixture('cli-events.csv'), '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s).toMatchObject({ accepted: 3, duplicates: 1, rejected: 3 });
    expect(s.rejectedByReason).toEqual({ invalid_csv: 1, missing_identity: 1, invalid_json: 1 });
    expect(s.rejections.map((x) => x.line)).toEqual([5, 6, 8]);
  });

  it('adds nothing when the same files are imported again', async () => {
    for (const [file, seen] of [
      ['cli-events.jsonl', 5],
      ['cli-events.csv', 4],
    ] as const) {
      const r = await cli(['import', fixture(file), '--json']);
      const s = JSON.parse(r.stdout) as Summary;
      expect(s.accepted).toBe(0);
      expect(s.duplicates).toBe(seen); // every event that was accepted or a duplicate before
    }
    const sqlite = new Database(dbPath, { readonly: true });
    try {
      expect(sqlite.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 7 });
    } finally {
      sqlite.close();
    }
  });

  it('stores cleaned events', () => {
    const sqlite = new Database(dbPath, { readonly: true });
    try {
      const row = (eventId: string) =>
        sqlite.prepare('SELECT type, ts, properties, text, source, flags FROM events WHERE client_event_id = ?').get(eventId) as Record<string, unknown>;
      expect(row('j1')).toEqual({
        type: 'page_view',
        ts: Date.parse('2026-03-01T10:00:00Z'),
        properties: '{"dwell_ms":1500,"page_url":"/home"}',
        text: null,
        source: 'web',
        flags: '["number_coerced"]',
      });
      expect(row('j2')).toMatchObject({ type: 'search', text: 'Waterproof hiking boots' });
      expect(row('c1')).toMatchObject({ type: 'page_view', properties: '{"dwell_ms":2000,"plan":"pro"}' });
      expect(row('c2')).toMatchObject({ text: 'red shoes', properties: '{}' });
      expect(row('c3')).toMatchObject({ type: 'purchase', source: 'ios', properties: '{"category":"shoes","price":19.9}' });
      const anon = sqlite.prepare("SELECT e.properties, e.flags FROM events e JOIN identities i ON i.user_id = e.user_id WHERE i.kind = 'anonymous' AND i.alias = 'a1'").get();
      expect(anon).toEqual({ properties: '{"dwell_ms":86400000}', flags: '["value_clamped"]' });
    } finally {
      sqlite.close();
    }
  });

  it('stats --json matches what the imports reported', async () => {
    const r = await cli(['stats', '--json']);
    expect(r.code).toBe(0);
    const stats = JSON.parse(r.stdout) as {
      users: { total: number; known: number; anonymous: number };
      events: { total: number; byType: Record<string, number> };
      duplicatesDropped: { total: number };
      rejected: { total: number; byReason: Record<string, number> };
    };
    expect(stats.users).toEqual({ total: 5, known: 4, anonymous: 1 }); // u1 u2 u10 u11, a1
    expect(stats.events.total).toBe(7);
    expect(stats.events.byType).toEqual({ page_view: 3, purchase: 2, search: 2 });
    // two imports of each file: 1+1 duplicates the first time, 5+4 the second
    expect(stats.duplicatesDropped.total).toBe(11);
    expect(stats.rejected.total).toBe(12);
    expect(stats.rejected.byReason).toEqual({ invalid_json: 4, missing_identity: 4, impossible_value: 2, invalid_csv: 2 });

    const table = await cli(['stats']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/events\s+7/);
    expect(table.stdout).toMatch(/invalid_json\s+4/);
  });

  it('prints a readable summary without --json', async () => {
    const r = await cli(['import', fixture('cli-events.jsonl')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/accepted\s+0/);
    expect(r.stdout).toMatch(/duplicates\s+5/);
    expect(r.stdout).toMatch(/Rejected by reason/);
    expect(r.stdout).toMatch(/3\s+invalid_json/);
  });

  it('fails clearly for a missing file, an unknown format and a bad batch size', async () => {
    const [missing, format, batch, usage] = await Promise.all([
      cli(['import', 'nope.jsonl']),
      cli(['import', fixture('cli-events.csv'), '--format', 'xml']),
      cli(['import', fixture('cli-events.csv'), '--batch-size', '0']),
      cli(['import']),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/file not found: nope\.jsonl/);
    // A bad option value is usage (exit 2) in every command; a missing file is a failure (exit 1).
    expect(format.code).toBe(2);
    expect(format.stderr).toMatch(/--format must be jsonl or csv/);
    expect(batch.code).toBe(2);
    expect(batch.stderr).toMatch(/--batch-size/);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/FILE is required/);
  });
});
