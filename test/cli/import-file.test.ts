import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../../src/core/errors.ts';
import { openDb, type Db } from '../../src/db/connection.ts';
import { sqliteStore } from '../../src/db/store.ts';
import { detectFormat, importFile, type ImportProgress } from '../../src/ingest/import-file.ts';
import { render } from '../../src/cli/progress.ts';
import { fixture } from './helpers.ts';

let dir: string;
let db: Db;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'traitlens-import-'));
  db = openDb(join(dir, 'import.db'), { synchronous: 'OFF' });
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A JSONL file of `n` distinct events, every 100th line malformed and every 50th a repeat. */
function writeEvents(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 100 === 99) lines.push('{"broken": ');
    else if (i % 50 === 49) lines.push(lines[i - 1]!);
    else lines.push(JSON.stringify({ eventId: `e${i}`, userId: `u${i % 37}`, type: 'page_view', timestamp: 1_772_359_200_000 + i, properties: { dwellMs: i } }));
  }
  const file = join(dir, 'events.jsonl');
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

describe('importFile', () => {
  it.each([false, true])('gives the same outcome with worker=%s, batch after batch, and re-imports nothing', async (worker) => {
    const file = writeEvents(3000);
    const progress: ImportProgress[] = [];
    const first = await importFile(sqliteStore(db).events, file, { worker, batchSize: 400, onProgress: (p) => progress.push(p) });
    expect(first).toMatchObject({ events: 3000, accepted: 2940, duplicates: 30, rejected: 30, rejectedByReason: { invalid_json: 30 } });
    expect(first.rejections[0]).toMatchObject({ line: 100, reason: 'invalid_json', field: 'line 100' });
    expect(first.rejections.at(-1)?.line).toBe(2000); // 20 samples kept
    expect(progress).toHaveLength(8); // ceil(3000 / 400) transactions
    expect(progress.at(-1)).toMatchObject({ bytesRead: first.bytes, totalBytes: first.bytes, events: 3000 });

    const again = await importFile(sqliteStore(db).events, file, { worker, batchSize: 400 });
    expect(again).toMatchObject({ accepted: 0, duplicates: 2970, rejected: 30 });
    expect((await sqliteStore(db).stats.getStats()).events.total).toBe(2940);
  });

  it('reads CSV in the worker the same way as inline', async () => {
    const inline = await importFile(sqliteStore(db).events, fixture('cli-events.csv'), { worker: false });
    const other = openDb(join(dir, 'other.db'), { synchronous: 'OFF' });
    try {
      const viaWorker = await importFile(sqliteStore(other).events, fixture('cli-events.csv'), { worker: true });
      expect({ ...viaWorker, seconds: 0, eventsPerSecond: 0 }).toEqual({ ...inline, seconds: 0, eventsPerSecond: 0 });
    } finally {
      other.close();
    }
  });

  it('handles CRLF, a BOM, blank lines and a last line without a newline', async () => {
    const file = join(dir, 'crlf.ndjson');
    writeFileSync(file, '\ufeff{"userId":"u1","type":"a","timestamp":1772359200000}\r\n\r\n{"userId":"u1","type":"b","timestamp":1772359200000}');
    expect(await importFile(sqliteStore(db).events, file)).toMatchObject({ format: 'jsonl', events: 2, accepted: 2, rejected: 0 });
  });

  it('names the problem for a missing file, a directory and an unknown extension', async () => {
    await expect(importFile(sqliteStore(db).events, join(dir, 'nope.jsonl'))).rejects.toThrow(NotFoundError);
    await expect(importFile(sqliteStore(db).events, join(dir, 'nope.jsonl'))).rejects.toThrow(/file not found/);
    await expect(importFile(sqliteStore(db).events, dir, { format: 'jsonl' })).rejects.toThrow(/not a regular file/);
    expect(() => detectFormat('events.txt')).toThrow(ValidationError);
    expect(detectFormat('events.txt', 'csv')).toBe('csv');
    expect(detectFormat('E.CSV')).toBe('csv');
    expect(() => detectFormat('events.json')).toThrow(/--format jsonl/);
  });
});

describe('progress bar', () => {
  it('shows percent, events, rate and ETA from bytes read', () => {
    const line = render({ bytesRead: 25, totalBytes: 100, events: 50_000, elapsedMs: 10_000 }, 100);
    expect(line).toMatch(/^\[#{5,}\.+\]\s+25\.0% {2}50,000 events {2}5,000 ev\/s {2}ETA 0:30$/);
  });
});
