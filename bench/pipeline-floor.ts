/**
 * The pipeline's dependency floor (issue #14): the same refresh work over every user with the
 * dependencies only — raw better-sqlite3 reads (one statement per kind of data for the whole
 * population, JSON parsed once per event), the same wink-nlp offline extractor on unread signals,
 * the same offline embedder, the same feature arithmetic, one batched tfjs predict per model, the
 * same vector arithmetic, every vector added to an in-memory hnswlib index, and the output rows that
 * differ from the stored ones written in one transaction. No stores, no executor, no per-user
 * transactions or statements. Used by bench/pipeline.ts, on the same database after its passes.
 */
import * as tf from '@tensorflow/tfjs';
import Database from 'better-sqlite3';
import hnswlib from 'hnswlib-node';
import type { Trait } from '../src/core/types.ts';
import { interactionWeight } from '../src/db/stores/items.ts';
import type { FeatureEvent } from '../src/db/stores/features.ts';
import { featureRowsFromEvents, type UserEvents } from '../src/features/compute.ts';
import { FEATURE_PRODUCER, FEATURE_VERSION } from '../src/features/definitions.ts';
import { transformRows } from '../src/features/matrix.ts';
import { computedTraitValuesFrom, replacementUnchanged } from '../src/features/traits.ts';
import { poolUserItems } from '../src/items/vectors.ts';
import { predictLogReg } from '../src/predict/logreg.ts';
import type { LoadedModel } from '../src/predict/score.ts';
import { mixScores } from '../src/predict/train.ts';
import { behaviourVectorFromEvents, type BehaviourScaler } from '../src/profile/behaviour.ts';
import { factStatements, withFacts } from '../src/profile/fact-text.ts';
import type { PinnedItemModel } from '../src/profile/items-block.ts';
import { embedPhrases, traitBlock } from '../src/profile/profile-stage.ts';
import { composeVector, type VectorLayout } from '../src/profile/vector.ts';
import type { Embedder } from '../src/providers/types.ts';
import { recencyWeight } from '../src/embed/embed-stage.ts';
import type { OfflineExtractor } from '../src/traits/offline.ts';

export interface FloorDeps {
  dbPath: string;
  userIds: readonly number[];
  asOf: number;
  models: readonly LoadedModel[];
  extractor: OfflineExtractor;
  embedder: Embedder;
  layout: VectorLayout;
  scaler: BehaviourScaler | null;
  itemModel: PinnedItemModel | null;
  itemProperties: readonly string[];
}

export interface FloorResult {
  seconds: number;
  /** seconds per part */
  parts: Record<'read' | 'nlp' | 'features' | 'predict' | 'vectors' | 'hnsw' | 'write', number>;
  unreadSignals: number;
  /** output rows the floor found different from the stored ones (a steady-state pass: none expected) */
  rowsDiffering: { computed: number; predicted: number; text: number; vectors: number };
}

const MONEY = ['price', 'quantity', 'amount', 'revenue', 'total', 'value', 'dwell_ms', 'category'] as const;
const sqlValue = (v: unknown): unknown => (v === undefined || v === null ? null : typeof v === 'boolean' ? (v ? 1 : 0) : typeof v === 'object' ? JSON.stringify(v) : v);

