/**
 * The pipeline's dependency floor (issue #14): the work one `refreshUsers` pass does, with the
 * dependencies only — raw better-sqlite3 statements prepared once (one per kind of data for the
 * whole population, JSON parsed once per event), the same wink-nlp offline extractor on the
 * signals the product would extract, the same offline embedder on the signals without a vector,
 * the same feature arithmetic, one batched tfjs predict per model, the same vector arithmetic, and
 * only what changed written (one transaction) and added to an in-memory hnswlib index — as the
 * product writes only changed rows and its index owner adds only those. Where the product skips
 * work after a comparison (an unchanged text vector, unchanged traits, an unchanged user vector),
 * the floor makes the same comparison and skips the same way. Events are streamed in user order
 * and each user's aggregates are computed as its last event is read (no whole-table event array
 * kept alive: the product holds one slice's events at a time).
 *
 * It returns how much work it did (users, signals extracted and embedded, predictions, vectors
 * composed, written and added) so bench/pipeline.ts can check it did the product's work.
 */
import * as tf from '@tensorflow/tfjs';
import Database from 'better-sqlite3';
import hnswlib from 'hnswlib-node';
import { effectiveConsent } from '../src/core/consent.ts';
import type { ConsentFlag, Trait } from '../src/core/types.ts';
import { interactionWeight } from '../src/db/stores/items.ts';
import type { FeatureEvent } from '../src/db/stores/features.ts';
import { featureRowsFromEvents, type UserEvents } from '../src/features/compute.ts';
import { FEATURE_PRODUCER, FEATURE_VERSION, featureDefs } from '../src/features/definitions.ts';
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
import { redactPii } from '../src/traits/redact.ts';
import type { Extractor } from '../src/traits/extractor.ts';
import type { Catalogue } from '../src/traits/catalogue.ts';
import type { TraitChange } from '../src/db/stores/traits.ts';
import { batchSignals } from '../src/traits/extract-stage.ts';
import { nextFreeRef, planFactOps, planTraitOps, typeFacts } from '../src/traits/merge.ts';
import { dropSensitive, dropSensitiveFacts, type SensitiveCategory } from '../src/traits/sensitive.ts';
import type { BlockName } from '../src/profile/vector.ts';
import type { Json, TraitKind } from '../src/core/types.ts';

export interface FloorDeps {
  /** a raw connection kept open across runs (its page cache warm, as the product's connection is after its passes) */
  db: Database.Database;
  userIds: readonly number[];
  asOf: number;
  models: readonly LoadedModel[];
  /** the product's offline extractor (pipeline.traitDeps.offline) */
  extractor: Extractor;
  embedder: Embedder;
  layout: VectorLayout;
  scaler: BehaviourScaler | null;
  itemModel: PinnedItemModel | null;
  itemProperties: readonly string[];
  defaultConsent: readonly ConsentFlag[];
  /** the trait stage's settings (the product's TraitStageDeps) */
  catalogue: Catalogue;
  batchTokens: number;
  sensitiveAllow: readonly SensitiveCategory[];
  /** users whose merges share one transaction (default 64) */
  groupUsers?: number;
}

/** How much work a pass did: the floor's and the product's must be equal (bench/pipeline.ts checks). */
export interface Work {
  /** users with profiling consent (the stages ran) */
  users: number;
  /** signals given to the extractor */
  extracted: number;
  /** signals embedded (no vector from this embedder yet) */
  embedded: number;
  /** (user, model) predictions */
  predicted: number;
  /** user vectors composed */
  composed: number;
  /** user vectors that differed from the stored ones: written, and added to the index by its owner */
  vectorsWritten: number;
}

export interface FloorResult {
  seconds: number;
  /** seconds per part */
  parts: Record<'read' | 'nlp' | 'embed' | 'features' | 'predict' | 'vectors' | 'hnsw' | 'write', number>;
  work: Work;
  /** output rows the floor found different from the stored ones (a steady-state pass: none expected) */
  rowsDiffering: { computed: number; predicted: number; text: number; vectors: number };
}

