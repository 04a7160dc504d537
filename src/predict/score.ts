/**
 * Scoring: a trained model's predictions become `predicted` traits (producer `model:NAME`,
 * version = model version, value = the likelier outcome, confidence = the probability of that value,
 * so a yes/no trait's confidence is at least 0.5). Written only when
 * the value or the rounded confidence changed, so history records real changes.
 */
import type * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { effectiveConsent } from '../core/consent.ts';
import type { ConsentFlag, Json, Trait } from '../core/types.ts';
import type { FeatureStore } from '../db/stores/features.ts';
import type { TraitStore } from '../db/stores/traits.ts';
import { computeFeatureRows, featureRowsFromEvents, loadUserEvents, type FeatureRows, type UserEvents } from '../features/compute.ts';
import { featureDefs } from '../features/definitions.ts';
import { replacementUnchanged } from '../features/traits.ts';
import { transformRows } from '../features/matrix.ts';
import { sequenceDim } from '../features/sequence.ts';
import { initBackend } from './backend.ts';
import { loadModelFromDir } from './io.ts';
import { itemInputs, itemsAsOf } from './items.ts';
import { predictProbaInputs, type NetInput } from './nets.ts';
import { defaultModelsDir, listModels, modelVersionDir, type ModelSummary } from './registry.ts';
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
  return loadModelAt(modelVersionDir(name, opts).dir);
}