export async function runFloor(d: FloorDeps): Promise<FloorResult> {
  const db = new Database(d.dbPath);
  db.pragma('journal_mode = WAL');
  const parts = { read: 0, nlp: 0, features: 0, predict: 0, vectors: 0, hnsw: 0, write: 0 };
  let t = performance.now();
  const lap = (k: keyof typeof parts) => {
    const now = performance.now();
    parts[k] += (now - t) / 1000;
    t = now;
  };
  const t0 = t;
  const wanted = new Set(d.userIds);
  const keys = [...new Set(d.models.flatMap((m) => m.artefact.schema.properties.map((p) => p.key)))];

  // Reads: one read transaction, one statement per kind of data.
  db.exec('BEGIN');
  const unread = db
    .prepare(
      `SELECT e.id, e.user_id AS userId, e.type, e.text, e.ts FROM events e WHERE e.text IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM signal_extractions s WHERE s.event_id = e.id AND s.producer = ? AND s.version = ?) ORDER BY e.user_id, e.ts, e.id`,
    )
    .all(d.extractor.producer, d.extractor.version) as { id: number; userId: number; type: string; text: string; ts: number }[];
  const events = new Map<number, FeatureEvent[]>();
  const items = new Map<number, Map<string, { weight: number; lastTs: number }>>();
  for (const r of db.prepare('SELECT user_id AS userId, id, ts, type, properties FROM events WHERE ts <= ? ORDER BY user_id, ts, id').iterate(d.asOf) as IterableIterator<{
    userId: number;
    id: number;
    ts: number;
    type: string;
    properties: string | null;
  }>) {
    if (!wanted.has(r.userId)) continue;
    const p = (r.properties ? JSON.parse(r.properties) : {}) as Record<string, unknown>;
    const e = { userId: r.userId, id: r.id, ts: r.ts, type: r.type } as FeatureEvent;
    const o = e as unknown as Record<string, unknown>;
    for (const k of MONEY) o[k === 'dwell_ms' ? 'dwellMs' : k] = sqlValue(p[k]);
    keys.forEach((k, i) => {
      o[`p${i}`] = sqlValue(p[k]);
    });
    let list = events.get(r.userId);
    if (!list) events.set(r.userId, (list = []));
    list.push(e);
    if (d.itemModel) {
      const name = d.itemProperties.map((k) => (p[k] === undefined || p[k] === null ? '' : String(p[k]))).find((s) => s !== '');
      if (name) {
        let m = items.get(r.userId);
        if (!m) items.set(r.userId, (m = new Map()));
        const w = interactionWeight(undefined) as number;
        const had = m.get(name);
        if (had) {
          had.weight += w;
          had.lastTs = Math.max(had.lastTs, r.ts);
        } else m.set(name, { weight: w, lastTs: r.ts });
      }
    }
  }
  const traits = new Map<number, Trait[]>();
  for (const r of db
    .prepare(
      'SELECT user_id AS userId, id, key, value, kind, confidence, producer, version, valid_from AS validFrom FROM traits WHERE valid_to IS NULL ORDER BY user_id, kind, key, confidence DESC, id',
    )
    .iterate() as IterableIterator<Record<string, unknown>>) {
    const u = r.userId as number;
    if (!wanted.has(u)) continue;
    let list = traits.get(u);
    if (!list) traits.set(u, (list = []));
    list.push({ ...(r as unknown as Trait), value: JSON.parse(r.value as string), evidence: [], validTo: null, supersededBy: null });
  }
  const signalVecs = new Map<number, { ts: number; v: Float32Array }[]>();
  for (const r of db
    .prepare('SELECT e.user_id AS userId, e.ts, s.vector FROM signal_embeddings s JOIN events e ON e.id = s.event_id WHERE s.embedder_id = ?')
    .iterate(d.embedder.id) as IterableIterator<{ userId: number; ts: number; vector: Buffer }>) {
    let list = signalVecs.get(r.userId);
    if (!list) signalVecs.set(r.userId, (list = []));
    list.push({ ts: r.ts, v: new Float32Array(r.vector.buffer.slice(r.vector.byteOffset, r.vector.byteOffset + r.vector.byteLength)) });
  }
  const storedText = new Map<number, Float32Array>();
  for (const r of db.prepare('SELECT user_id AS userId, vector FROM user_embeddings WHERE embedder_id = ?').iterate(d.embedder.id) as IterableIterator<{
    userId: number;
    vector: Buffer;
  }>)
    storedText.set(r.userId, new Float32Array(r.vector.buffer.slice(r.vector.byteOffset, r.vector.byteOffset + r.vector.byteLength)));
  const storedVec = new Map<number, Buffer>();
  for (const r of db.prepare('SELECT user_id AS userId, vector FROM user_profiles').iterate() as IterableIterator<{ userId: number; vector: Buffer }>)
    storedVec.set(r.userId, r.vector);
  db.exec('COMMIT');
  lap('read');

  // The offline extractor (wink-nlp) on every unread signal, by user.
  for (let i = 0; i < unread.length; ) {
    const u = (unread[i] as { userId: number }).userId;
    const batch = [];
    while (i < unread.length && (unread[i] as { userId: number }).userId === u) {
      const r = unread[i++] as (typeof unread)[number];
      batch.push({ eventId: r.id, type: r.type, text: r.text, ts: r.ts });
    }
    await d.extractor.extract(batch, []);
  }
  lap('nlp');

  // Features: computed trait values, each model's rows, the behaviour block.
  const ids = d.userIds.filter((u) => events.has(u));
  const perUser = new Map<number, UserEvents>(ids.map((u) => [u, { userId: u, asOf: d.asOf, keys, events: events.get(u) as FeatureEvent[] }]));
  const writes: { computed: number; predicted: number; text: number; vectors: number } = { computed: 0, predicted: 0, text: 0, vectors: 0 };
  const behaviour = new Map<number, Float32Array | null>();
  for (const u of ids) {
    const ev = perUser.get(u) as UserEvents;
    const values = computedTraitValuesFrom(ev);
    const rows = Object.entries(values).map(([key, value]) => ({ userId: u, key, value, confidence: 1, version: FEATURE_VERSION }));
    if (!replacementUnchanged(traits.get(u) ?? [], 'computed', FEATURE_PRODUCER, rows)) writes.computed++;
    behaviour.set(u, d.scaler ? behaviourVectorFromEvents(d.scaler, ev) : null);
  }
  const modelRows = d.models.map((m) => {
    const userIds: number[] = [];
    const rows: (number | null)[][] = [];
    let defs = null as ReturnType<typeof featureRowsFromEvents>['defs'] | null;
    for (const u of ids) {
      const f = featureRowsFromEvents(perUser.get(u) as UserEvents, m.artefact.schema);
      defs = f.defs;
      userIds.push(...f.userIds);
      rows.push(...f.rows);
    }
    return { m, userIds, x: defs ? transformRows(m.artefact.preprocessor, defs, rows) : new Float32Array() };
  });
  lap('features');

  // One batched tfjs predict per model (and its logistic-regression blend), compared with the stored prediction.
  for (const { m, userIds, x } of modelRows) {
    const a = m.artefact;
    const dim = a.preprocessor.inputs.length;
    const out = tf.tidy(() => (m.net.predict(tf.tensor2d(x, [userIds.length, dim])) as tf.Tensor).dataSync() as Float32Array);
    const probs = a.blend ? mixScores(out, predictLogReg({ weights: a.blend.logreg, iterations: 0 }, x, dim), a.blend.networkWeight) : out;
    userIds.forEach((u, i) => {
      const p = probs[i] as number;
      const yes = p >= 0.5;
      const row = { userId: u, key: a.traitKey, value: yes, confidence: Math.round((yes ? p : 1 - p) * 1000) / 1000, version: a.version };
      if (!replacementUnchanged(traits.get(u) ?? [], 'predicted', `model:${a.name}`, [row], 0.0095)) writes.predicted++;
    });
  }
  lap('predict');

  // The user vectors: text (recency-weighted mean of the signal vectors, facts folded in), behaviour, traits, items.
  const vectors = new Map<number, Float32Array>();
  for (const u of ids) {
    const sig = signalVecs.get(u) ?? [];
    const mean = new Float32Array(d.embedder.dim);
    for (const s of sig) {
      const w = recencyWeight(s.ts, d.asOf);
      for (let k = 0; k < mean.length; k++) mean[k] = (mean[k] as number) + w * (s.v[k] as number);
    }
    let norm = 0;
    for (const x of mean) norm += x * x;
    norm = Math.sqrt(norm);
    if (norm > 0) for (let k = 0; k < mean.length; k++) mean[k] = (mean[k] as number) / norm;
    const old = storedText.get(u);
    if (sig.length && (!old || old.some((x, k) => Math.abs(x - (mean[k] as number)) > 1e-6))) writes.text++;
    const current = traits.get(u) ?? [];
    const text = withFacts(sig.length ? (old ?? mean) : null, current, await embedPhrases(d.embedder, factStatements(current)));
    const tb = await traitBlock(d.embedder, current);
    const its = items.get(u);
    // In the order the item store gives them (latest first, then by id): the float sums match.
    const ordered = its ? [...its].sort(([a, x], [b, y]) => y.lastTs - x.lastTs || (a < b ? -1 : a > b ? 1 : 0)) : [];
    const ib =
      d.itemModel && its
        ? (poolUserItems(
            d.itemModel,
            ordered.map(([item, x]) => ({ item, weight: Math.log1p(x.weight) })),
          ) ?? null)
        : null;
    const composed = composeVector(d.layout, { text, behaviour: behaviour.get(u) ?? null, traits: tb, items: ib });
    if (!composed) continue;
    vectors.set(u, composed.vector);
    const stored = storedVec.get(u);
    if (!stored || !Buffer.from(composed.vector.buffer).equals(stored)) {
      writes.vectors++;
    }
  }
  lap('vectors');

  const index = new hnswlib.HierarchicalNSW('cosine', d.layout.dim);
  index.initIndex(Math.max(1, vectors.size));
  for (const [u, v] of vectors) index.addPoint(Array.from(v), u);
  lap('hnsw');

  // The changed rows, in one transaction (a steady-state pass has none or nearly none).
  const upsert = db.prepare('UPDATE user_profiles SET vector = ?, updated_at = ? WHERE user_id = ?');
  db.transaction(() => {
    for (const [u, v] of vectors) {
      const stored = storedVec.get(u);
      if (stored && !Buffer.from(v.buffer).equals(stored)) upsert.run(Buffer.from(v.buffer), Date.now(), u);
    }
  })();
  lap('write');
  db.close();
  return { seconds: (performance.now() - t0) / 1000, parts, unreadSignals: unread.length, rowsDiffering: writes };
}