type ReplaceRow = { userId: number; key: string; value: Json; confidence: number; version: string };
const sqlValue = (v: unknown): unknown => (v === undefined || v === null ? null : typeof v === 'boolean' ? (v ? 1 : 0) : typeof v === 'object' ? JSON.stringify(v) : v);
const f32 = (b: Buffer): Float32Array => {
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
};
const sameBlocks = (old: Record<string, boolean>, now: Record<BlockName, boolean>): boolean => {
  const keys = Object.keys(now);
  return keys.length === Object.keys(old).length && keys.every((k) => old[k] === now[k as BlockName]);
};
const close = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && a.every((x, k) => Math.abs(x - (b[k] as number)) <= 1e-6);

/** The raw connection the floor runs on: WAL and the product's page cache size (src/db/connection.ts). */
export function openFloorDb(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('cache_size = -131072');
  return db;
}

export async function runFloor(d: FloorDeps): Promise<FloorResult> {
  const { db } = d;
  const parts = { read: 0, nlp: 0, embed: 0, features: 0, predict: 0, vectors: 0, hnsw: 0, write: 0 };
  let t = performance.now();
  const lap = (k: keyof typeof parts) => {
    const now = performance.now();
    parts[k] += (now - t) / 1000;
    t = now;
  };
  const t0 = t;
  const keys = [...new Set(d.models.flatMap((m) => m.artefact.schema.properties.map((p) => p.key)))];
  const work: Work = { users: 0, extracted: 0, embedded: 0, predicted: 0, composed: 0, vectorsWritten: 0 };
  const writes = { computed: 0, predicted: 0, text: 0, vectors: 0 };

  // Every statement prepared once: one per kind of data, for the whole population.
  const st = {
    users: db.prepare('SELECT id, consent, profile_version AS pv FROM users'),
    // One scan of the events for everything: the features' fields, and the text of a signal the
    // extractor has not read (unread) or the embedder has not embedded (unembedded).
    events: db.prepare(
      `SELECT e.user_id AS userId, e.id, e.ts, e.type, e.properties,
         CASE WHEN e.text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM signal_extractions s WHERE s.event_id = e.id AND s.producer = ? AND s.version = ?) THEN e.text END AS unread,
         CASE WHEN e.text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM signal_embeddings x WHERE x.event_id = e.id AND x.embedder_id = ?) THEN e.text END AS unembedded
       FROM events e ORDER BY e.user_id, e.ts, e.id`,
    ),
    traits: db.prepare(
      'SELECT user_id AS userId, id, key, value, kind, confidence, evidence, producer, version, valid_from AS validFrom FROM traits WHERE valid_to IS NULL ORDER BY user_id, kind, key, confidence DESC, id',
    ),
    signalVecs: db.prepare('SELECT s.user_id AS userId, e.ts, s.vector FROM signal_embeddings s JOIN events e ON e.id = s.event_id WHERE s.embedder_id = ?'),
    storedText: db.prepare('SELECT user_id AS userId, vector, signals FROM user_embeddings WHERE embedder_id = ?'),
    storedVec: db.prepare('SELECT user_id AS userId, vector, version, blocks, profile_version AS pv FROM user_profiles'),
    insertTrait: db.prepare('INSERT INTO traits (user_id, key, value, kind, confidence, evidence, producer, version, valid_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id'),
    closeTrait: db.prepare('UPDATE traits SET valid_to = ?, superseded_by = ? WHERE id = ?'),
    bumpVersion: db.prepare('UPDATE users SET profile_version = profile_version + 1, updated_at = ? WHERE id = ? RETURNING profile_version AS v'),
    bumpCounter: db.prepare(
      'INSERT INTO ingest_counters (metric, key, count) VALUES (?, ?, ?) ON CONFLICT (metric, key) DO UPDATE SET count = ingest_counters.count + excluded.count',
    ),
    markRead: db.prepare('INSERT INTO signal_extractions (event_id, producer, version, extracted_at) VALUES (?, ?, ?, ?) ON CONFLICT (event_id, producer, version) DO NOTHING'),
    putText: db.prepare(
      `INSERT INTO user_embeddings (user_id, embedder_id, dim, vector, signals, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (user_id, embedder_id) DO UPDATE SET dim = excluded.dim, vector = excluded.vector, signals = excluded.signals, updated_at = excluded.updated_at`,
    ),
    putSignal: db.prepare(
      `INSERT INTO signal_embeddings (event_id, user_id, embedder_id, dim, vector, created_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (event_id, embedder_id) DO UPDATE SET user_id = excluded.user_id, dim = excluded.dim, vector = excluded.vector, created_at = excluded.created_at`,
    ),
    putProfile: db.prepare(
      `INSERT INTO user_profiles (user_id, version, dim, vector, blocks, profile_version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET version = excluded.version, dim = excluded.dim, vector = excluded.vector, blocks = excluded.blocks,
         profile_version = excluded.profile_version, updated_at = max(excluded.updated_at, user_profiles.updated_at + 1)`,
    ),
  };

  // The users the stages run for: profiling consent (stored flags over the defaults), as the product checks.
  const consenting = new Set<number>();
  const profileVersion = new Map<number, number>();
  for (const r of st.users.iterate() as IterableIterator<{ id: number; consent: string | null; pv: number }>) {
    profileVersion.set(r.id, r.pv);
    if (effectiveConsent(r.consent, d.defaultConsent).profiling) consenting.add(r.id);
  }
  const wanted = new Set(d.userIds.filter((u) => consenting.has(u)));
  const traits = new Map<number, Trait[]>();
  /** A user's rows in TraitStore.current's order (kind, key, confidence DESC, id). */
  const sortRows = (l: Trait[]) =>
    l.sort((x, y) => (x.kind < y.kind ? -1 : x.kind > y.kind ? 1 : x.key < y.key ? -1 : x.key > y.key ? 1 : y.confidence - x.confidence || x.id - y.id));
  const bump = (u: number, now: number) => profileVersion.set(u, (st.bumpVersion.get(now, u) as { v: number }).v);
  /** A merge plan's changes, as the trait store applies them (inserts, closes, one profile version bump), kept in memory too. */
  const applyChanges = (u: number, changes: readonly TraitChange[], now: number, bumpVersion = true) => {
    if (!changes.length) return;
    let list = traits.get(u);
    if (!list) traits.set(u, (list = []));
    const inserted = new Map<number, number>();
    const idOf = (ref: number) => (ref > 0 ? ref : (inserted.get(ref) as number));
    for (const c of changes) {
      if (c.op === 'insert') {
        const x = c.trait;
        const id = (st.insertTrait.get(u, x.key, JSON.stringify(x.value), x.kind, x.confidence, JSON.stringify(x.evidence), x.producer, x.version, now) as { id: number }).id;
        inserted.set(c.ref, id);
        list.push({ ...x, id, validFrom: now, validTo: null, supersededBy: null } as Trait);
      } else {
        const id = idOf(c.id);
        st.closeTrait.run(now, c.supersededBy === null ? null : idOf(c.supersededBy), id);
        const k = list.findIndex((x) => x.id === id);
        if (k >= 0) list.splice(k, 1);
      }
    }
    sortRows(list);
    if (bumpVersion) bump(u, now);
  };
  /** TraitStore.replaceTraits for rows already found changed: the new row, the old one closed, one bump per user. */
  const replaceRows = (kind: TraitKind, producer: string, rows: readonly ReplaceRow[], tolerance: number) => {
    const now = Date.now();
    const changedUsers = new Set<number>();
    for (const r of rows) {
      const list = traits.get(r.userId) ?? [];
      const prev = list.find((x) => x.kind === kind && x.key === r.key && x.producer === producer);
      const changes: TraitChange[] = [];
      if (r.value === null) {
        if (!prev) continue;
        changes.push({ op: 'close', id: prev.id, supersededBy: null });
      } else {
        if (prev && prev.version === r.version && JSON.stringify(prev.value) === JSON.stringify(r.value) && Math.abs(prev.confidence - r.confidence) <= tolerance) continue;
        changes.push({ op: 'insert', ref: -1, trait: { key: r.key, value: r.value as never, kind, confidence: r.confidence, evidence: [], producer, version: r.version } });
        if (prev) changes.push({ op: 'close', id: prev.id, supersededBy: -1 });
      }
      applyChanges(r.userId, changes, now, false);
      changedUsers.add(r.userId);
    }
    // one profile version bump per user for the whole call, as replaceTraits does
    for (const u of changedUsers) bump(u, now);
  };
  work.users = wanted.size;
  lap('read');

  // The small per-user data, whole population in one read transaction.
  db.exec('BEGIN');
  for (const r of st.traits.iterate() as IterableIterator<Record<string, unknown>>) {
    const u = r.userId as number;
    if (!wanted.has(u)) continue;
    let list = traits.get(u);
    if (!list) traits.set(u, (list = []));
    list.push({ ...(r as unknown as Trait), value: JSON.parse(r.value as string), evidence: JSON.parse(r.evidence as string), validTo: null, supersededBy: null });
  }
  const textMean = new Map<number, { n: number; v: Float32Array }>();
  for (const r of st.signalVecs.iterate(d.embedder.id) as IterableIterator<{ userId: number; ts: number; vector: Buffer }>) {
    if (!wanted.has(r.userId)) continue;
    let m = textMean.get(r.userId);
    if (!m) textMean.set(r.userId, (m = { n: 0, v: new Float32Array(d.embedder.dim) }));
    const v = f32(r.vector);
    const w = recencyWeight(r.ts, d.asOf);
    for (let k = 0; k < v.length; k++) m.v[k] = (m.v[k] as number) + w * (v[k] as number);
    m.n++;
  }
  const storedText = new Map<number, { v: Float32Array; signals: number }>();
  for (const r of st.storedText.iterate(d.embedder.id) as IterableIterator<{ userId: number; vector: Buffer; signals: number }>)
    storedText.set(r.userId, { v: f32(r.vector), signals: r.signals });
  const storedVec = new Map<number, { vector: Buffer; version: string; blocks: string; pv: number }>();
  for (const r of st.storedVec.iterate() as IterableIterator<{ userId: number; vector: Buffer; version: string; blocks: string; pv: number }>) storedVec.set(r.userId, r);
  lap('read');

  // Events streamed in user order: each user's computed traits, model rows, behaviour block and
  // items as its last event is read; only those small results are kept.
  const computedChanged: ReplaceRow[][] = [];
  const modelRows = d.models.map(() => ({ userIds: [] as number[], rows: [] as (number | null)[][] }));
  const behaviour = new Map<number, Float32Array | null>();
  const items = new Map<number, Map<string, { weight: number; lastTs: number }>>();
  let cur: FeatureEvent[] = [];
  let curUser = -1;
  const finishUser = () => {
    if (curUser < 0 || !cur.length) return;
    const ev: UserEvents = { userId: curUser, asOf: d.asOf, keys, events: cur };
    const values = computedTraitValuesFrom(ev);
    const rows = Object.entries(values).map(([key, value]) => ({ userId: curUser, key, value, confidence: 1, version: FEATURE_VERSION }));
    if (!replacementUnchanged(traits.get(curUser) ?? [], 'computed', FEATURE_PRODUCER, rows)) {
      writes.computed++;
      computedChanged.push(rows);
    }
    d.models.forEach((m, i) => {
      const f = featureRowsFromEvents(ev, m.artefact.schema);
      const mr = modelRows[i] as (typeof modelRows)[number];
      mr.userIds.push(...f.userIds);
      mr.rows.push(...f.rows);
    });
    behaviour.set(curUser, d.scaler ? behaviourVectorFromEvents(d.scaler, ev) : null);
  };
  let tRead = 0;
  let tFeat = 0;
  let tick = performance.now();
  const unread: { id: number; userId: number; type: string; text: string; ts: number }[] = [];
  const toEmbed: { id: number; userId: number; text: string; ts: number }[] = [];
  // Rows as arrays (better-sqlite3's raw mode: no object per row from the driver).
  for (const [userId, id, ts, type, properties, unreadText, unembedded] of st.events.raw().iterate(d.extractor.producer, d.extractor.version, d.embedder.id) as IterableIterator<
    [number, number, number, string, string | null, string | null, string | null]
  >) {
    const r = { userId, id, ts, type, properties, unread: unreadText, unembedded };
    if (!wanted.has(r.userId)) continue;
    if (r.unread !== null) unread.push({ id: r.id, userId: r.userId, type: r.type, text: r.unread, ts: r.ts });
    if (r.unembedded !== null) toEmbed.push({ id: r.id, userId: r.userId, text: r.unembedded, ts: r.ts });
    if (r.ts > d.asOf) continue; // the features' cut-off
    if (r.userId !== curUser) {
      const a = performance.now();
      tRead += a - tick;
      finishUser();
      cur = [];
      curUser = r.userId;
      tick = performance.now();
      tFeat += tick - a;
    }
    const p = (r.properties ? JSON.parse(r.properties) : {}) as Record<string, unknown>;
    // one object shape for every event (the fields FeatureEvent has), then the models' property keys
    const o: Record<string, unknown> = {
      userId,
      id,
      ts,
      type,
      price: sqlValue(p.price),
      quantity: sqlValue(p.quantity),
      amount: sqlValue(p.amount),
      revenue: sqlValue(p.revenue),
      total: sqlValue(p.total),
      value: sqlValue(p.value),
      dwellMs: sqlValue(p.dwell_ms),
      category: sqlValue(p.category),
    };
    for (let i = 0; i < keys.length; i++) o[`p${i}`] = sqlValue(p[keys[i] as string]);
    cur.push(o as unknown as FeatureEvent);
    if (d.itemModel) {
      let name: string | undefined;
      for (const k of d.itemProperties) {
        const v = p[k];
        if (v !== undefined && v !== null && String(v) !== '') {
          name = String(v);
          break;
        }
      }
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
  const a = performance.now();
  tRead += a - tick;
  finishUser();
  cur = [];
  db.exec('COMMIT');
  tFeat += performance.now() - a;
  parts.read += tRead / 1000;
  parts.features += tFeat / 1000;
  t = performance.now();

  // The trait stage on every signal the product would extract: redacted, in the product's token
  // batches with the user's current traits and facts as context, the sensitive filter, facts typed,
  // the same merge plan, its rows written with the read marks, `groupUsers` users per transaction.
  const group = Math.max(1, d.groupUsers ?? 64);
  const producer = d.extractor.producer;
  const version = d.extractor.version;
  let inGroup = 0;
  db.exec('BEGIN');
  for (let i = 0; i < unread.length; ) {
    const u = (unread[i] as { userId: number }).userId;
    const signals = [];
    while (i < unread.length && (unread[i] as { userId: number }).userId === u) {
      const r = unread[i++] as (typeof unread)[number];
      signals.push({ eventId: r.id, type: r.type, text: redactPii(r.text).text, ts: r.ts });
    }
    for (const batch of batchSignals(signals, d.batchTokens)) {
      const cur = (traits.get(u) ?? []).filter((x) => x.kind === 'semantic' || x.kind === 'fact');
      const result = await d.extractor.extract(
        batch,
        cur.map((x) => ({ key: x.key, value: x.value as never, confidence: x.confidence, validFrom: x.validFrom })),
        { userId: u },
      );
      work.extracted += batch.length;
      const sensitive = dropSensitive(result.ops, { allow: d.sensitiveAllow });
      const sensitiveFacts = dropSensitiveFacts(result.facts ?? [], { allow: d.sensitiveAllow });
      const typed = typeFacts(sensitiveFacts.kept, d.catalogue);
      const texts = new Map(batch.map((x) => [x.eventId, x.text]));
      const now = Date.now();
      const plan = planTraitOps(cur, { userId: u, ops: [...sensitive.kept, ...typed.traitOps], signals: texts, catalogue: d.catalogue, producer, version, now });
      const facts = planFactOps(cur, { userId: u, facts: typed.facts, signals: texts, producer, version, now }, nextFreeRef(plan.changes));
      const rejected: Record<string, number> = { ...plan.result.rejected };
      if (result.invalidOps) rejected.invalid_op = (rejected.invalid_op ?? 0) + result.invalidOps;
      if (result.invalidFacts) rejected.invalid_fact = (rejected.invalid_fact ?? 0) + result.invalidFacts;
      for (const [reason, n] of Object.entries(facts.result.rejected)) rejected[`fact_${reason}`] = (rejected[`fact_${reason}`] ?? 0) + n;
      applyChanges(u, [...plan.changes, ...facts.changes], now);
      for (const [key, n] of Object.entries(rejected)) if (n) st.bumpCounter.run('traits_rejected', key, n);
      for (const [key, n] of Object.entries(sensitive.dropped)) {
        const total = n + sensitiveFacts.dropped[key as SensitiveCategory];
        if (total) st.bumpCounter.run('traits_dropped_sensitive', key, total);
      }
      for (const x of batch) st.markRead.run(x.eventId, producer, version, now);
    }
    if (++inGroup >= group) {
      db.exec('COMMIT');
      db.exec('BEGIN');
      inGroup = 0;
    }
  }
  db.exec('COMMIT');
  lap('nlp');

  // Signals without a vector: embedded in batches of 64 and written in one transaction.
  if (toEmbed.length) {
    const now = Date.now();
    const rows: { id: number; userId: number; ts: number; v: Float32Array }[] = [];
    for (let i = 0; i < toEmbed.length; i += 64) {
      const b = toEmbed.slice(i, i + 64);
      const vs = await d.embedder.embed(b.map((r) => redactPii(r.text).text));
      b.forEach((r, j) => rows.push({ id: r.id, userId: r.userId, ts: r.ts, v: vs[j] as Float32Array }));
    }
    db.transaction(() => {
      for (const r of rows) st.putSignal.run(r.id, r.userId, d.embedder.id, d.embedder.dim, Buffer.from(r.v.buffer, r.v.byteOffset, r.v.byteLength), now);
    })();
    work.embedded = rows.length;
    // the new vectors join the user's recency-weighted sum, as the product's mean reads them back
    for (const r of rows) {
      let m = textMean.get(r.userId);
      if (!m) textMean.set(r.userId, (m = { n: 0, v: new Float32Array(d.embedder.dim) }));
      const w = recencyWeight(r.ts, d.asOf);
      for (let k = 0; k < r.v.length; k++) m.v[k] = (m.v[k] as number) + w * (r.v[k] as number);
      m.n++;
    }
  }
  lap('embed');

  // The text vector: the recency-weighted mean, L2-normalised; kept when close to the stored one (the product's rule).
  const text = new Map<number, Float32Array | null>();
  const textChanged: [number, Float32Array, number][] = [];
  for (const u of wanted) {
    const m = textMean.get(u);
    if (!m) {
      // no signal: the product keeps (or first stores) an empty text vector; the profile reads the stored one
      text.set(u, storedText.get(u)?.v ?? null);
      continue;
    }
    let norm = 0;
    for (const x of m.v) norm += x * x;
    norm = Math.sqrt(norm);
    if (norm > 0) for (let k = 0; k < m.v.length; k++) m.v[k] = (m.v[k] as number) / norm;
    const old = storedText.get(u);
    if (old && old.signals === m.n && close(old.v, m.v)) text.set(u, old.v);
    else {
      writes.text++;
      textChanged.push([u, m.v, m.n]);
      text.set(u, m.v);
    }
  }
  if (textChanged.length) {
    const now = Date.now();
    db.transaction(() => {
      for (const [u, v, n] of textChanged) st.putText.run(u, d.embedder.id, d.embedder.dim, Buffer.from(v.buffer, v.byteOffset, v.byteLength), n, now);
    })();
  }
  lap('vectors');

  // The computed traits that changed, in one transaction.
  if (computedChanged.length) db.transaction(() => replaceRows('computed', FEATURE_PRODUCER, computedChanged.flat(), 0))();
  lap('features');

  // One batched tfjs predict per model (and its logistic-regression blend), compared with the stored
  // prediction; the changed ones written in one transaction per model.
  d.models.forEach((m, i) => {
    const changedRows: ReplaceRow[] = [];
    const { userIds, rows } = modelRows[i] as (typeof modelRows)[number];
    if (!userIds.length) return;
    const a = m.artefact;
    const dim = a.preprocessor.inputs.length;
    const x = transformRows(a.preprocessor, featureDefs(a.schema), rows);
    const out = tf.tidy(() => (m.net.predict(tf.tensor2d(x, [userIds.length, dim])) as tf.Tensor).dataSync() as Float32Array);
    const probs = a.blend ? mixScores(out, predictLogReg({ weights: a.blend.logreg, iterations: 0 }, x, dim), a.blend.networkWeight) : out;
    userIds.forEach((u, j) => {
      const p = probs[j] as number;
      const yes = p >= 0.5;
      const row = { userId: u, key: a.traitKey, value: yes, confidence: Math.round((yes ? p : 1 - p) * 1000) / 1000, version: a.version };
      if (!replacementUnchanged(traits.get(u) ?? [], 'predicted', `model:${a.name}`, [row], 0.0095)) {
        writes.predicted++;
        changedRows.push(row);
      }
    });
    if (changedRows.length) db.transaction(() => replaceRows('predicted', `model:${a.name}`, changedRows, 0.0095))();
    work.predicted += userIds.length;
  });
  lap('predict');

  // The user vectors: text (facts folded in), behaviour, traits, items; compared bit for bit with the stored one.
  const changed: { u: number; v: Float32Array; blocks: string; pv: number }[] = [];
  for (const u of wanted) {
    const current = traits.get(u) ?? [];
    const tv = withFacts(text.get(u) ?? null, current, await embedPhrases(d.embedder, factStatements(current)));
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
    const composed = composeVector(d.layout, { text: tv, behaviour: behaviour.get(u) ?? null, traits: tb, items: ib });
    if (!composed) continue;
    work.composed++;
    // the product's sameProfile: layout version, profile version, the vector bit for bit, the blocks present
    const stored = storedVec.get(u);
    const pv = profileVersion.get(u) as number;
    const blocks = JSON.stringify(composed.present);
    const same =
      stored &&
      stored.version === d.layout.version &&
      stored.pv === pv &&
      Buffer.from(composed.vector.buffer, composed.vector.byteOffset, composed.vector.byteLength).equals(stored.vector) &&
      sameBlocks(JSON.parse(stored.blocks) as Record<string, boolean>, composed.present);
    if (!same) changed.push({ u, v: composed.vector, blocks, pv });
  }
  writes.vectors = changed.length;
  work.vectorsWritten = changed.length;
  lap('vectors');

  // The changed rows, in one transaction (a steady-state pass has none), and the index adds for them only.
  if (changed.length) {
    const now = Date.now();
    db.transaction(() => {
      for (const { u, v, blocks, pv } of changed) st.putProfile.run(u, d.layout.version, v.length, Buffer.from(v.buffer, v.byteOffset, v.byteLength), blocks, pv, now);
    })();
  }
  lap('write');
  const index = new hnswlib.HierarchicalNSW('cosine', d.layout.dim);
  index.initIndex(Math.max(1, changed.length));
  for (const { u, v } of changed) index.addPoint(Array.from(v), u);
  lap('hnsw');
  return { seconds: (performance.now() - t0) / 1000, parts, work, rowsDiffering: writes };
}
