/**
 * The training stage: spec → examples at time-ordered cut-offs (or disjoint users) → fitted
 * preprocessing → network with class weights and early stopping → test metrics against logistic
 * regression and the majority class → model files and card in MODELS_DIR/NAME/VERSION/.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UnprocessableError } from '../core/errors.ts';
import type { FeatureStore } from '../db/stores/features.ts';
import { fitFeatureSchema } from '../features/compute.ts';
import { DAY_MS, FEATURE_VERSION, type FeatureSchema } from '../features/definitions.ts';
import { fitPreprocessor, transformRows, type Preprocessor } from '../features/matrix.ts';
import type { UserEvents } from '../features/compute.ts';
import { computeSequences, sequenceDim } from '../features/sequence.ts';
import { bestF1Threshold, binaryMetrics, majorityBaseline, multiclassMetrics, rocAuc } from './metrics.ts';
import { initBackend } from './backend.ts';
import { rocPoints, writeCard, type ModelCard, type TestMetrics } from './card.ts';
import { buildExamples, dataRange, fitClasses, resolveAsOf, userDraw, type Examples } from './dataset.ts';
import { saveModelToDir } from './io.ts';
import { fitLogReg, predictLogReg } from './logreg.ts';
import { fitItemArtefact, itemInputNames, itemInputs, itemsAsOf, type ItemArtefact, type ItemCardInfo, type PretrainedItemSource } from './items.ts';
import { balancedClassWeights, buildItemNet, buildNet, fitEarlyStopping, predictProbaInputs, type EpochLog, type NetInput } from './nets.ts';
import { defaultModelsDir } from './registry.ts';
import { horizonDays, type ModelSpec } from './spec.ts';

/** Everything scoring needs besides the network weights. */
export interface ModelArtefact {
  name: string;
  version: string;
  spec: ModelSpec;
  schema: FeatureSchema;
  preprocessor: Preprocessor;
  classes: string[];
  threshold: number | null;
  sequenceLength: number | null;
  traitKey: string;
  /** binary models: the network averaged with logistic regression on the aggregate features (absent/null: network only) */
  blend?: ModelBlend | null;
  /** item-aware models (spec features.items): the item inputs' vocabulary and settings (absent/null: none) */
  items?: ItemArtefact | null;
}

export interface ModelBlend {
  /** weight of the network's probability; the regression gets 1 − weight */
  networkWeight: number;
  /** IRLS logistic regression weights on the preprocessed aggregate features (intercept first) */
  logreg: number[];
}

/** Candidate network weights for the blend (1 = the network alone is the default). */
const BLEND_WEIGHTS = [0, 0.25, 0.5, 0.75] as const;

export function mixScores(net: ArrayLike<number>, lr: ArrayLike<number>, w: number): Float32Array {
  const out = new Float32Array(net.length);
  for (let i = 0; i < net.length; i++) out[i] = w * (net[i] as number) + (1 - w) * (lr[i] as number);
  return out;
}

export const ARTEFACT_JSON = 'artefact.json';

export interface TrainOptions {
  /** root of NAME/VERSION directories (default: models/ or TRAITLENS_MODELS_DIR) */
  modelsDir?: string;
  version?: string;
  now?: number;
  log?: (msg: string) => void;
  onEpoch?: (e: EpochLog) => void;
}

export interface TrainResult {
  card: ModelCard;
  dir: string;
  /** test-set probabilities (positive class) and labels, for callers that report more */
  test: { userIds: number[]; labels: number[]; scores: Float32Array; baselineScores: Float64Array | null };
  /** the same on the validation users (thresholds for other measures are chosen here, never on test) */
  validation: { userIds: number[]; labels: number[]; scores: Float32Array };
  /** the training users */
  train: { userIds: number[]; labels: number[] };
}

interface Part {
  ex: Examples;
  x: Float32Array;
  seq: Float32Array | null;
  /** item inputs (item-aware models), after the base input */
  extra: NetInput[];
}

