/**
 * Behavioural models on real purchase data. Each dataset is turned into events and loaded through
 * the normal ingest path (cleanEvent → IngestStore, into a temp SQLite file), then the real
 * pipeline runs: features as of the cut-off → training → evaluation on held-out users.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { NotFoundError, ValidationError } from '../core/errors.ts';
import { openDb, type Db } from '../db/connection.ts';
import { IngestStore } from '../db/ingest-store.ts';
import { sqliteStore } from '../db/store.ts';
import { ingestBatch } from '../ingest/ingest.ts';
import type { PropertyFeature } from '../features/definitions.ts';
import type { ModelCard } from '../predict/card.ts';
import { parseSpec, type ModelSpec } from '../predict/spec.ts';
import { ARTEFACT_JSON, trainModel, type ModelArtefact, type TrainResult } from '../predict/train.ts';
import { balancedAccuracy, bestBalancedThreshold, rocAuc } from '../predict/metrics.ts';
import { balancedClassWeights, buildNet, fitEarlyStopping, predictProbaInputs } from '../predict/nets.ts';
import { computeUserItems, type UserItems } from '../features/items.ts';
import type { FeatureStore } from '../db/stores/features.ts';

export const BEHAVIOUR_DATASETS = ['cdnow', 'online-retail', 'online-shoppers'] as const;
export type BehaviourDataset = (typeof BEHAVIOUR_DATASETS)[number];

/** The reference baselines from the datasets' README (ROC AUC). */
export const REFERENCE_AUC: Record<BehaviourDataset, number> = { cdnow: 0.768, 'online-retail': 0.728, 'online-shoppers': 0.916 };

export interface BehaviourEvalOptions {
  dataset: BehaviourDataset;
  /** the datasets folder (holding cdnow/, online-retail-invoices/, online-shoppers-intention/) */
  dataDir: string;
  architecture?: ModelSpec['architecture'];
  /** keep the temp database and model files (default: removed) */
  keep?: boolean;
  log?: (msg: string) => void;
  /** k-fold cross-validation over users (k runs; figures are fold means) instead of one 25 % holdout */
  folds?: number;
  /** spec overrides for tuning runs */
  overrides?: SpecOverrides;
}

export interface BehaviourEvalResult {
  dataset: BehaviourDataset;
  architecture: string;
  backend: string;
  auc: number;
  pr_auc: number;
  f1: number;
  accuracy: number;
  precision: number;
  recall: number;
  log_loss: number;
  threshold: number | null;
  baseline_auc: number;
  baseline_f1: number;
  baseline_accuracy: number;
  majority_accuracy: number;
  reference_auc: number;
  base_rate_test: number;
  examples: { train: number; validation: number; test: number };
  events: number;
  ingest_seconds: number;
  train_seconds: number;
  total_seconds: number;
  epochs: number;
  work_dir: string | null;
  /** the network alone on the test users (differs from `auc` when blended) */
  network_auc: number;
  /** the network's weight in its average with logistic regression (1: network alone) */
  blend_weight: number;
  validation_auc: number;
  /** k-fold runs: per-fold figures (top-level figures are their means) */
  cv: { folds: number; auc: number[]; baseline_auc: number[]; f1: number[]; accuracy: number[]; auc_sd: number; baseline_auc_sd: number } | null;
}

type RawEvent = Record<string, unknown>;

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new NotFoundError(`dataset file not found: ${path}`, { path });
  }
}

function ingestAll(db: Db, events: Iterable<RawEvent>, batch = 5000): { accepted: number; rejected: number; duplicates: number } {
  const store = new IngestStore(db);
  const tally = { accepted: 0, rejected: 0, duplicates: 0 };
  let buf: RawEvent[] = [];
  const flush = () => {
    if (!buf.length) return;
    const s = ingestBatch(store, buf);
    tally.accepted += s.accepted;
    tally.rejected += s.rejected;
    tally.duplicates += s.duplicates;
    buf = [];
  };
  for (const e of events) {
    buf.push(e);
    if (buf.length >= batch) flush();
  }
  flush();
  return tally;
}

function* cdnowEvents(dataDir: string): Generator<RawEvent> {
  const lines = readText(join(dataDir, 'cdnow', 'CDNOW_master.txt')).split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const f = (lines[i] as string).trim().split(/\s+/);
    if (f.length < 4 || !/^\d{8}$/.test(f[1] as string)) continue;
    const [id, d, cds, dollars] = f as [string, string, string, string];
    const q = Number(cds);
    const v = Number(dollars);
    yield {
      eventId: `cdnow-${i}`,
      userId: `c${Number(id)}`,
      type: 'purchase',
      timestamp: `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T12:00:00Z`,
      properties: { price: q > 0 ? v / q : v, quantity: q, category: 'music' },
    };
  }
}

