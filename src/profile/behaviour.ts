/**
 * The behaviour block of the user vector: the features module's per-user feature vector over the
 * population-independent columns (counts, recency, RFM, dwell, CTR, sessions, time of day),
 * missing-value filled, signed-log scaled and standardised by a scaler fitted on the population.
 *
 * The scaler is population state, so it lives in the database (profile_meta) and its id is part of the
 * vector version: vectors standardised by different scalers never share an index. It is fitted
 * when first needed and refitted only by `traitlens reindex` (which recomputes every vector).
 */
import { createHash } from 'node:crypto';
import type { Store } from '../db/store.ts';
import { computeFeatureRows, featureRowsFromEvents, type UserEvents } from '../features/compute.ts';
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

/** Fits the scaler on the population as of `now` and stores it (replacing any; `ifAbsent`: unless one exists, which is returned instead). */
export async function fitBehaviourScaler(store: Store, now = Date.now(), opts: { ifAbsent?: boolean } = {}): Promise<BehaviourScaler> {
  const f = await computeFeatureRows(store.features, { asOf: now, schema: schemaAt(now) });
  const pre = fitPreprocessor(f.defs, f.rows);
  const id = createHash('sha1').update(JSON.stringify(pre)).digest('hex').slice(0, 10);
  const scaler: BehaviourScaler = { id, featureVersion: FEATURE_VERSION, asOf: now, users: f.userIds.length, pre };
  const written = await store.profiles.setMeta(BEHAVIOUR_SCALER_KEY, JSON.stringify(scaler), now, opts);
  // Another process fitted one first: use theirs, so every worker writes vectors of one version.
  return written ? scaler : ((await loadBehaviourScaler(store)) ?? scaler);
}

let cached: { store: Store; updatedAt: number; scaler: BehaviourScaler } | null = null;

export async function loadBehaviourScaler(store: Store): Promise<BehaviourScaler | null> {
  const m = await store.profiles.getMeta(BEHAVIOUR_SCALER_KEY);
  if (!m) return null;
  if (cached && cached.store === store && cached.updatedAt === m.updatedAt) return cached.scaler;
  const scaler = JSON.parse(m.value) as BehaviourScaler;
  // A scaler from another feature definition version cannot standardise today's columns.
  if (scaler.featureVersion !== FEATURE_VERSION) return null;
  cached = { store, updatedAt: m.updatedAt, scaler };
  return scaler;
}

const fitting = new WeakMap<Store, Promise<BehaviourScaler>>();

/**
 * The stored scaler, fitted first when there is none. Concurrent refreshes share one fit: two
 * scalers fitted a moment apart would give their users vectors of two versions.
 */
export async function ensureBehaviourScaler(store: Store, now = Date.now()): Promise<BehaviourScaler> {
  const have = await loadBehaviourScaler(store);
  if (have) return have;
  let p = fitting.get(store);
  if (!p) {
    p = fitBehaviourScaler(store, now, { ifAbsent: true }).finally(() => fitting.delete(store));
    fitting.set(store, p);
  }
  return p;
}

export const behaviourDim = (s: BehaviourScaler): number => s.pre.inputs.length;

/** Standardised behaviour vectors for users (all users with events when omitted); users without events are absent. */
export async function behaviourVectors(store: Store, scaler: BehaviourScaler, asOf: number, userIds?: readonly number[]): Promise<Map<number, Float32Array>> {
  const f = await computeFeatureRows(store.features, { asOf, schema: schemaAt(asOf), ...(userIds ? { userIds } : {}) });
  const out = new Map<number, Float32Array>();
  if (!f.userIds.length) return out;
  const flat = transformRows(scaler.pre, f.defs, f.rows);
  const dim = behaviourDim(scaler);
  f.userIds.forEach((id, i) => out.set(id, flat.slice(i * dim, (i + 1) * dim)));
  return out;
}

/** One user's standardised behaviour vector from events already read (a refresh shares them); null without events. */
export function behaviourVectorFromEvents(scaler: BehaviourScaler, events: UserEvents): Float32Array | null {
  const f = featureRowsFromEvents(events, schemaAt(events.asOf));
  return f.userIds.length ? transformRows(scaler.pre, f.defs, f.rows) : null;
}
