/**
 * The behaviour block of the user vector: the features module's per-user feature vector over the
 * population-independent columns (counts, recency, RFM, dwell, CTR, sessions, time of day),
 * missing-value filled, signed-log scaled and standardised by a scaler fitted on the population.
 *
 * The scaler is population state, so it lives in SQLite (profile_meta) and its id is part of the
 * vector version: vectors standardised by different scalers never share an index. It is fitted
 * when first needed and refitted only by `traitlens reindex` (which recomputes every vector).
 */
import { createHash } from 'node:crypto';
import type { Db } from '../db/connection.ts';
import { getMeta, setMeta } from '../db/profiles.ts';
import { computeFeatureRows } from '../features/compute.ts';
import { FEATURE_VERSION, type FeatureSchema } from '../features/definitions.ts';
import { fitPreprocessor, transformRows, type Preprocessor } from '../features/matrix.ts';

export const BEHAVIOUR_SCALER_KEY = 'behaviour_scaler';

export interface BehaviourScaler {
  /** short content hash: goes into the vector version */
  id: string;
  featureVersion: string;
  asOf: number;
  users: number;
  pre: Preprocessor;
}

/** No event types, categories or property columns: the same columns for every population. */
const schemaAt = (asOf: number): FeatureSchema => ({ version: FEATURE_VERSION, asOf, eventTypes: [], categories: [], properties: [] });

export function fitBehaviourScaler(db: Db, now = Date.now()): BehaviourScaler {
  const f = computeFeatureRows(db, { asOf: now, schema: schemaAt(now) });
  const pre = fitPreprocessor(f.defs, f.rows);
  const id = createHash('sha1').update(JSON.stringify(pre)).digest('hex').slice(0, 10);
  const scaler: BehaviourScaler = { id, featureVersion: FEATURE_VERSION, asOf: now, users: f.userIds.length, pre };
  setMeta(db, BEHAVIOUR_SCALER_KEY, JSON.stringify(scaler), now);
  return scaler;
}

let cached: { db: Db; updatedAt: number; scaler: BehaviourScaler } | null = null;

export function loadBehaviourScaler(db: Db): BehaviourScaler | null {
  const m = getMeta(db, BEHAVIOUR_SCALER_KEY);
  if (!m) return null;
  if (cached && cached.db === db && cached.updatedAt === m.updatedAt) return cached.scaler;
  const scaler = JSON.parse(m.value) as BehaviourScaler;
  // A scaler from another feature definition version cannot standardise today's columns.
  if (scaler.featureVersion !== FEATURE_VERSION) return null;
  cached = { db, updatedAt: m.updatedAt, scaler };
  return scaler;
}

export function ensureBehaviourScaler(db: Db, now = Date.now()): BehaviourScaler {
  return loadBehaviourScaler(db) ?? fitBehaviourScaler(db, now);
}

export const behaviourDim = (s: BehaviourScaler): number => s.pre.inputs.length;

/** Standardised behaviour vectors for users (all users with events when omitted); users without events are absent. */
export function behaviourVectors(db: Db, scaler: BehaviourScaler, asOf: number, userIds?: readonly number[]): Map<number, Float32Array> {
  const f = computeFeatureRows(db, { asOf, schema: schemaAt(asOf), ...(userIds ? { userIds } : {}) });
  const out = new Map<number, Float32Array>();
  if (!f.userIds.length) return out;
  const flat = transformRows(scaler.pre, f.defs, f.rows);
  const dim = behaviourDim(scaler);
  f.userIds.forEach((id, i) => out.set(id, flat.slice(i * dim, (i + 1) * dim)));
  return out;
}
