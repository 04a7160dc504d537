import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/connection.ts';
import { listCurrentTraits } from '../../src/db/traits.ts';
import { setAttributes } from '../../src/db/users.ts';
import { ingest, userId } from '../features/helpers.ts';
import { TOY_ASOF, toyEvents, toySpecJson } from '../predict/toy.ts';
import { runCli } from './helpers.ts';

let dir: string;
let dbPath: string;
let modelsDir: string;
const env = () => ({ TRAITLENS_DB: dbPath, TRAITLENS_MODELS_DIR: modelsDir, TRAITLENS_DB_SYNCHRONOUS: 'OFF' });
const cli = (args: string[]) => runCli(args, { cwd: dir, env: env() });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'traitlens-cli-models-'));
  dbPath = join(dir, 'cli.db');
  modelsDir = join(dir, 'models');
  const db = openDb(dbPath, { synchronous: 'OFF' });
  try {
    ingest(db, toyEvents(160));
    // t2 buys like the others but withdrew profiling consent: batch scoring must skip them.
    setAttributes(db, 't2', {}, { profiling: false });
  } finally {
    db.close();
  }
  writeFileSync(join(dir, 'toy.json'), JSON.stringify(toySpecJson('toy_cli')));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('traitlens train / evaluate / score', () => {
  it('score before any training says how to train (exit 1)', async () => {
    const r = await cli(['score']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no trained models .*traitlens train/);
  });

  it('trains from a spec, evaluates and scores; predicted traits carry the model version', { timeout: 90_000 }, async () => {
    const t = await cli(['train', 'toy.json', '--json', '--version', 'v1']);
    expect(t.code, t.stderr).toBe(0);
    const out = JSON.parse(t.stdout) as {
      dir: string;
      card: { name: string; version: string; metrics: { test: { kind: string; auc: number } }; baseline: { logisticRegression: { auc: number } } };
    };
    expect(out.dir).toBe(join(modelsDir, 'toy_cli', 'v1'));
    expect(out.card).toMatchObject({ name: 'toy_cli', version: 'v1', metrics: { test: { kind: 'binary' } } });
    expect(out.card.metrics.test.auc).toBeGreaterThan(0.9);
    expect(t.stderr).toMatch(/tfjs backend/);
    expect(t.stderr).not.toMatch(/^epoch /m);

    const text = await cli(['train', 'toy.json', '--version', 'v2']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/trained toy_cli v2/);
    expect(text.stdout).toMatch(/logistic regression/);

    const ev = await cli(['evaluate', 'toy_cli', '--version', 'v1', '--as-of', new Date(TOY_ASOF).toISOString(), '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const e = JSON.parse(ev.stdout) as { version: string; metrics: { auc: number; n: number } };
    expect(e.version).toBe('v1');
    expect(e.metrics.n).toBe(160);
    expect(e.metrics.auc).toBeGreaterThan(0.9);

    const missing = await cli(['evaluate', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no trained model nope/);

    const s = await cli(['score', '--model', 'toy_cli', '--as-of', new Date(TOY_ASOF).toISOString(), '--json']);
    expect(s.code, s.stderr).toBe(0);
    const summary = JSON.parse(s.stdout) as { model: string; version: string; users: number; changed: number }[];
    expect(summary).toEqual([expect.objectContaining({ model: 'toy_cli', version: 'v2', users: 159, changed: 159 })]);

    const db = openDb(dbPath);
    try {
      const trait = listCurrentTraits(db, userId(db, 't0'), { kind: 'predicted' })[0];
      expect(trait).toMatchObject({ key: 'toy_cli_trait', value: true, producer: 'model:toy_cli', version: 'v2' });
      expect(listCurrentTraits(db, userId(db, 't2'), { kind: 'predicted' })).toEqual([]);
    } finally {
      db.close();
    }
    const unknown = await cli(['score', '--model', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no trained model named "nope"/);
  });

  it('bad specs and usage fail with the field or the usage', async () => {
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ name: 'Bad Name', target: { kind: 'churn' } }));
    const [bad, nothere, usage] = await Promise.all([cli(['train', 'bad.json']), cli(['train', 'nothere.json']), cli(['train'])]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/name: must be snake_case/);
    expect(bad.stderr).toMatch(/target\.horizonDays/);
    expect(nothere.code).toBe(1);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/usage: traitlens train SPEC/);
  });
});

/** A tiny CDNOW-format file: frequent buyers return after the 1997-09-30 cut-off, one-off buyers do not. */
function writeTinyCdnow(root: string): void {
  mkdirSync(join(root, 'cdnow'), { recursive: true });
  const lines: string[] = [];
  for (let c = 1; c <= 300; c++) {
    const loyal = c % 3 === 0;
    const buys = loyal ? ['19970115', '19970402', '19970720', '19970905', '19971201'] : [`199701${String(10 + (c % 18)).padStart(2, '0')}`];
    if (!loyal && c % 7 === 0) buys.push('19980210');
    for (const d of buys) lines.push(`${String(c).padStart(5)} ${d} ${1 + (c % 3)} ${(10 + (c % 13)).toFixed(2)}`);
  }
  writeFileSync(join(root, 'cdnow', 'CDNOW_master.txt'), `${lines.join('\r\n')}\r\n`);
}

describe('traitlens eval', () => {
  it('eval behaviour runs the real-data evaluation and prints the figures as JSON', { timeout: 60_000 }, async () => {
    const data = join(dir, 'datasets');
    writeTinyCdnow(data);
    const r = await cli(['eval', 'behaviour', '--dataset', 'cdnow', '--data', data, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    // camelCase, like the HTTP API and every other --json of the CLI.
    for (const k of ['auc', 'f1', 'accuracy', 'baselineAuc', 'trainSeconds', 'prAuc']) expect(typeof j[k], k).toBe('number');
    expect(Object.keys(j).filter((k) => k.includes('_'))).toEqual([]);
    expect(j.backend).toMatch(/wasm|cpu|tensorflow/);
    expect(j.dataset).toBe('cdnow');
    expect(j.auc as number).toBeGreaterThan(0.8);
  });

  it('usage errors: subcommand, dataset, missing data', async () => {
    // Independent processes: spawned together (each pays the tsx start-up).
    const [none, sub, ds, nodata, traits, similar] = await Promise.all([
      cli(['eval']),
      cli(['eval', 'nope']),
      cli(['eval', 'behaviour', '--dataset', 'iris']),
      cli(['eval', 'behaviour', '--dataset', 'cdnow', '--data', join(dir, 'empty')]),
      cli(['eval', 'traits']),
      cli(['eval', 'similar', '--bogus']),
    ]);
    expect(similar.code).toBe(2);
    expect(similar.stderr).toMatch(/Unknown option '--bogus'/);
    expect(none.code).toBe(2);
    expect(sub.code).toBe(2);
    expect(sub.stderr).toMatch(/unknown subcommand "nope"/);
    expect(ds.code).toBe(2);
    expect(ds.stderr).toMatch(/--dataset must be one of cdnow, online-retail, online-shoppers/);
    expect(nodata.code).toBe(1);
    expect(nodata.stderr).toMatch(/dataset file not found/);
    expect(traits.code).toBe(2);
    expect(traits.stderr).toMatch(/--data FILE is required/);
  });
});
