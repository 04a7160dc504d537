/**
 * Behavioural pipeline benchmark: synthetic events through the ingest path into a temp DB, then
 * feature computation (all users, one user), training seconds per epoch per backend, scoring users/s.
 *   node --import tsx bench/behaviour.ts [--users 100000] [--events 5000000] [--epochs 2]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { openDb } from '../src/db/connection.ts';
import { IngestStore } from '../src/db/ingest-store.ts';
import { sqliteStore } from '../src/db/store.ts';
import { ingestBatch } from '../src/ingest/ingest.ts';
import { computeFeatureRows, computeUserFeatures, fitFeatureSchema } from '../src/features/compute.ts';
import { fitPreprocessor, transformRows } from '../src/features/matrix.ts';
import { computeSequences, sequenceDim } from '../src/features/sequence.ts';
import { initBackend, type BackendName } from '../src/predict/backend.ts';
import { buildNet, fitEarlyStopping } from '../src/predict/nets.ts';
import { parseSpec } from '../src/predict/spec.ts';
import { trainModel } from '../src/predict/train.ts';
import { loadModel, predictUsers, writePredictions } from '../src/predict/score.ts';

const { values } = parseArgs({
  options: { users: { type: 'string', default: '100000' }, events: { type: 'string', default: '5000000' }, epochs: { type: 'string', default: '2' } },
});
const USERS = Number(values.users);
const EVENTS = Number(values.events);
const EPOCHS = Number(values.epochs);
const D = 86_400_000;
const ASOF = Date.parse('2025-06-01T00:00:00Z');
const TYPES: [string, number][] = [
  ['page_view', 0.5],
  ['impression', 0.2],
  ['click', 0.08],
  ['product_view', 0.1],
  ['add_to_cart', 0.05],
  ['purchase', 0.03],
  ['session_start', 0.04],
];
const CATS = ['books', 'games', 'music', 'garden', 'toys', 'food', 'sport', 'fashion', 'tools', 'beauty', 'pets', 'travel'];

let seed = 12345;
const rnd = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 4294967296;
};
function pickType(): string {
  let r = rnd();
  for (const [t, p] of TYPES) if ((r -= p) < 0) return t;
  return 'page_view';
}

const rows: [string, string][] = [];
const fmt = (x: number, d = 1) => (x >= 100 ? x.toFixed(0) : x.toFixed(d));
const row = (k: string, v: string) => {
  rows.push([k, v]);
  process.stderr.write(`${k}: ${v}\n`);
};

const work = mkdtempSync(join(tmpdir(), 'traitlens-bench-behaviour-'));
const db = openDb(join(work, 'bench.db'), { synchronous: 'OFF' });
const st = sqliteStore(db);
try {
  // 1. Synthetic events through the ingest path (cleaning + IngestStore), 10 % after the cut-off.
  const store = new IngestStore(db);
  const perUser = EVENTS / USERS;
  let t0 = performance.now();
  let buf: Record<string, unknown>[] = [];
  let written = 0;
  for (let u = 0; u < USERS; u++) {
    const n = Math.max(1, Math.round(perUser * (0.2 + 1.6 * rnd())));
    const fav = CATS[Math.floor(rnd() * CATS.length)] as string;
    const start = ASOF - Math.floor(rnd() * 180) * D;
    let ts = start;
    for (let k = 0; k < n; k++) {
      ts += Math.floor(rnd() * rnd() * 4 * D);
      const type = pickType();
      const category = rnd() < 0.6 ? fav : (CATS[Math.floor(rnd() * CATS.length)] as string);
      const properties: Record<string, unknown> = { category };
      if (type === 'page_view') properties.dwell_ms = Math.floor(rnd() * 60_000);
      if (type === 'purchase') Object.assign(properties, { price: Math.round(rnd() * 10000) / 100, quantity: 1 + Math.floor(rnd() * 3) });
      buf.push({ eventId: `b${u}-${k}`, userId: `u${u}`, type, timestamp: Math.min(ts, ASOF + 60 * D), properties });
      if (buf.length >= 5000) {
        written += ingestBatch(store, buf, { now: ASOF + 61 * D }).accepted;
        buf = [];
      }
    }
  }
  if (buf.length) written += ingestBatch(store, buf, { now: ASOF + 61 * D }).accepted;
  const ingestS = (performance.now() - t0) / 1000;
  row('events ingested', `${written} for ${USERS} users in ${fmt(ingestS)} s (${fmt(written / ingestS, 0)} events/s)`);

  // 2. Features for all users, then single users.
  const schema = await fitFeatureSchema(st.features, { asOf: ASOF });
  t0 = performance.now();
  const f = await computeFeatureRows(st.features, { asOf: ASOF, schema });
  const featS = (performance.now() - t0) / 1000;
  row('features, all users', `${f.userIds.length} users × ${f.defs.length} features in ${fmt(featS)} s (${fmt(f.userIds.length / featS, 0)} users/s)`);
  t0 = performance.now();
  const fh = await computeFeatureRows(st.features, { asOf: ASOF, schema: { ...schema, purchaseHistory: true } });
  const featHS = (performance.now() - t0) / 1000;
  row('features + purchase history', `${fh.userIds.length} users × ${fh.defs.length} features in ${fmt(featHS)} s (${fmt(fh.userIds.length / featHS, 0)} users/s)`);
  t0 = performance.now();
  const sample = f.userIds.slice(0, 500);
  for (const u of sample) await computeUserFeatures(st.features, u, { asOf: ASOF, schema });
  row('features, one user', `${fmt((performance.now() - t0) / sample.length, 2)} ms per user (${perUser.toFixed(0)} events/user mean)`);
  t0 = performance.now();
  const seqUsers = f.userIds.slice(0, 20_000);
  await computeSequences(st.features, { asOf: ASOF, schema, length: 20, userIds: seqUsers });
  row(`sequences (last 20 events), ${seqUsers.length} users`, `${fmt(seqUsers.length / ((performance.now() - t0) / 1000), 0)} users/s (index walk for just those users)`);

  // 3. Training seconds per epoch per backend (MLP on 20k users' features, GRU on their sequences).
  const n = Math.min(20_000, f.userIds.length);
  const pre = fitPreprocessor(f.defs, f.rows.slice(0, n));
  const x = transformRows(pre, f.defs, f.rows.slice(0, n));
  const y = Array.from({ length: n }, (_, i) => ((f.rows[i]![0] as number) > perUser * 0.05 ? 1 : 0));
  const seq = await computeSequences(st.features, { asOf: ASOF, schema, length: 20, userIds: f.userIds.slice(0, n) });
  const sdim = sequenceDim(schema);
  const xs = new Float32Array(n * 20 * sdim);
  f.userIds.slice(0, n).forEach((u, i) => xs.set(seq.get(u) ?? new Float32Array(20 * sdim), i * 20 * sdim));
  for (const prefer of ['tensorflow', 'wasm', 'cpu'] as BackendName[]) {
    const got = await initBackend({ prefer, force: true, log: () => {} });
    if (got !== prefer) {
      row(`train epoch, ${prefer}`, 'not available');
      continue;
    }
    for (const arch of ['mlp', 'gru'] as const) {
      const shape = arch === 'mlp' ? [pre.inputs.length] : [20, sdim];
      const data = arch === 'mlp' ? x : xs;
      const net = buildNet({ architecture: arch, inputShape: shape, outputs: 1, hidden: [64, 32], recurrentUnits: 32, dropout: 0.1, l2: 1e-4, learningRate: 0.003, seed: 1 });
      const split = Math.floor(n * 0.8);
      const per = shape.reduce((a, b) => a * b, 1);
      const t = {
        x: tf.tensor(data.subarray(0, split * per), [split, ...shape]),
        y: tf.tensor2d(y.slice(0, split), [split, 1]),
        xVal: tf.tensor(data.subarray(split * per), [n - split, ...shape]),
        yVal: tf.tensor2d(y.slice(split), [n - split, 1]),
      };
      const epochs = prefer === 'cpu' && arch === 'gru' ? 1 : EPOCHS;
      const r = await fitEarlyStopping(net, t, { epochs, batchSize: 256, patience: 100 });
      Object.values(t).forEach((v) => v.dispose());
      net.dispose();
      row(`train epoch, ${prefer}, ${arch}`, `${fmt(r.seconds / r.history.length, 2)} s per epoch (${split} users${arch === 'gru' ? ', 20 steps' : ''})`);
    }
  }

  // 4. Scoring users/s: a real trained MLP (wasm), all users, features + predict + trait writes.
  await initBackend({ force: true, log: () => {} });
  const spec = parseSpec({
    name: 'bench_purchase',
    target: { kind: 'event_in_horizon', eventTypes: ['purchase'], horizonDays: 30 },
    asOf: new Date(ASOF).toISOString(),
    split: { kind: 'users' },
    training: { epochs: 3 },
  });
  const modelsDir = join(work, 'models');
  await trainModel(st, spec, { modelsDir, log: () => {} });
  const m = await loadModel('bench_purchase', { dir: modelsDir });
  t0 = performance.now();
  const preds = await predictUsers(st.features, m, { asOf: ASOF });
  const predS = (performance.now() - t0) / 1000;
  t0 = performance.now();
  await writePredictions(st.traits, m, preds, ASOF);
  const writeS = (performance.now() - t0) / 1000;
  row('scoring, batch', `${preds.length} users: features+predict ${fmt(predS)} s, trait writes ${fmt(writeS)} s → ${fmt(preds.length / (predS + writeS), 0)} users/s`);
  t0 = performance.now();
  for (const u of sample.slice(0, 200)) await writePredictions(st.traits, m, await predictUsers(st.features, m, { asOf: ASOF + D, userIds: [u] }), ASOF + D);
  row('scoring, one user', `${fmt((performance.now() - t0) / 200, 2)} ms per user`);

  console.log('\n| measure | result |\n|---|---|');
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
} finally {
  db.close();
  rmSync(work, { recursive: true, force: true });
}
