import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/db/open.ts';
import type { Store } from '../../src/db/store.ts';
import { ingestBatch } from '../../src/ingest/ingest.ts';
import { loadConfig } from '../../src/core/config.ts';
import { importItemsCommand } from '../../src/cli/commands/import-items.ts';
import { trainItemsCommand } from '../../src/cli/commands/train-items.ts';
import { UsageError, type Command } from '../../src/cli/command.ts';
import { initBackend } from '../../src/predict/backend.ts';

let dir: string;
let dbPath: string;
const env = () => ({ TRAITLENS_DB: dbPath, TRAITLENS_DATA_DIR: dir, TRAITLENS_DB_SYNCHRONOUS: 'OFF', TRAITLENS_TF_BACKEND: 'cpu' });
/** Runs the real command in process (a child process per run costs ~18 s on the loaded CI box); usage errors are exit 2 as in main. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const command: Command = args[0] === 'import-items' ? importItemsCommand : trainItemsCommand;
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (s: string) => ((stdout += s), true) }, stderr: { write: (s: string) => ((stderr += s), true) } } as unknown as Parameters<Command['run']>[1]['io'];
  try {
    const code = await command.run(args.slice(1), { config: loadConfig(env()), io });
    return { code, stdout, stderr };
  } catch (err) {
    if (err instanceof UsageError) return { code: 2, stdout, stderr: stderr + err.message };
    if (err instanceof Error && 'status' in err && Number(err.status) < 500) return { code: 1, stdout, stderr: stderr + err.message };
    throw err;
  }
}
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
async function withStore<T>(fn: (s: Store) => Promise<T>): Promise<T> {
  const s = await openStore(loadConfig(env()));
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

beforeAll(async () => {
  await initBackend({ prefer: 'cpu', log: () => {} });
  dir = mkdtempSync(join(tmpdir(), 'traitlens-cli-items-'));
  dbPath = join(dir, 'cli.db');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('traitlens import-items', () => {
  it('reports every invalid line with its number and field, and writes nothing', async () => {
    const csv = file(
      'bad.csv',
      [
        'StockCode,Description,UnitPrice,Colour',
        '85123A,"WHITE HANGING HEART, T-LIGHT",2.55,white',
        '22423,CAKESTAND,abc,',
        ',NO ID,1,',
        '21212,CASES,-3,',
        '84029E,"RED WOOLLY ",3.39,red',
      ].join('\n'),
    );
    const r = await cli(['import-items', csv]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bad.csv:3: price: must be a number');
    expect(r.stderr).toContain('bad.csv:4: id: is required');
    expect(r.stderr).toContain('bad.csv:5: price: must be at least 0');
    expect(r.stderr).toMatch(/nothing written: 3 of 5 lines are invalid/);
    expect(await withStore((s) => s.items.count())).toBe(0);
  });

  it('writes the valid lines with --skip-invalid; CSV columns map to fields and attributes', async () => {
    const csv = join(dir, 'bad.csv');
    const r = await cli(['import-items', csv, '--skip-invalid']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/imported 2 item\(s\).*3 invalid line\(s\) skipped/);
    const heart = await withStore((s) => s.items.get('85123A'));
    expect(heart).toMatchObject({ title: 'WHITE HANGING HEART, T-LIGHT', price: 2.55, attributes: { Colour: 'white' }, source: 'import' });
    expect((await withStore((s) => s.items.get('84029E')))?.title).toBe('RED WOOLLY');
  });

  it('reads JSONL, reports bad JSON by line, and needs a known format', async () => {
    const jsonl = file(
      'cat.jsonl',
      ['{"id": 22423, "title": "Cake stand", "category": "kitchen", "attributes": {"tiers": 3}}', '', 'not json', '[1]', '{"id": "X", "colour": "red"}'].join('\n'),
    );
    const r = await cli(['import-items', jsonl, '--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ records: 4, valid: 1, invalid: 3, written: 0, refused: true });
    expect(out.errors.map((e: { line: number }) => e.line)).toEqual([3, 4, 5]);
    expect(out.errors[2].message).toMatch(/colour/);
    const ok = await cli(['import-items', file('good.ndjson', '{"id": 22423, "title": "Cake stand", "price": "12.75"}\n')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await withStore((s) => s.items.get('22423'))).toMatchObject({ title: 'Cake stand', price: 12.75 });
    const unknown = await cli(['import-items', file('cat.txt', 'x')]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--format must be jsonl or csv/);
    expect((await cli(['import-items', join(dir, 'missing.csv')])).code).toBe(1);
  });
});

describe('traitlens train-items', () => {
  it('refuses with too little data, then trains, learns the catalogue and prints the card', async () => {
    const none = await cli(['train-items']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no item interactions/);
    await withStore(async (s) => {
      const events: unknown[] = [];
      for (let u = 0; u < 12; u++)
        for (let b = 0; b < 3; b++)
          for (let k = 0; k < 3; k++)
            events.push({ userId: `u${u}`, type: 'purchase', timestamp: 1_700_000_000_000 + b * 86_400_000 + u * 1000 + k, properties: { sku: `p${(u + b + k) % 6}` } });
      await ingestBatch(s.events, events);
    });
    const r = await cli(['train-items', '--dim', '4', '--epochs', '2', '--seed', '3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/trained item embeddings mf-\S+ \(mf, 4 dimensions, backend cpu\)/);
    expect(r.stdout).toMatch(/interactions\s+108/);
    expect(r.stdout).toMatch(/catalogue rows learned from events\s+6/);
    const model = await withStore((s) => s.items.activeEmbeddings());
    expect(model?.items.sort()).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5']);
    expect(model?.card).toMatchObject({ method: 'mf', dim: 4, data: { interactions: 108, users: 12, consent: 'profiling' } });
    expect((await cli(['train-items', '--method', 'bogus'])).code).toBe(2);
    expect((await cli(['train-items', '--dim', '1'])).code).toBe(2);
  }, 60_000);
});