/** A version directory's model, loaded once per process (a version's files never change). */
function loadModelAt(dir: string): Promise<LoadedModel> {
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

/**
 * Predictions for users as of `asOf` (default now); users without events before it are skipped.
 * `events`: one user's events already read as of `asOf` (with the model's property keys).
 */
export async function predictUsers(features: FeatureStore, m: LoadedModel, opts: { asOf?: number; userIds?: readonly number[]; events?: UserEvents } = {}): Promise<Prediction[]> {
  const { artefact: a } = m;
  const asOf = opts.events?.asOf ?? opts.asOf ?? Date.now();
  const f = opts.events
    ? featureRowsFromEvents(opts.events, a.schema)
    : await computeFeatureRows(features, { asOf, schema: a.schema, ...(opts.userIds ? { userIds: opts.userIds } : {}) });
  if (!f.userIds.length) return [];
  return predictFromRows(m, f, features, opts.events);
}

/** The forward pass (and the blend) over feature rows already computed. */
async function predictFromRows(m: LoadedModel, f: FeatureRows, features: FeatureStore, events?: UserEvents): Promise<Prediction[]> {
  const { artefact: a, net } = m;
  const asOf = f.asOf;
  let probs: Float32Array;
  const dim = a.preprocessor.inputs.length;
  const x = !a.sequenceLength || a.blend ? transformRows(a.preprocessor, f.defs, f.rows) : null;
  const base: NetInput = a.sequenceLength
    ? { data: await stackSequences(features, { ...f, labels: [] }, a.schema, a.sequenceLength, events), shape: [a.sequenceLength, sequenceDim(a.schema)] }
    : { data: x as Float32Array, shape: [dim] };
  // Item-aware models: the users' items as of the same cut-off (the scan and the fold both enforce it).
  const extra = a.items ? itemInputs(a.items, f.userIds, await itemsAsOf(features, a.items, asOf, f.userIds, events)) : [];
  probs = predictProbaInputs(net, [base, ...extra]);
  // A blended model averages in its logistic regression on the same aggregate features.
  if (a.blend) probs = mixScores(probs, predictLogReg({ weights: a.blend.logreg, iterations: 0 }, x as Float32Array, dim), a.blend.networkWeight);
  const k = a.classes.length === 2 ? 1 : a.classes.length;
  return f.userIds.map((userId, i) => {
    if (k === 1) {
      const p = probs[i] as number;
      // The likelier outcome with its probability (argmax, as for several classes): `true` always means
      // "more likely than not". The card's threshold (chosen for F1 on validation) is what its F1 and
      // accuracy use; it is not the trait's value, which would read `true` at 33 % for a threshold of 0.3.
      const yes = p >= 0.5;
      return { userId, value: yes, confidence: yes ? p : 1 - p, probability: p };
    }
    let arg = 0;
    for (let c = 1; c < k; c++) if ((probs[i * k + c] as number) > (probs[i * k + arg] as number)) arg = c;
    return { userId, value: a.classes[arg] as string, confidence: probs[i * k + arg] as number, probability: null };
  });
}

/** Confidences are rounded to 0.001: a change under 0.01 is noise, not history. */
const PREDICTION_TOLERANCE = 0.0095;

/** Writes predictions as traits (one transaction); returns how many changed. */
export async function writePredictions(traits: TraitStore, m: LoadedModel, preds: readonly Prediction[], now = Date.now()): Promise<number> {
  const { artefact: a } = m;
  const rows = preds.map((p) => ({
    userId: p.userId,
    key: a.traitKey,
    value: p.value,
    confidence: Math.round(Math.min(1, Math.max(0, p.confidence)) * 1000) / 1000,
    version: a.version,
  }));
  const r = await traits.replaceTraits('predicted', `model:${a.name}`, rows, { now, confidenceTolerance: PREDICTION_TOLERANCE });
  return r.written;
}

/**
 * Scores several users with every given model from their events already read (one refresh batch,
 * all as of the same cut-off): one forward pass and one write transaction per model for the batch,
 * instead of one each per user. Returns each user's summaries as `scoreUser` would give them
 * (`users` 1 or 0, `changed` the user's rows written, `seconds` the model's batch time).
 */
export async function scoreUsersFromEvents(
  traits: TraitStore,
  features: FeatureStore,
  events: readonly UserEvents[],
  opts: { models: readonly LoadedModel[]; now?: number; current?: ReadonlyMap<number, readonly Trait[]> },
): Promise<Map<number, ScoreSummary[]>> {
  const out = new Map<number, ScoreSummary[]>(events.map((e) => [e.userId, []]));
  for (const m of opts.models) {
    const t0 = performance.now();
    const preds = await predictUsersFromEvents(features, m, events);
    const r = await writePredictionRows(traits, m, preds, opts.now, opts.current);
    const seconds = (performance.now() - t0) / 1000;
    const predicted = new Set(preds.map((p) => p.userId));
    for (const e of events)
      out.get(e.userId)?.push({
        model: m.artefact.name,
        version: m.artefact.version,
        users: predicted.has(e.userId) ? 1 : 0,
        changed: r.changed.get(e.userId) ?? 0,
        seconds,
      });
  }
  return out;
}

/** Predictions for several users from their events (same cut-off): one forward pass for aggregate-feature models. */
async function predictUsersFromEvents(features: FeatureStore, m: LoadedModel, events: readonly UserEvents[]): Promise<Prediction[]> {
  const a = m.artefact;
  // Sequence and item-aware models read per user (their inputs are built from one user's events).
  if (a.sequenceLength || a.items || events.length === 1) {
    const out: Prediction[] = [];
    for (const ev of events) out.push(...(await predictUsers(features, m, { events: ev })));
    return out;
  }
  const defs = featureDefs(a.schema);
  const userIds: number[] = [];
  const rows: (number | null)[][] = [];
  for (const ev of events) {
    const f = featureRowsFromEvents(ev, a.schema);
    userIds.push(...f.userIds);
    rows.push(...f.rows);
  }
  if (!userIds.length) return [];
  const asOf = (events[0] as UserEvents).asOf;
  if (events.some((e) => e.asOf !== asOf)) throw new Error('a scoring batch has one cut-off');
  return predictFromRows(m, { asOf, defs, userIds, rows }, features);
}

/**
 * As writePredictions, with the rows written per user. `current`: users' current traits read by the
 * caller; a user's row that would not change is left out, and with none left there is no transaction.
 */
async function writePredictionRows(
  traits: TraitStore,
  m: LoadedModel,
  preds: readonly Prediction[],
  now = Date.now(),
  current?: ReadonlyMap<number, readonly Trait[]>,
): Promise<{ changed: Map<number, number> }> {
  const { artefact: a } = m;
  const producer = `model:${a.name}`;
  const rows = preds
    .map((p) => ({
      userId: p.userId,
      key: a.traitKey,
      value: p.value,
      confidence: Math.round(Math.min(1, Math.max(0, p.confidence)) * 1000) / 1000,
      version: a.version,
    }))
    .filter((row) => {
      const cur = current?.get(row.userId);
      return !cur || !replacementUnchanged(cur, 'predicted', producer, [row], PREDICTION_TOLERANCE);
    });
  if (!rows.length) return { changed: new Map() };
  const r = await traits.replaceTraits('predicted', producer, rows, { now, confidenceTolerance: PREDICTION_TOLERANCE });
  // One row per user and model: a user whose profile version moved had theirs written.
  return { changed: new Map([...r.profileVersions.keys()].map((u) => [u, 1])) };
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
export async function profilingUserIds(features: FeatureStore, defaults: readonly ConsentFlag[]): Promise<number[]> {
  const rows = await features.userConsents();
  return rows.filter((r) => effectiveConsent(r.consent, defaults).profiling).map((r) => r.id);
}

/** The newest version of every trained model, loaded (once per process per version). */
export async function loadLatestModels(opts: { dir?: string; models?: readonly string[]; listing?: readonly ModelSummary[] } = {}): Promise<LoadedModel[]> {
  const out: LoadedModel[] = [];
  // `listing`: the caller's listModels result for the same directory (one directory scan, not two).
  for (const s of opts.listing ?? listModels(opts.dir ? { dir: opts.dir } : {})) {
    if (opts.models && !opts.models.includes(s.name)) continue;
    out.push(await loadModelAt(join(resolve(opts.dir ?? defaultModelsDir()), s.name, s.versions[s.versions.length - 1] as string)));
  }
  return out;
}

/**
 * Scores one user with every trained model (the per-user refresh job calls this). `events`: the
 * user's events as of the cut-off read once for the whole refresh (see `loadUserEvents`); they must
 * carry every model's property keys.
 */
export async function scoreUser(
  store: { features: FeatureStore; traits: TraitStore },
  userId: number,
  opts: { dir?: string; now?: number; asOf?: number; events?: UserEvents; models?: readonly LoadedModel[] } = {},
): Promise<ScoreSummary[]> {
  const out: ScoreSummary[] = [];
  const models = opts.models ?? (await loadLatestModels(opts.dir ? { dir: opts.dir } : {}));
  const asOf = opts.asOf ?? opts.now ?? Date.now();
  const events =
    opts.events ??
    (models.length
      ? await loadUserEvents(
          store.features,
          userId,
          asOf,
          models.map((m) => m.artefact.schema),
        )
      : undefined);
  for (const m of models) {
    const t0 = performance.now();
    const preds = await predictUsers(store.features, m, { asOf, userIds: [userId], ...(events ? { events } : {}) });
    out.push({
      model: m.artefact.name,
      version: m.artefact.version,
      users: preds.length,
      changed: await writePredictions(store.traits, m, preds, opts.now),
      seconds: (performance.now() - t0) / 1000,
    });
  }
  return out;
}

/**
 * Scores every user (or only `userIds`) with every trained model (or only `models`), in one feature
 * pass per model. `asOf` (default `now`) is the features' cut-off; `now` stamps the traits.
 */
export async function scoreAll(
  store: { features: FeatureStore; traits: TraitStore },
  opts: { dir?: string; now?: number; asOf?: number; models?: string[]; userIds?: readonly number[] } = {},
): Promise<ScoreSummary[]> {
  const out: ScoreSummary[] = [];
  for (const m of await loadLatestModels({ ...(opts.dir ? { dir: opts.dir } : {}), ...(opts.models ? { models: opts.models } : {}) })) {
    const t0 = performance.now();
    const preds = await predictUsers(store.features, m, { asOf: opts.asOf ?? opts.now ?? Date.now(), ...(opts.userIds ? { userIds: opts.userIds } : {}) });
    out.push({
      model: m.artefact.name,
      version: m.artefact.version,
      users: preds.length,
      changed: await writePredictions(store.traits, m, preds, opts.now),
      seconds: (performance.now() - t0) / 1000,
    });
  }
  return out;
}