function subset(ex: Examples, keep: (i: number) => boolean): Examples {
  const idx = ex.labels.map((_, i) => i).filter(keep);
  return { ...ex, userIds: idx.map((i) => ex.userIds[i] as number), rows: idx.map((i) => ex.rows[i]!), labels: idx.map((i) => ex.labels[i] as number) };
}

function versionFor(now: number): string {
  return new Date(now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** `events`: one user's events already read as of `ex.asOf` (scoring in a refresh). */
export async function stackSequences(features: FeatureStore, ex: Examples, schema: FeatureSchema, length: number, events?: UserEvents): Promise<Float32Array> {
  const dim = sequenceDim(schema);
  const seqs = await computeSequences(features, { asOf: ex.asOf, schema, length, userIds: ex.userIds, ...(events ? { events } : {}) });
  const out = new Float32Array(ex.userIds.length * length * dim);
  ex.userIds.forEach((u, i) => {
    const s = seqs.get(u);
    if (s) out.set(s, i * length * dim);
  });
  return out;
}

function evaluate(labels: number[], scores: Float32Array | Float64Array, k: number, threshold: number | null): TestMetrics {
  if (k === 1) return { kind: 'binary', ...binaryMetrics(labels, scores, threshold ?? 0.5) };
  return { kind: 'multiclass', ...multiclassMetrics(labels, scores, k) };
}

/** `items`: the item store, for `features.items.embedding: "pretrained"` (its active embeddings). */
export async function trainModel(store: { features: FeatureStore; items?: PretrainedItemSource }, spec: ModelSpec, opts: TrainOptions = {}): Promise<TrainResult> {
  const fs = store.features;
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const backend = await initBackend({ log });
  const now = opts.now ?? Date.now();
  const version = opts.version ?? versionFor(now);
  const range = await dataRange(fs);
  if (range.events === 0) throw new UnprocessableError('no events to train on');
  const T = await resolveAsOf(fs, spec);
  const h = horizonDays(spec.target);
  const timeSplit = spec.split.kind === 'time';
  const cut = timeSplit && h !== null ? { train: T - 2 * h * DAY_MS, validation: T - h * DAY_MS, test: T } : { train: T, validation: T, test: T };
  // Columns are chosen from what the earliest (training) cut-off can see.
  const schema: FeatureSchema = {
    ...(await fitFeatureSchema(fs, {
      asOf: cut.train,
      maxEventTypes: spec.features.maxEventTypes,
      topCategories: spec.features.topCategories,
      properties: spec.features.properties,
    })),
    ...(spec.features.purchaseHistory ? { purchaseHistory: true } : {}),
    ...(spec.features.propertiesOnly ? { propertiesOnly: true } : {}),
    ...(spec.features.items
      ? {
          items: {
            property: spec.features.items.property,
            ...(spec.features.items.event ? { event: spec.features.items.event } : {}),
            ...(spec.features.items.valueProperty ? { valueProperty: spec.features.items.valueProperty } : {}),
          },
        }
      : {}),
  };
  const classes = await fitClasses(fs, spec.target, cut.train);
  // Two classes train one sigmoid output (label 1 = classes[1]); more train a softmax.
  const k = classes.length === 2 ? 1 : classes.length;
  if (classes.length < 2) throw new UnprocessableError(`target has ${classes.length} class(es) in the data: nothing to learn`);
  let train: Examples;
  let val: Examples;
  let test: Examples;
  if (timeSplit) {
    train = await buildExamples(fs, spec, schema, cut.train, classes);
    val = await buildExamples(fs, spec, schema, cut.validation, classes);
    test = await buildExamples(fs, spec, schema, cut.test, classes);
  } else {
    const all = await buildExamples(fs, spec, schema, T, classes);
    const { validation: pv, seed, folds, fold } = spec.split;
    // k-fold: fold f tests on the f-th 1/k of the draw, validates on the next pv; else one holdout.
    const pt = folds ? 1 / folds : spec.split.test;
    const off = folds ? (fold ?? 0) / folds : 0;
    const draw = (i: number) => (userDraw(seed, all.userIds[i] as number) - off + 1) % 1;
    train = subset(all, (i) => draw(i) >= pv + pt);
    val = subset(all, (i) => {
      const d = draw(i);
      return d >= pt && d < pv + pt;
    });
    test = subset(all, (i) => draw(i) < pt);
  }
  for (const [n, e] of [
    ['training', train],
    ['validation', val],
    ['test', test],
  ] as const)
    if (e.labels.length < 10) throw new UnprocessableError(`too few ${n} examples (${e.labels.length}) at cut-off ${new Date(e.asOf).toISOString()}: more history is needed`);
  if (k === 1 && new Set(train.labels).size < 2) throw new UnprocessableError('training labels have only one class: nothing to learn');
  log(`examples: train ${train.labels.length}, validation ${val.labels.length}, test ${test.labels.length}; ${classes.length} classes`);

  const pre = fitPreprocessor(train.defs, train.rows);
  const dim = pre.inputs.length;
  const recurrent = spec.architecture === 'gru' || spec.architecture === 'lstm';
  const L = spec.sequenceLength;
  const sdim = sequenceDim(schema);
  // Item inputs: each part's items as of its own cut-off; the vocabulary from the training users only.
  const itemSpec = spec.features.items;
  let items: { artefact: ItemArtefact; card: ItemCardInfo } | null = null;
  const itemMaps = new Map<Examples, Awaited<ReturnType<typeof itemsAsOf>>>();
  if (itemSpec) {
    const keysOnly: ItemArtefact = { keys: schema.items!, embedding: 'learned', vocabulary: [], dim: 0, sequenceLength: itemSpec.sequence ? L : null };
    for (const e of [train, val, test]) itemMaps.set(e, await itemsAsOf(fs, keysOnly, e.asOf, e.userIds));
    items = await fitItemArtefact(itemSpec, itemMaps.get(train)!, train.userIds, { sequenceLength: itemSpec.sequence ? L : null, pretrained: store.items });
    log(`items: vocabulary ${items.card.vocabulary} (rare bucket first), ${items.card.trainUsersWithItems}/${train.userIds.length} training users with items`);
  }
  const part = async (ex: Examples): Promise<Part> => ({
    ex,
    x: transformRows(pre, ex.defs, ex.rows),
    seq: recurrent ? await stackSequences(fs, ex, schema, L) : null,
    extra: items ? itemInputs(items.artefact, ex.userIds, itemMaps.get(ex)!) : [],
  });
  const [ptr, pva, pte] = [await part(train), await part(val), await part(test)];
  itemMaps.clear();
  const shape = recurrent ? [L, sdim] : [dim];
  const input = (p: Part) => (recurrent ? (p.seq as Float32Array) : p.x);
  const inputs = (p: Part): NetInput[] => [{ data: input(p), shape }, ...p.extra];
  const toTensor = (p: Part): tf.Tensor | tf.Tensor[] => {
    const ts = inputs(p).map((i) => tf.tensor(i.data, [p.ex.labels.length, ...i.shape]));
    return ts.length === 1 ? (ts[0] as tf.Tensor) : ts;
  };

  const netOptions = {
    architecture: spec.architecture,
    inputShape: shape,
    outputs: k,
    hidden: spec.training.hidden,
    recurrentUnits: spec.training.recurrentUnits,
    dropout: spec.training.dropout,
    l2: spec.training.l2,
    learningRate: spec.training.learningRate,
    seed: spec.training.seed,
  };
  const net = items
    ? buildItemNet(netOptions, {
        bagDim: items.artefact.embedding === 'pretrained' ? items.artefact.dim : items.artefact.vocabulary.length,
        learned: items.artefact.embedding === 'learned',
        dim: items.artefact.embedding === 'learned' ? items.artefact.dim : itemSpec!.dim,
        ...(items.artefact.sequenceLength ? { sequence: { length: items.artefact.sequenceLength, slots: items.artefact.sequenceSlots ?? 1 } } : {}),
      })
    : buildNet(netOptions);
  const tensors = {
    x: toTensor(ptr),
    y: tf.tensor2d(ptr.ex.labels, [ptr.ex.labels.length, 1]),
    xVal: toTensor(pva),
    yVal: tf.tensor2d(pva.ex.labels, [pva.ex.labels.length, 1]),
  };
  let fit: Awaited<ReturnType<typeof fitEarlyStopping>>;
  try {
    fit = await fitEarlyStopping(net, tensors, {
      epochs: spec.training.epochs,
      batchSize: spec.training.batchSize,
      patience: spec.training.patience,
      ...(spec.training.classWeights === 'balanced' ? { classWeight: balancedClassWeights(ptr.ex.labels, Math.max(2, k)) } : {}),
      log: (e) => {
        opts.onEpoch?.(e);
        log(`epoch ${e.epoch}: loss ${e.loss.toFixed(4)} val_loss ${e.valLoss.toFixed(4)} (${e.seconds.toFixed(2)} s)`);
      },
    });
  } finally {
    tf.dispose(Object.values(tensors));
  }
  const netVal = predictProbaInputs(net, inputs(pva));
  const netTest = predictProbaInputs(net, inputs(pte));
  let valScores = netVal;
  let testScores = netTest;
  let blend: ModelBlend | null = null;

  // Baselines on the same (aggregate) features: IRLS logistic regression, and the majority class.
  let lrTest: TestMetrics;
  let lrScores: Float64Array | null = null;
  let majority: TestMetrics;
  if (k === 1) {
    const lr = fitLogReg(ptr.x, ptr.ex.labels, dim, { l2: 1 });
    const lrVal = predictLogReg(lr, pva.x, dim);
    lrScores = predictLogReg(lr, pte.x, dim);
    lrTest = evaluate(pte.ex.labels, lrScores, 1, bestF1Threshold(pva.ex.labels, lrVal));
    majority = { kind: 'binary', ...majorityBaseline(ptr.ex.labels, pte.ex.labels) };
    if (spec.training.blend === 'auto') {
      // The network's weight in a probability average with the regression, chosen on validation
      // AUC only; the pure network wins ties, so a blend must earn its place.
      let best = { w: 1, auc: rocAuc(pva.ex.labels, netVal) };
      for (const w of BLEND_WEIGHTS) {
        const auc = rocAuc(pva.ex.labels, mixScores(netVal, lrVal, w));
        if (auc > best.auc + 1e-4) best = { w, auc };
      }
      if (best.w < 1) {
        blend = { networkWeight: best.w, logreg: lr.weights };
        valScores = mixScores(netVal, lrVal, best.w);
        testScores = mixScores(netTest, lrScores, best.w);
      }
    }
  } else {
    const lrNet = buildNet({
      architecture: 'logreg',
      inputShape: [dim],
      outputs: k,
      hidden: [],
      recurrentUnits: 1,
      dropout: 0,
      l2: spec.training.l2,
      learningRate: 0.01,
      seed: spec.training.seed,
    });
    const t = {
      x: tf.tensor2d(ptr.x, [ptr.ex.labels.length, dim]),
      y: tf.tensor2d(ptr.ex.labels, [ptr.ex.labels.length, 1]),
      xVal: tf.tensor2d(pva.x, [pva.ex.labels.length, dim]),
      yVal: tf.tensor2d(pva.ex.labels, [pva.ex.labels.length, 1]),
    };
    try {
      await fitEarlyStopping(lrNet, t, { epochs: spec.training.epochs, batchSize: spec.training.batchSize, patience: spec.training.patience });
    } finally {
      Object.values(t).forEach((x) => x.dispose());
    }
    lrTest = evaluate(pte.ex.labels, predictProbaInputs(lrNet, [{ data: pte.x, shape: [dim] }]), k, null);
    lrNet.dispose();
    const counts = new Array<number>(k).fill(0);
    for (const l of ptr.ex.labels) counts[l]!++;
    const top = counts.indexOf(Math.max(...counts));
    const probs = new Float32Array(pte.ex.labels.length * k);
    for (let i = 0; i < pte.ex.labels.length; i++) for (let c = 0; c < k; c++) probs[i * k + c] = (counts[c] as number) / ptr.ex.labels.length + (c === top ? 1e-9 : 0);
    majority = evaluate(pte.ex.labels, probs, k, null);
  }

  const threshold = k === 1 ? bestF1Threshold(pva.ex.labels, valScores) : null;
  const traitKey = spec.trait.key ?? spec.name;
  const dir = join(opts.modelsDir ?? defaultModelsDir(), spec.name, version);
  mkdirSync(dir, { recursive: true });
  await saveModelToDir(net, dir);
  net.dispose();
  const artefact: ModelArtefact = {
    name: spec.name,
    version,
    spec,
    schema,
    preprocessor: pre,
    classes,
    threshold,
    sequenceLength: recurrent ? L : null,
    traitKey,
    blend,
    items: items?.artefact ?? null,
  };
  writeFileSync(join(dir, ARTEFACT_JSON), JSON.stringify(artefact));
  const iso = (t: number) => new Date(t).toISOString();
  const posRate = k === 1 ? ptr.ex.labels.reduce((a, b) => a + b, 0) / ptr.ex.labels.length : null;
  const last = fit.history[fit.history.length - 1];
  const card: ModelCard = {
    name: spec.name,
    version,
    description: spec.description,
    createdAt: iso(now),
    backend,
    architecture: spec.architecture,
    target: spec.target,
    traitKey,
    producer: `model:${spec.name}`,
    classes,
    threshold,
    dataWindow: {
      firstEventAt: range.first !== null ? iso(range.first) : null,
      trainAsOf: iso(cut.train),
      validationAsOf: iso(cut.validation),
      testAsOf: iso(cut.test),
      horizonDays: h,
      split: spec.split.kind,
    },
    examples: { train: ptr.ex.labels.length, validation: pva.ex.labels.length, test: pte.ex.labels.length, trainPositiveRate: posRate },
    features: {
      version: FEATURE_VERSION,
      inputs: recurrent ? sdim : dim,
      names: [
        ...(recurrent ? [...schema.eventTypes.map((t) => `type_${t}`), 'type_other', 'log_dwell_s', 'log_value', 'log_gap_h', 'log_age_d'] : pre.inputs),
        ...(items ? itemInputNames(items.artefact) : []),
      ],
      sequenceLength: recurrent ? L : null,
      items: items?.card ?? null,
    },
    training: {
      epochsRun: fit.history.length,
      bestEpoch: fit.bestEpoch,
      seconds: fit.seconds,
      secondsPerEpoch: fit.history.length ? fit.seconds / fit.history.length : 0,
      finalLoss: last?.loss ?? NaN,
      bestValLoss: fit.bestValLoss,
    },
    blend: blend ? { networkWeight: blend.networkWeight, chosenBy: 'validation ROC AUC' } : null,
    metrics: {
      validation: evaluate(pva.ex.labels, valScores, k, threshold),
      test: evaluate(pte.ex.labels, testScores, k, threshold),
      ...(blend ? { networkTest: evaluate(pte.ex.labels, netTest, k, k === 1 ? bestF1Threshold(pva.ex.labels, netVal) : null) } : {}),
    },
    baseline: { logisticRegression: lrTest, majority },
    ...(k === 1 ? { curves: { test: { roc: rocPoints(pte.ex.labels, testScores) } } } : {}),
  };
  writeCard(dir, card);
  return {
    card,
    dir,
    test: { userIds: pte.ex.userIds, labels: pte.ex.labels, scores: testScores, baselineScores: lrScores },
    validation: { userIds: pva.ex.userIds, labels: pva.ex.labels, scores: valScores },
    train: { userIds: ptr.ex.userIds, labels: ptr.ex.labels },
  };
}
