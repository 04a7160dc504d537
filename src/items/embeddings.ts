/**
 * Item embeddings learned from the users' own interactions with tfjs, two methods behind one
 * training loop (logistic loss with negative sampling, Adam, batches of (centre, positive,
 * negatives) index triples gathered from two embedding tables):
 *
 * - `item2vec` (default): skip-gram with negative sampling over baskets. A basket is one user's
 *   interactions with no gap longer than `sessionGapMs` between consecutive ones (an invoice, a
 *   visit); the centre and the positive are two different items of one basket, the negatives are
 *   drawn from the item frequency distribution raised to 0.75. Items bought together end up near.
 * - `mf`: implicit-feedback matrix factorisation (logistic, negative sampling): the centre is a
 *   user factor, the positive an item the user interacted with; the item factors are the
 *   embeddings. Items bought by the same people end up near.
 *
 * Training treats every positive interaction as one observation (the weight is for pooling and
 * popularity, not for the loss). Deterministic for a given seed and input: the tables are
 * initialised and every sample is drawn from a seeded PRNG in JS, and the input is put in a
 * canonical order first. The vectors returned are L2-normalised (cosine = dot product).
 *
 * The tfjs backend is whatever the process chose (`src/predict/backend.ts`'s `initBackend`, called
 * by the CLI, the pipeline thread and the eval); this module does not choose one.
 */
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../core/random.ts';

// The pure vector helpers live in vectors.ts (no tfjs), which ranking imports directly; re-exported here for the contract.
export { type ItemVectors, nearestItems, poolUserItems } from './vectors.ts';

export interface ItemInteractionInput {
  user: number | string;
  item: string;
  weight: number;
  ts: number;
}

export type ItemEmbeddingMethod = 'item2vec' | 'mf';
export const ITEM_EMBEDDING_METHODS: readonly ItemEmbeddingMethod[] = ['item2vec', 'mf'];

export interface TrainItemsOptions {
  dim?: number;
  epochs?: number;
  seed?: number;
  method?: ItemEmbeddingMethod | string;
  /** items seen in fewer interactions are left out (default 2) */
  minCount?: number;
  /** keep only the most frequent items (default unlimited) */
  maxItems?: number;
  /** item2vec: consecutive interactions of one user further apart than this start a new basket (default 1 h) */
  sessionGapMs?: number;
  /** item2vec: at most this many positives per item per basket and epoch (default 10) */
  window?: number;
  negatives?: number;
  learningRate?: number;
  batchSize?: number;
  /** clock for the version and the card (tests inject one) */
  now?: () => number;
  onProgress?: (p: { epoch: number; loss: number }) => void;
}

export interface TrainedItemEmbeddings {
  version: string;
  dim: number;
  items: string[];
  /** items.length × dim, row-major, every row L2-normalised */
  vectors: Float32Array;
  card: Record<string, unknown>;
}

const DEFAULTS = { dim: 32, epochs: 5, seed: 42, minCount: 2, sessionGapMs: 3_600_000, window: 10, negatives: 5, learningRate: 0.01, batchSize: 2048 };

/** FNV-1a over bytes, as 8 hex digits: a short content hash for the version. */
function fnv1a(bytes: Uint8Array, h = 0x811c9dc5): number {
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193) >>> 0;
  return h;
}

/** Vose's alias table: O(1) draws from a discrete distribution with a seeded uniform source. */
function aliasTable(weights: Float64Array): { prob: Float64Array; alias: Int32Array } {
  const n = weights.length;
  const total = weights.reduce((a, b) => a + b, 0);
  const prob = new Float64Array(n);
  const alias = new Int32Array(n);
  const scaled = Float64Array.from(weights, (w) => (w * n) / total);
  const small: number[] = [];
  const large: number[] = [];
  scaled.forEach((p, i) => (p < 1 ? small : large).push(i));
  while (small.length && large.length) {
    const s = small.pop()!;
    const l = large.pop()!;
    prob[s] = scaled[s]!;
    alias[s] = l;
    scaled[l] = scaled[l]! + scaled[s]! - 1;
    (scaled[l]! < 1 ? small : large).push(l);
  }
  for (const i of [...small, ...large]) prob[i] = 1;
  return { prob, alias };
}

function shuffleInPlace(a: Int32Array, b: Int32Array, rnd: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const ta = a[i]!;
    a[i] = a[j]!;
    a[j] = ta;
    const tb = b[i]!;
    b[i] = b[j]!;
    b[j] = tb;
  }
}

