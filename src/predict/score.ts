/**
 * Scoring: a trained model's predictions become `predicted` traits (producer `model:NAME`,
 * version = model version, confidence = probability of the predicted value). Written only when
 * the value or the rounded confidence changed, so history records real changes.
 */
import type * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { effectiveConsent } from '../core/consent.ts';
import type { ConsentFlag, Json } from '../core/types.ts';
import type { Db } from '../db/connection.ts';
import { bumpProfileVersion, closeTrait, currentTraitRows, insertTrait } from '../db/traits.ts';
import { computeFeatureRows } from '../features/compute.ts';
import { transformRows } from '../features/matrix.ts';
import { sequenceDim } from '../features/sequence.ts';
import { initBackend } from './backend.ts';
import { loadModelFromDir } from './io.ts';
import { predictProba } from './nets.ts';
import { listModels, modelVersionDir } from './registry.ts';
import { predictLogReg } from './logreg.ts';
import { ARTEFACT_JSON, mixScores, stackSequences, type ModelArtefact } from './train.ts';

export interface LoadedModel {
  artefact: ModelArtefact;
  net: tf.LayersModel;
  dir: string;
}

const cache = new Map<string, Promise<LoadedModel>>();

/** Loads (once per process) a model version; the newest when `version` is omitted. */
export function loadModel(name: string, opts: { dir?: string; version?: string } = {}): Promise<LoadedModel> {
  const { dir } = modelVersionDir(name, opts);
  let hit = cache.get(dir);
  if (!hit) {
    hit = (async () => {
      await initBackend();
      const artefact = JSON.parse(readFileSync(join(dir, ARTEFACT_JSON), 'utf8')) as ModelArtefact;
      return { artefact, net: await loadModelFromDir(dir), dir };
    })();
    cache.set(dir, hit);
    hit.catch(() => cache.delete(dir));
  }
  return hit;
}

export interface Prediction {
  userId: number;
  /** binary: predicted label; multi-class: class name */
  value: Json;
  /** probability of `value` */
  confidence: number;
  /** binary: probability of the positive class */
  probability: number | null;
}

/** Predictions for users as of `asOf` (default now); users without events before it are skipped. */
export function predictUsers(db: Db, m: LoadedModel, opts: { asOf?: number; userIds?: readonly number[] } = {}): Prediction[] {
  const { artefact: a, net } = m;
  const asOf = opts.asOf ?? Date.now();
  const f = computeFeatureRows(db, { asOf, schema: a.schema, ...(opts.userIds ? { userIds: opts.userIds } : {}) });
  if (!f.userIds.length) return [];
  let probs: Float32Array;
  const dim = a.preprocessor.inputs.length;
  const x = !a.sequenceLength || a.blend ? transformRows(a.preprocessor, f.defs, f.rows) : null;
  if (a.sequenceLength) {
    const ex = { ...f, labels: [] };
    probs = predictProba(net, stackSequences(db, ex, a.schema, a.sequenceLength), [a.sequenceLength, sequenceDim(a.schema)]);
  } else probs = predictProba(net, x as Float32Array, [dim]);
  // A blended model averages in its logistic regression on the same aggregate features.
  if (a.blend) probs = mixScores(probs, predictLogReg({ weights: a.blend.logreg, iterations: 0 }, x as Float32Array, dim), a.blend.networkWeight);
  const k = a.classes.length === 2 ? 1 : a.classes.length;
  return f.userIds.map((userId, i) => {
    if (k === 1) {
      const p = probs[i] as number;
      const yes = p >= (a.threshold ?? 0.5);
      return { userId, value: yes, confidence: yes ? p : 1 - p, probability: p };
    }
    let arg = 0;
    for (let c = 1; c < k; c++) if ((probs[i * k + c] as number) > (probs[i * k + arg] as number)) arg = c;
    return { userId, value: a.classes[arg] as string, confidence: probs[i * k + arg] as number, probability: null };
  });
}

/** Writes predictions as traits; returns how many changed. */
export function writePredictions(db: Db, m: LoadedModel, preds: readonly Prediction[], now = Date.now()): number {
  const { artefact: a } = m;
  const producer = `model:${a.name}`;
  let changed = 0;
  db.sqlite.transaction(() => {
    for (const p of preds) {
      const conf = Math.round(Math.min(1, Math.max(0, p.confidence)) * 1000) / 1000;
      const prev = currentTraitRows(db, p.userId, 'predicted', a.traitKey).find((r) => r.producer === producer);
      if (prev && prev.version === a.version && prev.value === JSON.stringify(p.value) && Math.abs(prev.confidence - conf) < 0.01) continue;
      const id = insertTrait(db, { userId: p.userId, key: a.traitKey, value: p.value, kind: 'predicted', confidence: conf, evidence: [], producer, version: a.version, validFrom: now });
      if (prev) closeTrait(db, prev.id, now, id);
      bumpProfileVersion(db, p.userId, now);
      changed++;
    }
  })();
  return changed;
}

export interface ScoreSummary {
  model: string;
  version: string;
  users: number;
  changed: number;
  seconds: number;
}

/**
 * Users whose effective consent includes `profiling` (stored flags over the configured defaults):
 * batch scoring writes predicted traits for these only, like the per-user refresh job.
 */
export function profilingUserIds(db: Db, defaults: readonly ConsentFlag[]): number[] {
  const rows = db.sqlite.prepare('SELECT id, consent FROM users ORDER BY id').all() as { id: number; consent: string | null }[];
  return rows.filter((r) => effectiveConsent(r.consent, defaults).profiling).map((r) => r.id);
}

/** Scores one user with every trained model (the per-user refresh job calls this). */
export async function scoreUser(db: Db, userId: number, opts: { dir?: string; now?: number; asOf?: number } = {}): Promise<ScoreSummary[]> {
  const out: ScoreSummary[] = [];
  for (const s of listModels(opts.dir ? { dir: opts.dir } : {})) {
    const t0 = performance.now();
    const m = await loadModel(s.name, opts.dir ? { dir: opts.dir } : {});
    const preds = predictUsers(db, m, { asOf: opts.asOf ?? opts.now ?? Date.now(), userIds: [userId] });
    out.push({ model: s.name, version: m.artefact.version, users: preds.length, changed: writePredictions(db, m, preds, opts.now), seconds: (performance.now() - t0) / 1000 });
  }
  return out;
}

/**
 * Scores every user (or only `userIds`) with every trained model (or only `models`), in one feature
 * pass per model. `asOf` (default `now`) is the features' cut-off; `now` stamps the traits.
 */
export async function scoreAll(
  db: Db,
  opts: { dir?: string; now?: number; asOf?: number; models?: string[]; userIds?: readonly number[] } = {},
): Promise<ScoreSummary[]> {
  const out: ScoreSummary[] = [];
  for (const s of listModels(opts.dir ? { dir: opts.dir } : {})) {
    if (opts.models && !opts.models.includes(s.name)) continue;
    const t0 = performance.now();
    const m = await loadModel(s.name, opts.dir ? { dir: opts.dir } : {});
    const preds = predictUsers(db, m, { asOf: opts.asOf ?? opts.now ?? Date.now(), ...(opts.userIds ? { userIds: opts.userIds } : {}) });
    out.push({ model: s.name, version: m.artefact.version, users: preds.length, changed: writePredictions(db, m, preds, opts.now), seconds: (performance.now() - t0) / 1000 });
  }
  return out;
}