function* retailEvents(dataDir: string): Generator<RawEvent> {
  const lines = readText(join(dataDir, 'online-retail-invoices', 'online_retail_invoices.csv')).split(/\r?\n/);
  for (let i = 1; i < lines.length; i++) {
    const [inv, date, cust, total] = (lines[i] as string).split(',');
    if (!inv || !date || !cust || total === undefined) continue;
    yield { eventId: `inv-${inv}`, userId: `r${cust}`, type: 'purchase', timestamp: `${date}T12:00:00Z`, properties: { price: Number(total), quantity: 1 } };
  }
}

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, June: 5, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

/** A small deterministic hash for synthetic times (the dataset has month and weekend only). */
function mix(i: number, salt: number): number {
  let h = Math.imul(i ^ (salt * 0x9e3779b1), 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

interface ShopperRow {
  props: Record<string, unknown>;
  revenue: boolean;
}

function readShoppers(dataDir: string): ShopperRow[] {
  const lines = readText(join(dataDir, 'online-shoppers-intention', 'online_shoppers_intention.csv')).split(/\r?\n/);
  const header = (lines[0] as string).split(',');
  const out: ShopperRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    if (!lines[i]) continue;
    const cells = (lines[i] as string).split(',');
    const props: Record<string, unknown> = {};
    header.forEach((h, j) => {
      const c = cells[j] ?? '';
      // Numbers as JSON numbers, as a client would send them (cleaning coerces only known numeric keys).
      if (h !== 'Revenue') props[h] = /^-?\d+(\.\d+)?$/.test(c) ? Number(c) : c;
    });
    out.push({ props, revenue: cells[header.indexOf('Revenue')] === 'TRUE' });
  }
  return out;
}

/**
 * One session = one user: a session_start event carrying the 17 features as properties (names are
 * snake_cased and numbers coerced by cleaning), then one page_view per page visited, by page
 * category, with the category's mean dwell time. Times are synthetic within the session's month,
 * on a weekend day when the session's Weekend flag says so.
 */
function* shopperEvents(rows: ShopperRow[]): Generator<RawEvent> {
  for (let i = 0; i < rows.length; i++) {
    const p = (rows[i] as ShopperRow).props;
    const month = MONTHS[String(p.Month)] ?? 0;
    const weekend = p.Weekend === 'TRUE';
    let day = 1 + (mix(i, 1) % 28);
    for (let k = 0; k < 7; k++) {
      const wd = new Date(Date.UTC(2017, month, day)).getUTCDay();
      if ((wd === 0 || wd === 6) === weekend) break;
      day = day >= 28 ? 1 : day + 1;
    }
    let t = Date.UTC(2017, month, day) + (mix(i, 2) % 86_400) * 1000;
    const props: Record<string, unknown> = {
      ...p,
      Weekend: weekend,
      OperatingSystems: `os${String(p.OperatingSystems)}`,
      Browser: `b${String(p.Browser)}`,
      Region: `r${String(p.Region)}`,
      TrafficType: `t${String(p.TrafficType)}`,
    };
    yield { eventId: `os-${i}-s`, userId: `s${i}`, type: 'session_start', timestamp: t, properties: props };
    const pages: [string, string, string][] = [
      ['administrative', 'Administrative', 'Administrative_Duration'],
      ['informational', 'Informational', 'Informational_Duration'],
      ['product_related', 'ProductRelated', 'ProductRelated_Duration'],
    ];
    let j = 0;
    for (const [category, countKey, durKey] of pages) {
      const n = Math.max(0, Math.round(Number(p[countKey])));
      const dur = Math.max(0, Number(p[durKey]) || 0);
      const dwell = n ? Math.round((dur * 1000) / n) : 0;
      for (let k = 0; k < n; k++) {
        t += 1000 + dwell;
        yield { eventId: `os-${i}-${j++}`, userId: `s${i}`, type: 'page_view', timestamp: t, properties: { category, dwell_ms: dwell } };
      }
    }
  }
}

const SHOPPER_PROPERTIES: PropertyFeature[] = [
  ...(['page_values', 'administrative', 'administrative_duration', 'informational', 'informational_duration', 'product_related', 'product_related_duration'] as const).map(
    (key): PropertyFeature => ({ event: 'session_start', key, agg: 'last', type: 'monetary', top: 12 }),
  ),
  ...(['bounce_rates', 'exit_rates', 'special_day', 'weekend'] as const).map((key): PropertyFeature => ({ event: 'session_start', key, agg: 'last', type: 'rate', top: 12 })),
  ...(['month', 'visitor_type', 'traffic_type', 'region', 'browser', 'operating_systems'] as const).map(
    (key): PropertyFeature => ({ event: 'session_start', key, agg: 'onehot', type: 'share', top: 12 }),
  ),
];

/** Overrides of the spec (training settings, feature switches); tuning runs pass them. */
export interface SpecOverrides {
  training?: Record<string, unknown>;
  features?: Record<string, unknown>;
}

export function specFor(dataset: BehaviourDataset, architecture: ModelSpec['architecture'], o: SpecOverrides = {}, split: { folds?: number; fold?: number } = {}): ModelSpec {
  const training = {
    epochs: 80,
    patience: 8,
    batchSize: 256,
    learningRate: 0.001,
    hidden: [64, 32],
    dropout: 0.1,
    l2: 1e-4,
    classWeights: 'none',
    ...DATASET_TUNED[dataset].training,
    ...o.training,
  };
  o = { ...o, features: { ...DATASET_TUNED[dataset].features, ...o.features } };
  const common = { architecture, split: { kind: 'users', validation: 0.15, test: 0.25, seed: 42, ...split }, training };
  if (dataset === 'cdnow')
    return parseSpec({
      ...common,
      name: 'cdnow_repurchase',
      description: 'CDNOW: any purchase in the 39 weeks after 1997-09-30',
      asOf: '1997-09-30T23:59:59.999Z',
      target: { kind: 'event_in_horizon', eventTypes: ['purchase'], horizonDays: 273 },
      features: { maxEventTypes: 2, topCategories: 0, purchaseHistory: true, ...o.features },
    });
  if (dataset === 'online-retail')
    return parseSpec({
      ...common,
      name: 'retail_repurchase',
      description: 'Online Retail: any purchase after 2011-08-31',
      asOf: '2011-08-31T23:59:59.999Z',
      target: { kind: 'event_in_horizon', eventTypes: ['purchase'], horizonDays: 100 },
      features: { maxEventTypes: 2, topCategories: 0, purchaseHistory: true, ...o.features },
    });
  return parseSpec({
    ...common,
    name: 'shopper_purchase',
    description: 'Online Shoppers: does the session end in a purchase',
    target: { kind: 'attribute', key: 'revenue', positive: true },
    features: { maxEventTypes: 4, topCategories: 3, properties: SHOPPER_PROPERTIES, ...o.features },
  });
}

/**
 * Settings per dataset, chosen by bench/tune-behaviour.ts: 4-fold cross-validation over the users
 * that are NOT this evaluation's test users (those are deleted from the tuning database first).
 * Stronger regularisation (L2 1e-2, dropout) won everywhere; the choices are in docs/eval-behaviour.md.
 */
const DATASET_TUNED: Record<BehaviourDataset, SpecOverrides> = {
  cdnow: { training: { hidden: [32], dropout: 0.2, l2: 0.01 } },
  'online-retail': { training: { hidden: [128, 64], dropout: 0.4, l2: 0.01 }, features: { purchaseHistory: false } },
  'online-shoppers': { training: { hidden: [128, 64], dropout: 0.4, l2: 0.01 } },
};

/** Loads a dataset into `db` through the ingest path (and, for Online Shoppers, the label attribute). */
export async function loadBehaviourDataset(db: Db, dataset: BehaviourDataset, dataDir: string): Promise<{ accepted: number; rejected: number; duplicates: number }> {
  if (dataset === 'cdnow') return ingestAll(db, cdnowEvents(dataDir));
  if (dataset === 'online-retail') return ingestAll(db, retailEvents(dataDir));
  const rows = readShoppers(dataDir);
  const tally = ingestAll(db, shopperEvents(rows));
  // The label is a declared attribute, set the way the API's attribute route sets it.
  const users = sqliteStore(db).users;
  for (const [i, r] of rows.entries()) await users.setAttributes(`s${i}`, { revenue: r.revenue }, undefined);
  return tally;
}

/** One training run's figures: the result's model fields, plus what averaging folds needs. */
type FoldRun = Pick<
  BehaviourEvalResult,
  | 'architecture'
  | 'backend'
  | 'auc'
  | 'pr_auc'
  | 'f1'
  | 'accuracy'
  | 'precision'
  | 'recall'
  | 'log_loss'
  | 'threshold'
  | 'baseline_auc'
  | 'baseline_f1'
  | 'baseline_accuracy'
  | 'majority_accuracy'
  | 'network_auc'
  | 'blend_weight'
  | 'validation_auc'
  | 'examples'
  | 'train_seconds'
  | 'epochs'
> & { positives: number; n: number };

function foldRun(c: ModelCard): FoldRun {
  const m = c.metrics.test;
  const v = c.metrics.validation;
  const net = c.metrics.networkTest ?? m;
  const lr = c.baseline.logisticRegression;
  const maj = c.baseline.majority;
  if (m.kind !== 'binary' || v.kind !== 'binary' || net.kind !== 'binary' || lr.kind !== 'binary' || maj.kind !== 'binary')
    throw new Error('behaviour evaluation targets are binary');
  return {
    architecture: c.architecture,
    backend: c.backend,
    auc: m.auc,
    pr_auc: m.prAuc,
    f1: m.f1,
    accuracy: m.accuracy,
    precision: m.precision,
    recall: m.recall,
    log_loss: m.logLoss,
    threshold: c.threshold,
    baseline_auc: lr.auc,
    baseline_f1: lr.f1,
    baseline_accuracy: lr.accuracy,
    majority_accuracy: maj.accuracy,
    network_auc: net.auc,
    blend_weight: c.blend?.networkWeight ?? 1,
    validation_auc: v.auc,
    positives: m.positives,
    n: m.n,
    examples: { train: c.examples.train, validation: c.examples.validation, test: c.examples.test },
    train_seconds: c.training.seconds,
    epochs: c.training.epochsRun,
  };
}

export async function runBehaviourEval(opts: BehaviourEvalOptions): Promise<BehaviourEvalResult> {
  if (!(BEHAVIOUR_DATASETS as readonly string[]).includes(opts.dataset))
    throw new ValidationError(`unknown dataset "${String(opts.dataset)}": one of ${BEHAVIOUR_DATASETS.join(', ')}`);
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const t0 = performance.now();
  const work = mkdtempSync(join(tmpdir(), `traitlens-eval-${opts.dataset}-`));
  const db = openDb(join(work, 'eval.db'), { synchronous: 'OFF' });
  try {
    const tally = await loadBehaviourDataset(db, opts.dataset, opts.dataDir);
    const ingestSeconds = (performance.now() - t0) / 1000;
    log(`${opts.dataset}: ${tally.accepted} events accepted, ${tally.rejected} rejected, ${tally.duplicates} duplicates in ${ingestSeconds.toFixed(1)} s`);
    const runs: FoldRun[] = [];
    const folds = opts.folds ?? 0;
    for (let f = 0; f < Math.max(1, folds); f++) {
      const spec = specFor(opts.dataset, opts.architecture ?? 'mlp', opts.overrides, folds ? { folds, fold: f } : {});
      if (folds) log(`fold ${f + 1}/${folds}`);
      runs.push(foldRun((await trainModel(sqliteStore(db), spec, { modelsDir: join(work, 'models'), version: `fold${f}`, log })).card));
    }
    const mean = (k: keyof FoldRun) => runs.reduce((a, r) => a + (r[k] as number), 0) / runs.length;
    const sd = (k: keyof FoldRun) => Math.sqrt(runs.reduce((a, r) => a + ((r[k] as number) - mean(k)) ** 2, 0) / Math.max(1, runs.length - 1));
    const one = runs[0] as FoldRun;
    const sum = (pick: (r: FoldRun) => number) => runs.reduce((a, r) => a + pick(r), 0);
    return {
      dataset: opts.dataset,
      architecture: one.architecture,
      backend: one.backend,
      auc: mean('auc'),
      pr_auc: mean('pr_auc'),
      f1: mean('f1'),
      accuracy: mean('accuracy'),
      precision: mean('precision'),
      recall: mean('recall'),
      log_loss: mean('log_loss'),
      threshold: folds ? null : one.threshold,
      baseline_auc: mean('baseline_auc'),
      baseline_f1: mean('baseline_f1'),
      baseline_accuracy: mean('baseline_accuracy'),
      majority_accuracy: mean('majority_accuracy'),
      reference_auc: REFERENCE_AUC[opts.dataset],
      base_rate_test: sum((r) => r.positives) / sum((r) => r.n),
      examples: one.examples,
      events: tally.accepted,
      ingest_seconds: ingestSeconds,
      train_seconds: sum((r) => r.train_seconds),
      total_seconds: (performance.now() - t0) / 1000,
      epochs: Math.round(mean('epochs')),
      work_dir: opts.keep ? work : null,
      network_auc: mean('network_auc'),
      blend_weight: mean('blend_weight'),
      validation_auc: mean('validation_auc'),
      cv: folds
        ? {
            folds,
            auc: runs.map((r) => r.auc),
            baseline_auc: runs.map((r) => r.baseline_auc),
            f1: runs.map((r) => r.f1),
            accuracy: runs.map((r) => r.accuracy),
            auc_sd: sd('auc'),
            baseline_auc_sd: sd('baseline_auc'),
          }
        : null,
    };
  } finally {
    db.close();
    if (!opts.keep) rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Online Retail at line-item level (issue #13): item-aware models against aggregates only.

export const ITEMS_DATASET = 'online-retail-items';

/** Stock codes that are no product (postage, fees, manual adjustments, samples, gift vouchers). */
const NON_PRODUCT = /^(POST|DOT|M|D|C2|S|B|CRUK|PADS|BANK CHARGES|AMAZONFEE|DCGS.*|GIFT_.*)$/i;

/** A CSV line with double-quoted fields ("" inside quotes is one quote). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (q) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') q = false;
      else cur += c;
    } else if (c === '"') q = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

interface RetailItems {
  events: RawEvent[];
  /** customer → country (the most frequent of its lines; ties by name) */
  country: Map<string, string>;
  lines: number;
  skippedNoCustomer: number;
  skippedNonProduct: number;
}

/**
 * One event per line item of a known customer: `purchase` (quantity > 0) or `return` (a `C`
 * invoice, quantity made positive), properties `item` (the stock code), `quantity`, `price` (unit
 * price). Non-product codes (postage, fees, adjustments) are left out: they say more about the
 * shipping address than about taste. Times are the invoice times (UTC assumed).
 */
export function readRetailItems(dataDir: string): RetailItems {
  const path = join(dataDir, 'online-retail-items', 'online_retail.csv.gz');
  let text: string;
  try {
    text = gunzipSync(readFileSync(path)).toString('utf8');
  } catch {
    throw new NotFoundError(`dataset file not found or not gzip: ${path}`, { path });
  }
  const lines = text.split(/\r?\n/);
  const events: RawEvent[] = [];
  const byCountry = new Map<string, Map<string, number>>();
  let skippedNoCustomer = 0;
  let skippedNonProduct = 0;
  let n = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (!line) continue;
    n++;
    const [inv, code, , qty, date, price, cust, country] = csvFields(line) as [string, string, string, string, string, string, string, string];
    if (!cust) {
      skippedNoCustomer++;
      continue;
    }
    const c = byCountry.get(cust) ?? new Map<string, number>();
    c.set(country, (c.get(country) ?? 0) + 1);
    byCountry.set(cust, c);
    const item = code.trim().toUpperCase();
    if (NON_PRODUCT.test(item)) {
      skippedNonProduct++;
      continue;
    }
    const q = Number(qty);
    const p = Number(price);
    if (!Number.isFinite(q) || q === 0 || !Number.isFinite(p) || p < 0) continue;
    const cancel = inv.startsWith('C') || q < 0;
    events.push({
      eventId: `ori-${i}`,
      userId: `r${cust}`,
      type: cancel ? 'return' : 'purchase',
      timestamp: `${date.replace(' ', 'T')}Z`,
      properties: { item, quantity: Math.abs(q), price: p },
    });
  }
  const country = new Map<string, string>();
  for (const [cust, m] of byCountry) {
    const best = [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0] as [string, number];
    country.set(cust, best[0]);
  }
  return { events, country, lines: n, skippedNoCustomer, skippedNonProduct };
}

/** The item input every item-aware spec of this evaluation uses (chosen on validation users, never on test). */
export const RETAIL_ITEMS_FEATURE = { property: 'item', event: 'purchase', valueProperty: 'quantity', dim: 16, maxItems: 2000, minUsers: 5, pooling: 'sqrtn' } as const;

/**
 * Training settings of every model here: Online Retail's tuned network ([128, 64]) with the
 * regularisation and pooling chosen on the country task's validation users only (docs/eval-behaviour.md).
 */
const ITEMS_TRAINING = { epochs: 80, patience: 8, batchSize: 256, learningRate: 0.001, hidden: [128, 64], dropout: 0.2, l2: 0.001, classWeights: 'none' } as const;

export function itemsSpecs(
  architecture: ModelSpec['architecture'] = 'mlp',
  o: SpecOverrides = {},
): Record<'country_aggregates' | 'country_items' | 'repurchase_aggregates' | 'repurchase_items', ModelSpec> {
  const training = { ...ITEMS_TRAINING, ...o.training };
  const items = { ...RETAIL_ITEMS_FEATURE, ...o.features };
  const split = { kind: 'users', validation: 0.15, test: 0.25, seed: 42 };
  const features = { maxEventTypes: 2, topCategories: 0 };
  const country = (name: string, withItems: boolean) =>
    parseSpec({
      name,
      description: 'Online Retail: customer in the United Kingdom, from what they bought',
      architecture,
      target: { kind: 'attribute', key: 'country', positive: 'United Kingdom' },
      features: { ...features, ...(withItems ? { items } : {}) },
      split,
      training,
    });
  const repurchase = (name: string, withItems: boolean) =>
    parseSpec({
      name,
      description: 'Online Retail (line items): any purchase after 2011-08-31',
      architecture,
      asOf: '2011-08-31T23:59:59.999Z',
      target: { kind: 'event_in_horizon', eventTypes: ['purchase'], horizonDays: 100 },
      features: { ...features, ...(withItems ? { items } : {}) },
      split,
      training,
    });
  return {
    country_aggregates: country('retail_country_aggregates', false),
    country_items: country('retail_country_items', true),
    repurchase_aggregates: repurchase('retail_repurchase_aggregates', false),
    repurchase_items: repurchase('retail_repurchase_items', true),
  };
}

export interface ItemsModelFigures {
  auc: number;
  /** at the threshold maximising balanced accuracy on validation */
  balanced_accuracy: number;
  validation_auc: number;
  /** the network's weight in the blend with aggregate logistic regression (1: network alone) */
  blend_weight: number;
  network_auc: number;
  train_seconds: number;
  epochs: number;
}

export interface ItemsEvalResult {
  dataset: typeof ITEMS_DATASET;
  architecture: string;
  backend: string;
  lines: number;
  events: number;
  customers: number;
  skipped: { no_customer: number; non_product: number; rejected: number };
  ingest_seconds: number;
  total_seconds: number;
  protocol: string;
  country: {
    positive: 'United Kingdom';
    examples: { train: number; validation: number; test: number };
    base_rate_test: number;
    majority_accuracy: number;
    vocabulary: number;
    aggregates: ItemsModelFigures;
    items: ItemsModelFigures;
    /** logistic regression (one-layer tfjs net, L2, early stopping on validation) on the item presence matrix alone */
    logreg_items: Omit<ItemsModelFigures, 'blend_weight' | 'network_auc' | 'train_seconds' | 'epochs'> & { train_seconds: number };
    /** `pretrained`: aggregates + pooled item2vec embeddings trained on the training users' purchases only (null: not run) */
    items_pretrained: (ItemsModelFigures & { embedding_seconds: number; embedding_items: number }) | null;
  };
  repurchase: {
    as_of: string;
    examples: { train: number; validation: number; test: number };
    base_rate_test: number;
    aggregates: ItemsModelFigures;
    items: ItemsModelFigures;
  };
}

function figures(r: TrainResult): ItemsModelFigures {
  const c = r.card;
  const m = c.metrics.test;
  const v = c.metrics.validation;
  const net = c.metrics.networkTest ?? m;
  if (m.kind !== 'binary' || v.kind !== 'binary' || net.kind !== 'binary') throw new Error('item evaluation targets are binary');
  return {
    auc: m.auc,
    balanced_accuracy: balancedAccuracy(r.test.labels, r.test.scores, bestBalancedThreshold(r.validation.labels, r.validation.scores)),
    validation_auc: v.auc,
    blend_weight: c.blend?.networkWeight ?? 1,
    network_auc: net.auc,
    train_seconds: c.training.seconds,
    epochs: c.training.epochsRun,
  };
}

/** Presence (1/0) of each vocabulary item, n × vocabulary (slot 0: any rare item). */
function presence(userIds: readonly number[], items: ReadonlyMap<number, UserItems>, vocabulary: readonly string[]): Float32Array {
  const index = new Map(vocabulary.map((k, i) => [k, i]));
  const V = vocabulary.length;
  const out = new Float32Array(userIds.length * V);
  userIds.forEach((u, i) => {
    for (const k of items.get(u)?.items.keys() ?? []) out[i * V + (index.get(k) ?? 0)] = 1;
  });
  return out;
}

/** Logistic regression on the item matrix: train on the item model's training users, stop on its validation users. */
async function itemMatrixLogReg(
  store: { features: FeatureStore },
  trained: TrainResult,
  vocabulary: readonly string[],
  asOf: number,
): Promise<ItemsEvalResult['country']['logreg_items']> {
  const t0 = performance.now();
  const all = [...trained.train.userIds, ...trained.validation.userIds, ...trained.test.userIds];
  const items = await computeUserItems(store.features, {
    asOf,
    keys: { property: RETAIL_ITEMS_FEATURE.property, event: RETAIL_ITEMS_FEATURE.event, valueProperty: RETAIL_ITEMS_FEATURE.valueProperty },
    userIds: all,
  });
  const V = vocabulary.length;
  const net = buildNet({ architecture: 'logreg', inputShape: [V], outputs: 1, hidden: [], recurrentUnits: 1, dropout: 0, l2: 1e-3, learningRate: 0.01, seed: 7 });
  const x = presence(trained.train.userIds, items, vocabulary);
  const xv = presence(trained.validation.userIds, items, vocabulary);
  const xt = presence(trained.test.userIds, items, vocabulary);
  const t = {
    x: tf.tensor2d(x, [trained.train.userIds.length, V]),
    y: tf.tensor2d(trained.train.labels, [trained.train.labels.length, 1]),
    xVal: tf.tensor2d(xv, [trained.validation.userIds.length, V]),
    yVal: tf.tensor2d(trained.validation.labels, [trained.validation.labels.length, 1]),
  };
  try {
    await fitEarlyStopping(net, t, { epochs: 200, batchSize: 128, patience: 10, classWeight: balancedClassWeights(trained.train.labels, 2) });
  } finally {
    tf.dispose(Object.values(t));
  }
  const pv = predictProbaInputs(net, [{ data: xv, shape: [V] }]);
  const pt = predictProbaInputs(net, [{ data: xt, shape: [V] }]);
  net.dispose();
  return {
    auc: rocAuc(trained.test.labels, pt),
    balanced_accuracy: balancedAccuracy(trained.test.labels, pt, bestBalancedThreshold(trained.validation.labels, pv)),
    validation_auc: rocAuc(trained.validation.labels, pv),
    train_seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * The country model with `embedding: "pretrained"`: item2vec (src/items/embeddings.ts) trained on the
 * purchases of the item model's training users only (no validation or test user's basket), pooled.
 */
async function pretrainedCountry(
  store: { features: FeatureStore },
  spec: ModelSpec,
  trained: TrainResult,
  asOf: number,
  modelsDir: string,
  log: (m: string) => void,
): Promise<NonNullable<ItemsEvalResult['country']['items_pretrained']>> {
  const t0 = performance.now();
  const train = new Set(trained.train.userIds);
  const rows: { user: number; item: string; weight: number; ts: number }[] = [];
  for await (const page of store.features.scanEvents({ asOf, props: ['item', 'quantity'] }))
    for (const e of page)
      if (train.has(e.userId) && e.type === 'purchase' && typeof e.p0 === 'string') rows.push({ user: e.userId, item: e.p0, weight: Number(e.p1) || 1, ts: e.ts });
  const { trainItemEmbeddings } = await import('../items/embeddings.ts');
  const m = await trainItemEmbeddings(rows, { dim: 32, seed: 42 });
  const embeddingSeconds = (performance.now() - t0) / 1000;
  log(`item2vec on ${rows.length} training-user purchases: ${m.items.length} items in ${embeddingSeconds.toFixed(1)} s`);
  const source = { activeEmbeddings: async () => ({ version: m.version, dim: m.dim, items: m.items, vectors: m.vectors }) };
  const pSpec = parseSpec({ ...spec, name: 'retail_country_pretrained', features: { ...spec.features, items: { ...spec.features.items, embedding: 'pretrained' } } });
  const r = await trainModel({ features: store.features, items: source }, pSpec, { modelsDir, version: 'eval', log: () => {} });
  return { ...figures(r), embedding_seconds: embeddingSeconds, embedding_items: m.items.length };
}

/**
 * `traitlens eval behaviour --dataset online-retail-items`: loads the line items (purchases and
 * returns as events, the customer's country as a declared attribute), then (a) country = United
 * Kingdom from aggregates only, aggregates + items, and logistic regression on the item matrix;
 * (b) any purchase after 2011-08-31 with and without items. One users split (60/15/25, seed 42)
 * for every model: thresholds, blends and early stopping use validation users only; the test users
 * are scored once per run and never used to choose anything.
 */
export async function runItemsEval(opts: {
  dataDir: string;
  architecture?: ModelSpec['architecture'];
  keep?: boolean;
  log?: (m: string) => void;
  overrides?: SpecOverrides;
  /** also the country model on pretrained item embeddings (item2vec on the training users' purchases) */
  pretrained?: boolean;
}): Promise<ItemsEvalResult> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const t0 = performance.now();
  const data = readRetailItems(opts.dataDir);
  const work = mkdtempSync(join(tmpdir(), 'traitlens-eval-retail-items-'));
  const db = openDb(join(work, 'eval.db'), { synchronous: 'OFF' });
  try {
    const tally = ingestAll(db, data.events);
    const store = sqliteStore(db);
    for (const [cust, country] of data.country) await store.users.setAttributes(`r${cust}`, { country }, undefined);
    const ingestSeconds = (performance.now() - t0) / 1000;
    log(`${ITEMS_DATASET}: ${tally.accepted} events accepted, ${tally.rejected} rejected; ${data.country.size} customers in ${ingestSeconds.toFixed(1)} s`);
    const specs = itemsSpecs(opts.architecture ?? 'mlp', opts.overrides);
    const train = async (key: keyof typeof specs) => {
      log(`training ${key}`);
      return trainModel(store, specs[key], { modelsDir: join(work, 'models'), version: 'eval', log: () => {} });
    };
    const cAgg = await train('country_aggregates');
    const cItems = await train('country_items');
    const art = JSON.parse(readFileSync(join(cItems.dir, ARTEFACT_JSON), 'utf8')) as ModelArtefact;
    const vocabulary = art.items?.vocabulary ?? [];
    const lr = await itemMatrixLogReg(store, cItems, vocabulary, art.schema.asOf);
    const pre = opts.pretrained ? await pretrainedCountry(store, specs.country_items, cItems, art.schema.asOf, join(work, 'models'), log) : null;
    const rAgg = await train('repurchase_aggregates');
    const rItems = await train('repurchase_items');
    const mean = (a: readonly number[]) => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);
    const cm = cItems.card.baseline.majority;
    return {
      dataset: ITEMS_DATASET,
      architecture: cItems.card.architecture,
      backend: cItems.card.backend,
      lines: data.lines,
      events: tally.accepted,
      customers: data.country.size,
      skipped: { no_customer: data.skippedNoCustomer, non_product: data.skippedNonProduct, rejected: tally.rejected },
      ingest_seconds: ingestSeconds,
      total_seconds: (performance.now() - t0) / 1000,
      protocol: 'users split 60/15/25 % (seed 42) shared by every model; thresholds, blend weights and early stopping on validation users; test users scored once',
      country: {
        positive: 'United Kingdom',
        examples: { train: cItems.card.examples.train, validation: cItems.card.examples.validation, test: cItems.card.examples.test },
        base_rate_test: mean(cItems.test.labels),
        majority_accuracy: cm.kind === 'binary' ? cm.accuracy : Number.NaN,
        vocabulary: vocabulary.length,
        aggregates: figures(cAgg),
        items: figures(cItems),
        logreg_items: lr,
        items_pretrained: pre,
      },
      repurchase: {
        as_of: specs.repurchase_items.asOf as string,
        examples: { train: rItems.card.examples.train, validation: rItems.card.examples.validation, test: rItems.card.examples.test },
        base_rate_test: mean(rItems.test.labels),
        aggregates: figures(rAgg),
        items: figures(rItems),
      },
    };
  } finally {
    db.close();
    if (!opts.keep) rmSync(work, { recursive: true, force: true });
  }
}

/** The text report of `runItemsEval`. */
export function formatItemsEval(r: ItemsEvalResult): string {
  const f = (x: number) => (Number.isNaN(x) ? 'n/a' : x.toFixed(3));
  const row = (name: string, m: { auc: number; balanced_accuracy: number; validation_auc: number }) =>
    `  ${name.padEnd(34)} AUC ${f(m.auc)}  balanced accuracy ${f(m.balanced_accuracy)}  (validation AUC ${f(m.validation_auc)})`;
  const c = r.country;
  const p = r.repurchase;
  return [
    `dataset ${r.dataset} (${r.architecture}, backend ${r.backend}): ${r.lines} lines, ${r.events} events, ${r.customers} customers; ${r.protocol}`,
    `(a) country = United Kingdom from what was bought; examples ${c.examples.train}/${c.examples.validation}/${c.examples.test}, test base rate ${f(c.base_rate_test)}, majority accuracy ${f(c.majority_accuracy)}, vocabulary ${c.vocabulary}`,
    row('aggregates only', c.aggregates),
    row('aggregates + items (embedding bag)', c.items),
    row('logistic regression, item matrix', c.logreg_items),
    ...(c.items_pretrained ? [row('aggregates + pretrained item2vec', c.items_pretrained)] : []),
    `(b) any purchase after ${p.as_of.slice(0, 10)}; examples ${p.examples.train}/${p.examples.validation}/${p.examples.test}, test base rate ${f(p.base_rate_test)}`,
    row('aggregates only', p.aggregates),
    row('aggregates + items', p.items),
    `ingest ${r.ingest_seconds.toFixed(1)} s, total ${r.total_seconds.toFixed(1)} s`,
  ].join('\n');
}