/**
 * tf.gather with its gradient written as a scatter-add: tfjs's own gather gradient needs the
 * UnsortedSegmentSum kernel, which the WASM backend lacks; ScatterNd (which sums duplicate
 * indices) exists on every backend.
 */
function gatherRows(table: tf.Variable, idx: tf.Tensor): tf.Tensor {
  const dim = table.shape[1]!;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const t = args[0] as tf.Tensor;
    return { value: tf.gather(t, idx), gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.scatterND(tf.reshape(idx, [-1, 1]), tf.reshape(dy as tf.Tensor, [-1, dim]), t.shape) };
  });
  return f(table);
}

function normaliseRows(v: Float32Array, dim: number): Float32Array {
  for (let r = 0; r < v.length / dim; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += v[r * dim + j]! ** 2;
    const n = Math.sqrt(s) || 1;
    for (let j = 0; j < dim; j++) v[r * dim + j]! /= n;
  }
  return v;
}

/**
 * Learns item embeddings from interactions (see the module comment). Throws a plain Error when
 * there is nothing to learn from (fewer than two items survive `minCount`); callers that take user
 * input check first.
 */
export async function trainItemEmbeddings(interactions: readonly ItemInteractionInput[], opts: TrainItemsOptions = {}): Promise<TrainedItemEmbeddings> {
  const started = performance.now();
  const method = (opts.method ?? 'item2vec') as string;
  if (!(ITEM_EMBEDDING_METHODS as readonly string[]).includes(method)) throw new Error(`unknown item embedding method "${method}" (use ${ITEM_EMBEDDING_METHODS.join(' or ')})`);
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as typeof DEFAULTS & TrainItemsOptions;
  const { dim, epochs, seed, negatives, batchSize } = o;
  const now = opts.now ?? Date.now;

  // Canonical order: the result must not depend on the order rows arrive in.
  const rows = interactions
    .filter((r) => typeof r.item === 'string' && r.item !== '')
    .map((r) => ({ user: String(r.user), item: r.item, ts: r.ts }))
    .sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : a.ts - b.ts || (a.item < b.item ? -1 : a.item > b.item ? 1 : 0)));

  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.item, (counts.get(r.item) ?? 0) + 1);
  let vocab = [...counts.entries()].filter(([, n]) => n >= o.minCount).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  if (o.maxItems !== undefined) vocab = vocab.slice(0, o.maxItems);
  if (vocab.length < 2) throw new Error(`not enough items to learn embeddings from (${vocab.length} with at least ${o.minCount} interactions)`);
  const items = vocab.map(([id]) => id);
  const index = new Map(items.map((id, i) => [id, i]));

  // Groups: baskets (item2vec) or users (mf), each a list of distinct item indices.
  const groups: number[][] = [];
  let prevUser: string | undefined;
  let prevTs = 0;
  let current: Set<number> | undefined;
  const flush = () => {
    if (current && current.size >= (method === 'mf' ? 1 : 2)) groups.push([...current]);
  };
  for (const r of rows) {
    const i = index.get(r.item);
    const newUser = r.user !== prevUser;
    if (newUser || (method === 'item2vec' && r.ts - prevTs > o.sessionGapMs)) {
      flush();
      current = new Set();
    }
    if (i !== undefined) current!.add(i);
    prevUser = r.user;
    prevTs = r.ts;
  }
  flush();
  if (!groups.length) throw new Error('no baskets with two or more known items to learn from');

  const rnd = mulberry32(seed);
  const freq = new Float64Array(items.length);
  for (const g of groups) for (const i of g) freq[i]! += 1;
  const neg = aliasTable(Float64Array.from(freq, (f) => Math.max(f, 1) ** 0.75));
  const drawNeg = () => {
    const k = Math.floor(rnd() * items.length);
    return rnd() < neg.prob[k]! ? k : neg.alias[k]!;
  };

  const nCentre = method === 'mf' ? groups.length : items.length;
  const init = (n: number, scale: number) => {
    const a = new Float32Array(n * dim);
    for (let i = 0; i < a.length; i++) a[i] = (rnd() * 2 - 1) * scale;
    return a;
  };
  const centreTable = tf.variable(tf.tensor2d(init(nCentre, 0.5 / dim), [nCentre, dim]), true, `items_centre_${seed}_${now()}`);
  const contextTable = tf.variable(tf.tensor2d(init(items.length, 0.5 / dim), [items.length, dim]), true, `items_context_${seed}_${now()}`);
  const optimizer = tf.train.adam(o.learningRate);

  const pairsForEpoch = (): { centre: Int32Array; pos: Int32Array } => {
    const c: number[] = [];
    const p: number[] = [];
    groups.forEach((g, gi) => {
      if (method === 'mf') {
        for (const i of g) {
          c.push(gi);
          p.push(i);
        }
        return;
      }
      for (let a = 0; a < g.length; a++) {
        if (g.length - 1 <= o.window) {
          for (let b = 0; b < g.length; b++)
            if (b !== a) {
              c.push(g[a]!);
              p.push(g[b]!);
            }
        } else {
          for (let t = 0; t < o.window; t++) {
            let b = Math.floor(rnd() * (g.length - 1));
            if (b >= a) b++;
            c.push(g[a]!);
            p.push(g[b]!);
          }
        }
      }
    });
    const centre = Int32Array.from(c);
    const pos = Int32Array.from(p);
    shuffleInPlace(centre, pos, rnd);
    return { centre, pos };
  };

  const lossCurve: number[] = [];
  let pairs = 0;
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const { centre, pos } = pairsForEpoch();
      pairs = centre.length;
      let total = 0;
      let n = 0;
      for (let s = 0; s < centre.length; s += batchSize) {
        const e = Math.min(s + batchSize, centre.length);
        const b = e - s;
        const negIdx = new Int32Array(b * negatives);
        for (let i = 0; i < negIdx.length; i++) negIdx[i] = drawNeg();
        const cT = tf.tensor1d(centre.subarray(s, e), 'int32');
        const pT = tf.tensor1d(pos.subarray(s, e), 'int32');
        const nT = tf.tensor2d(negIdx, [b, negatives], 'int32');
        const loss = optimizer.minimize(
          () => {
            const cv = gatherRows(centreTable, cT);
            const pv = gatherRows(contextTable, pT);
            const nv = gatherRows(contextTable, nT);
            const posLogit = tf.sum(tf.mul(cv, pv), 1);
            const negLogit = tf.sum(tf.mul(tf.expandDims(cv, 1), nv), 2);
            return tf.mean(tf.add(tf.softplus(tf.neg(posLogit)), tf.sum(tf.softplus(negLogit), 1))) as tf.Scalar;
          },
          true,
          [centreTable, contextTable],
        );
        total += (await loss!.data())[0]! * b;
        n += b;
        tf.dispose([cT, pT, nT, loss!]);
      }
      const mean = n ? total / n : 0;
      lossCurve.push(Math.round(mean * 10_000) / 10_000);
      opts.onProgress?.({ epoch, loss: mean });
    }
    const table = method === 'mf' ? contextTable : centreTable;
    const vectors = normaliseRows(new Float32Array(await table.data()), dim);
    const trainSeconds = (performance.now() - started) / 1000;
    const createdAt = now();
    let minTs = Infinity;
    let maxTs = -Infinity;
    for (const r of rows) {
      if (r.ts < minTs) minTs = r.ts;
      if (r.ts > maxTs) maxTs = r.ts;
    }
    const hash = fnv1a(new Uint8Array(vectors.buffer), fnv1a(new TextEncoder().encode(items.join('\n'))))
      .toString(16)
      .padStart(8, '0');
    const stamp = new Date(createdAt)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    return {
      version: `${method}-${stamp}-${hash}`,
      dim,
      items,
      vectors,
      card: {
        kind: 'item-embeddings',
        method,
        description:
          method === 'mf'
            ? 'implicit-feedback matrix factorisation (logistic loss, negative sampling); item factors, L2-normalised'
            : 'item2vec: skip-gram with negative sampling over baskets (one user, no gap over sessionGapMs); input vectors, L2-normalised',
        dim,
        epochs,
        seed,
        items: items.length,
        interactions: rows.length,
        users: new Set(rows.map((r) => r.user)).size,
        groups: groups.length,
        pairsPerEpoch: pairs,
        minCount: o.minCount,
        maxItems: o.maxItems ?? null,
        ...(method === 'item2vec' ? { sessionGapMs: o.sessionGapMs, window: o.window } : {}),
        negatives,
        learningRate: o.learningRate,
        batchSize,
        backend: tf.getBackend(),
        trainingSeconds: Math.round(trainSeconds * 100) / 100,
        lossCurve,
        dataWindow: { from: new Date(minTs).toISOString(), to: new Date(maxTs).toISOString() },
        createdAt: new Date(createdAt).toISOString(),
      },
    };
  } finally {
    centreTable.dispose();
    contextTable.dispose();
    optimizer.dispose();
  }
}
