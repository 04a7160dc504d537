/**
 * Model choices for the behaviour evaluation without touching its test users: loads a dataset,
 * DELETES the evaluation's test users (the 25 % `runBehaviourEval` holds out, same draw), then
 * scores each candidate setting by k-fold cross-validation over the remaining users.
 *   node --import tsx bench/tune-behaviour.ts --dataset cdnow --data DIR [--folds 4] --grid '[{"training":{...}}, ...]'
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDb } from '../src/db/connection.ts';
import { sqliteStore } from '../src/db/store.ts';
import { loadBehaviourDataset, specFor, type BehaviourDataset, type SpecOverrides } from '../src/eval/behaviour.ts';
import { userDraw } from '../src/predict/dataset.ts';
import { parseSpec } from '../src/predict/spec.ts';
import { trainModel } from '../src/predict/train.ts';

const { values } = parseArgs({
  options: {
    dataset: { type: 'string' },
    data: { type: 'string', default: '../shared/datasets' },
    grid: { type: 'string', default: '[{}]' },
    folds: { type: 'string', default: '4' },
  },
});
const dataset = values.dataset as BehaviourDataset;
const grid = JSON.parse(values.grid as string) as SpecOverrides[];
const folds = Number(values.folds);
const work = mkdtempSync(join(tmpdir(), 'traitlens-tune-'));
const db = openDb(join(work, 'tune.db'), { synchronous: 'OFF' });
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
try {
  await loadBehaviourDataset(db, dataset, values.data as string);
  const evalSpec = specFor(dataset, 'mlp');
  const ids = db.sqlite.prepare('SELECT id FROM users').pluck().all() as number[];
  const testUsers = ids.filter((u) => userDraw(evalSpec.split.seed, u) < evalSpec.split.test);
  const del = db.sqlite.prepare('DELETE FROM events WHERE user_id = ?');
  db.sqlite.transaction(() => testUsers.forEach((u) => del.run(u)))();
  console.error(`${dataset}: removed the evaluation's ${testUsers.length} test users; ${folds}-fold CV on the rest`);
  for (const [i, o] of grid.entries()) {
    const auc: number[] = [];
    const net: number[] = [];
    const lr: number[] = [];
    const blend: number[] = [];
    let seconds = 0;
    for (let f = 0; f < folds; f++) {
      const base = specFor(dataset, 'mlp', o);
      const spec = parseSpec({ ...base, split: { kind: 'users', validation: 0.15, seed: 7, folds, fold: f } });
      const c = (await trainModel(sqliteStore(db), spec, { modelsDir: join(work, 'models'), version: `c${i}f${f}`, log: () => {} })).card;
      const m = c.metrics.test;
      const n = c.metrics.networkTest ?? m;
      const b = c.baseline.logisticRegression;
      if (m.kind !== 'binary' || n.kind !== 'binary' || b.kind !== 'binary') throw new Error('binary targets only');
      auc.push(m.auc);
      net.push(n.auc);
      lr.push(b.auc);
      blend.push(c.blend?.networkWeight ?? 1);
      seconds += c.training.seconds;
    }
    console.log(
      JSON.stringify({
        overrides: o,
        cv_auc: +mean(auc).toFixed(4),
        cv_network_auc: +mean(net).toFixed(4),
        cv_logreg_auc: +mean(lr).toFixed(4),
        blend: blend,
        seconds: +seconds.toFixed(1),
      }),
    );
  }
} finally {
  db.close();
  rmSync(work, { recursive: true, force: true });
}
