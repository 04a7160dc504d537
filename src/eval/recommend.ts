/**
 * `traitlens eval recommend --dataset online-retail-items`: recommendations measured on UCI Online
 * Retail at line-item level with a time split.
 *
 * - Purchases: lines with a CustomerID, not a cancellation (InvoiceNo starting with "C"), quantity
 *   > 0 (the dataset README's definition). An item is a StockCode; a user's weight for an item is
 *   the number of lines.
 * - Split at 2011-09-01 (UTC): history = purchases before, target = the distinct items each customer
 *   bought on or after; users = customers with purchases on both sides.
 * - Metrics over those users: recall@10 (hits / target items) and NDCG@10 (binary relevance, ideal =
 *   min(|target|, 10) hits at the top), means over users.
 * - Three rankers, the same users, the same history, the same metric code: popularity (lines per
 *   item before the cut-off), item-kNN (cosine of binary user-item co-occurrence, summed over the
 *   user's items) and ours: `rankRecommendations` (src/recommend/rank.ts, the code the service runs)
 *   over item embeddings trained on the history (src/items/embeddings.ts). The users of the eval
 *   have no text profiles, so "similar users" are the nearest users by the pooled item-embedding
 *   vector (poolUserItems), not the full profile vector the service uses.
 * - Everything chosen (embedding method, blend weights, neighbours) is chosen on a validation
 *   window carved from the training period only (history before 2011-06-01, targets 2011-06-01 to
 *   2011-08-31); the test window is touched once, by the chosen configuration.
 * - Owned items: excluded or kept (re-buying is common in retail); both are measured, each with
 *   the baselines under the same setting; `excludeOwned` picks the headline.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { NotFoundError, ValidationError } from '../core/errors.ts';
import { mulberry32 } from '../core/random.ts';
import { nearestItems, poolUserItems, trainItemEmbeddings, type ItemEmbeddingMethod, type TrainedItemEmbeddings } from '../items/embeddings.ts';
import { initBackend } from '../predict/backend.ts';
import { candidates, rankRecommendations, type BlendWeights, type Candidate, type RankInput } from '../recommend/rank.ts';

export const RECOMMEND_DATASETS = ['online-retail-items'] as const;
export type RecommendDataset = (typeof RECOMMEND_DATASETS)[number];

export const TEST_CUTOFF = Date.UTC(2011, 8, 1);
export const VALIDATION_CUTOFF = Date.UTC(2011, 5, 1);
const K = 10;
const DAY = 86_400_000;

export interface Purchase {
  customer: string;
  item: string;
  ts: number;
  invoice: string;
}

/** Items → titles (the first non-empty description seen). */
export type Titles = Map<string, string>;

/** Parses "YYYY-MM-DD HH:MM:SS" (also "YYYY-MM-DDTHH:MM:SS") as UTC; NaN when malformed. */
function parseTime(s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(s.trim());
  if (!m) return Number.NaN;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
}

/**
 * The purchases of an Online Retail CSV text (header InvoiceNo,StockCode,Description,Quantity,
 * InvoiceDate,UnitPrice,CustomerID,Country): cancellations, lines without a customer and
 * non-positive quantities dropped.
 */
/** One CSV record's fields (RFC 4180 quoting; no newlines inside fields, which this dataset has none of). */
function csvFields(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) {
          v += line.slice(i);
          i = line.length;
          break;
        }
        v += line.slice(i, q);
        if (line[q + 1] === '"') {
          v += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      out.push(v);
      i = line.indexOf(',', i) < 0 ? line.length + 1 : line.indexOf(',', i) + 1;
    } else {
      const c = line.indexOf(',', i);
      out.push(line.slice(i, c < 0 ? line.length : c));
      i = c < 0 ? line.length + 1 : c + 1;
    }
  }
  return out;
}

const COLUMNS = ['InvoiceNo', 'StockCode', 'Description', 'Quantity', 'InvoiceDate', 'UnitPrice', 'CustomerID', 'Country'] as const;

/**
 * The purchases of an Online Retail CSV text (header InvoiceNo,StockCode,Description,Quantity,
 * InvoiceDate,UnitPrice,CustomerID,Country): cancellations, lines without a customer and
 * non-positive quantities dropped.
 */
export function parseOnlineRetailPurchases(text: string): { purchases: Purchase[]; titles: Titles; lines: number; dropped: Record<string, number> } {
  const lines = text.split(/\r?\n/);
  const header = csvFields(lines[0]?.replace(/^\uFEFF/, '') ?? '').map((h) => h.trim());
  const col = Object.fromEntries(COLUMNS.map((c) => [c, header.indexOf(c)])) as Record<(typeof COLUMNS)[number], number>;
  if (col.InvoiceNo < 0 || col.StockCode < 0 || col.CustomerID < 0 || col.InvoiceDate < 0 || col.Quantity < 0)
    throw new ValidationError(`not an Online Retail CSV (header needs ${COLUMNS.join(', ')})`);
  const purchases: Purchase[] = [];
  const titles: Titles = new Map();
  const dropped = { cancellation: 0, no_customer: 0, non_positive_quantity: 0, bad_row: 0 };
  let n = 0;
  for (let li = 1; li < lines.length; li++) {
    const line = lines[li]!;
    if (!line.trim()) continue;
    n++;
    const f = csvFields(line);
    const invoice = (f[col.InvoiceNo] ?? '').trim();
    const item = (f[col.StockCode] ?? '').trim();
    const ts = parseTime(f[col.InvoiceDate] ?? '');
    const customerId = (f[col.CustomerID] ?? '').trim();
    if (!invoice || !item || Number.isNaN(ts)) dropped.bad_row++;
    else if (invoice.toUpperCase().startsWith('C')) dropped.cancellation++;
    else if (!customerId) dropped.no_customer++;
    else if (!(Number(f[col.Quantity]) > 0)) dropped.non_positive_quantity++;
    else {
      // CustomerID is written "17850" or "17850.0" depending on the export.
      const customer = Number.isNaN(Number(customerId)) ? customerId : String(Number(customerId));
      purchases.push({ customer, item, ts, invoice });
      const d = col.Description >= 0 ? (f[col.Description] ?? '').trim() : '';
      if (d && !titles.has(item)) titles.set(item, d);
    }
  }
  return { purchases, titles, lines: n, dropped };
}

export function readOnlineRetailPurchases(dataDir: string): ReturnType<typeof parseOnlineRetailPurchases> {
  const dir = join(dataDir, 'online-retail-items');
  for (const name of ['online_retail.csv.gz', 'online_retail.csv']) {
    let buf: Buffer;
    try {
      buf = readFileSync(join(dir, name));
    } catch {
      continue;
    }
    return parseOnlineRetailPurchases((name.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8'));
  }
  throw new NotFoundError(`dataset file not found: ${join(dir, 'online_retail.csv.gz')}`, { path: dir });
}

export interface Split {
  cutoff: number;
  /** purchases before the cut-off (everyone's: the training data) */
  history: Purchase[];
  /** customers with purchases on both sides, sorted */
  users: string[];
  /** each user's distinct items on or after the cut-off (up to `until`) */
  targets: Map<string, Set<string>>;
  /** each customer's items before the cut-off → number of lines */
  owned: Map<string, Map<string, number>>;
}

/** The time split: history before `cutoff`, targets in [cutoff, until). */
export function timeSplit(purchases: readonly Purchase[], cutoff: number, until = Number.POSITIVE_INFINITY): Split {
  const history = purchases.filter((p) => p.ts < cutoff);
  const owned = new Map<string, Map<string, number>>();
  for (const p of history) {
    let m = owned.get(p.customer);
    if (!m) owned.set(p.customer, (m = new Map()));
    m.set(p.item, (m.get(p.item) ?? 0) + 1);
  }
  const targets = new Map<string, Set<string>>();
  for (const p of purchases) {
    if (p.ts < cutoff || p.ts >= until || !owned.has(p.customer)) continue;
    let s = targets.get(p.customer);
    if (!s) targets.set(p.customer, (s = new Set()));
    s.add(p.item);
  }
  const users = [...targets.keys()].sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : 1));
  return { cutoff, history, users, targets, owned };
}

export function recallAt(ranked: readonly string[], target: ReadonlySet<string>, k = K): number {
  if (!target.size) return 0;
  let hits = 0;
  for (const item of ranked.slice(0, k)) if (target.has(item)) hits++;
  return hits / target.size;
}

export function ndcgAt(ranked: readonly string[], target: ReadonlySet<string>, k = K): number {
  if (!target.size) return 0;
  let dcg = 0;
  ranked.slice(0, k).forEach((item, i) => {
    if (target.has(item)) dcg += 1 / Math.log2(i + 2);
  });
  let ideal = 0;
  for (let i = 0; i < Math.min(k, target.size); i++) ideal += 1 / Math.log2(i + 2);
  return dcg / ideal;
}

export interface Figures {
  users: number;
  recall_at_10: number;
  ndcg_at_10: number;
}

const r4 = (x: number) => Math.round(x * 10_000) / 10_000;

/** Mean recall@10 and NDCG@10 of a ranker over the split's users. */
export function score(split: Split, rank: (user: string) => readonly string[]): Figures {
  return summarise(perUser(split, rank));
}

/** Per-user recall@10 and NDCG@10, in the split's user order. */
export function perUser(split: Split, rank: (user: string) => readonly string[]): { recall: Float64Array; ndcg: Float64Array } {
  const recall = new Float64Array(split.users.length);
  const ndcg = new Float64Array(split.users.length);
  split.users.forEach((u, i) => {
    const ranked = rank(u);
    const t = split.targets.get(u)!;
    recall[i] = recallAt(ranked, t);
    ndcg[i] = ndcgAt(ranked, t);
  });
  return { recall, ndcg };
}

const mean = (a: Float64Array) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : 0);

function summarise(p: { recall: Float64Array; ndcg: Float64Array }): Figures {
  return { users: p.recall.length, recall_at_10: r4(mean(p.recall)), ndcg_at_10: r4(mean(p.ndcg)) };
}

export interface PairedDifference {
  /** mean over users of (a − b) */
  diff: number;
  /** 95 % paired bootstrap interval of the mean difference (users resampled, 1,000 draws, seeded) */
  ci95: [number, number];
  /** users where a scored higher / lower than b */
  wins: number;
  losses: number;
}

/** Paired comparison of two rankers' per-user figures on the same users. */
export function pairedDifference(a: Float64Array, b: Float64Array, seed = 1, draws = 1000): PairedDifference {
  const n = a.length;
  const d = Float64Array.from(a, (x, i) => x - b[i]!);
  const rnd = mulberry32(seed);
  const means: number[] = [];
  for (let k = 0; k < draws; k++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += d[Math.floor(rnd() * n)]!;
    means.push(s / (n || 1));
  }
  means.sort((x, y) => x - y);
  let wins = 0;
  let losses = 0;
  for (const x of d) {
    if (x > 0) wins++;
    else if (x < 0) losses++;
  }
  const q = (p: number) => r4(means[Math.min(draws - 1, Math.floor(p * draws))]!);
  return { diff: r4(mean(d)), ci95: [q(0.025), q(0.975)], wins, losses };
}

/** Lines per item in the history (only the last `days` before `cutoff` when given). */
export function popularityOf(history: readonly Purchase[], recent?: { cutoff: number; days: number }): Map<string, number> {
  const since = recent ? recent.cutoff - recent.days * DAY : Number.NEGATIVE_INFINITY;
  const pop = new Map<string, number>();
  for (const p of history) if (p.ts >= since) pop.set(p.item, (pop.get(p.item) ?? 0) + 1);
  return pop;
}

/** Each customer's items weighted by recency: Σ over lines of 0.5^(age / half-life); plain line counts without a half-life. */
export function ownedWeights(split: Split, halfLifeDays?: number): Map<string, Map<string, number>> {
  if (!halfLifeDays) return split.owned;
  const out = new Map<string, Map<string, number>>();
  for (const p of split.history) {
    let m = out.get(p.customer);
    if (!m) out.set(p.customer, (m = new Map()));
    m.set(p.item, (m.get(p.item) ?? 0) + 0.5 ** ((split.cutoff - p.ts) / (halfLifeDays * DAY)));
  }
  return out;
}

/** Baseline: the most popular items, the user's own left out when excluding owned. */
export function popularityRanker(split: Split, excludeOwned: boolean, k = K): (user: string) => string[] {
  const ordered = [...popularityOf(split.history).entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([i]) => i);
  return (user) => {
    const own = split.owned.get(user);
    const out: string[] = [];
    for (const item of ordered) {
      if (out.length >= k) break;
      if (excludeOwned && own?.has(item)) continue;
      out.push(item);
    }
    return out;
  };
}

/**
 * Baseline: item-kNN with cosine co-occurrence. sim(i, j) = |U_i ∩ U_j| / sqrt(|U_i| |U_j|) over
 * binary user-item history; a candidate's score is the sum of its similarities to the user's items
 * (ties by popularity, then id).
 */
export function itemKnnRanker(split: Split, excludeOwned: boolean, k = K): (user: string) => string[] {
  const items = [...popularityOf(split.history).entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([i]) => i);
  const index = new Map(items.map((id, i) => [id, i]));
  const n = items.length;
  const co = new Float32Array(n * n);
  const users = new Float64Array(n);
  for (const own of split.owned.values()) {
    const idx = [...own.keys()].map((i) => index.get(i)!);
    for (const a of idx) {
      users[a]! += 1;
      for (const b of idx) if (a !== b) co[a * n + b]! += 1;
    }
  }
  for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) if (co[a * n + b]) co[a * n + b] = co[a * n + b]! / Math.sqrt(users[a]! * users[b]!);
  return (user) => {
    const own = split.owned.get(user) ?? new Map<string, number>();
    const s = new Float64Array(n);
    for (const item of own.keys()) {
      const a = index.get(item)!;
      for (let b = 0; b < n; b++) s[b]! += co[a * n + b]!;
    }
    const order: number[] = [];
    for (let b = 0; b < n; b++) if (!(excludeOwned && own.has(items[b]!))) order.push(b);
    // items are in popularity order, so a stable sort by score breaks ties by popularity
    return order
      .sort((x, y) => s[y]! - s[x]!)
      .slice(0, k)
      .map((b) => items[b]!);
  };
}

export interface OursConfig {
  method: ItemEmbeddingMethod;
  dim: number;
  epochs: number;
  /** similar users per user */
  neighbours: number;
  /** the popular signal counts the last this many days of history (undefined: all of it) */
  popularityDays?: number;
  /** the user's item weights decay with this half-life (undefined: line counts) */
  halfLifeDays?: number;
}

/** What ours needs per split: the embeddings, their neighbour lists, the users' pooled vectors. */
export interface OursState {
  model: TrainedItemEmbeddings;
  owned: Map<string, Map<string, number>>;
  itemNeighbours: (item: string) => readonly { item: string; score: number }[];
  /** user → nearest users by pooled item vector (desc) */
  nearestUsers: (user: string, n: number) => { user: string; sim: number }[];
  popularity: Map<string, number>;
}

export function trainOn(split: Split, cfg: Pick<OursConfig, 'method' | 'dim' | 'epochs'>, seed: number, log: (m: string) => void): Promise<TrainedItemEmbeddings> {
  return trainItemEmbeddings(
    split.history.map((p) => ({ user: p.customer, item: p.item, weight: 1, ts: p.ts })),
    { method: cfg.method, dim: cfg.dim, epochs: cfg.epochs, seed, onProgress: (p) => log(`  ${cfg.method} epoch ${p.epoch}: loss ${p.loss.toFixed(4)}`) },
  );
}

export function stateFor(split: Split, model: TrainedItemEmbeddings, cfg: Pick<OursConfig, 'popularityDays' | 'halfLifeDays'>): OursState {
  const per = 50;
  const cache = new Map<string, readonly { item: string; score: number }[]>();
  const itemNeighbours = (item: string) => {
    let ns = cache.get(item);
    if (!ns) cache.set(item, (ns = nearestItems(model, item, per)));
    return ns;
  };
  const owned = ownedWeights(split, cfg.halfLifeDays);
  const dim = model.dim;
  const vecs = new Map<string, Float32Array>();
  for (const c of [...owned.keys()].sort()) {
    const v = poolUserItems(
      model,
      [...owned.get(c)!.entries()].map(([item, weight]) => ({ item, weight })),
    );
    if (v) vecs.set(c, v);
  }
  const pooled = [...vecs.entries()];
  const nearestUsers = (user: string, n: number) => {
    const me = vecs.get(user);
    if (!me) return [];
    const out: { user: string; sim: number }[] = [];
    for (const [other, v] of pooled) {
      if (other === user) continue;
      let s = 0;
      for (let j = 0; j < dim; j++) s += me[j]! * v[j]!;
      out.push({ user: other, sim: s });
    }
    return out.sort((a, b) => b.sim - a.sim || (a.user < b.user ? -1 : 1)).slice(0, n);
  };
  const popularity = popularityOf(split.history, cfg.popularityDays ? { cutoff: split.cutoff, days: cfg.popularityDays } : undefined);
  return { model, owned, itemNeighbours, nearestUsers, popularity };
}

/** The ranking input of one user: what the service gives rank.ts, built from the split. */
export function userRankInput(split: Split, st: OursState, user: string, neighbours: number, excludeOwned: boolean): RankInput {
  const owned = st.owned.get(user) ?? new Map<string, number>();
  const neighbourItems: { item: string; score: number; via: string }[] = [];
  for (const { user: other, sim } of st.nearestUsers(user, neighbours)) for (const item of split.owned.get(other)!.keys()) neighbourItems.push({ item, score: sim, via: other });
  return { owned, embeddings: st.model, itemNeighbours: st.itemNeighbours, neighbourItems, popularity: st.popularity, k: K, excludeOwned };
}

/** A user's candidates as arrays in item-id order, so a blend's top 10 needs no objects and no sort. */
interface Packed {
  items: string[];
  bw: Float64Array;
  su: Float64Array;
  pop: Float64Array;
  bb: Float64Array;
}

function pack(cands: readonly Candidate[]): Packed {
  const c = [...cands].sort((a, b) => (a.item < b.item ? -1 : a.item > b.item ? 1 : 0));
  return {
    items: c.map((x) => x.item),
    bw: Float64Array.from(c, (x) => x.boughtWith),
    su: Float64Array.from(c, (x) => x.similarUsers),
    pop: Float64Array.from(c, (x) => x.popular),
    bb: Float64Array.from(c, (x) => x.boughtBefore),
  };
}

/** The top k of a blend over packed candidates: the same order as rank.ts's blend (score desc, then item id; score > 0). */
function packedTop(p: Packed, w: BlendWeights, k = K): string[] {
  const topS: number[] = [];
  const topI: number[] = [];
  for (let i = 0; i < p.items.length; i++) {
    const s = w.boughtWith * p.bw[i]! + w.similarUsers * p.su[i]! + w.popular * p.pop[i]! + w.boughtBefore * p.bb[i]!;
    if (!(s > 0) || (topS.length === k && s <= topS[k - 1]!)) continue;
    // insert after every equal-or-better score (earlier ids win ties)
    let j = topS.length;
    while (j > 0 && topS[j - 1]! < s) j--;
    topS.splice(j, 0, s);
    topI.splice(j, 0, i);
    if (topS.length > k) {
      topS.pop();
      topI.pop();
    }
  }
  return topI.map((i) => p.items[i]!);
}

/** packedTop over unpacked candidates (the tuner's ranking, for the test that it matches rank.ts). */
export const packedTopForTest = (cands: readonly Candidate[], w: BlendWeights): string[] => packedTop(pack(cands), w);

const GRID = { similarUsers: [0, 0.25, 0.5, 1, 2], popular: [0, 0.1, 0.25, 0.5, 1, 2, 4], boughtBefore: [1, 2, 4, 8] } as const;
/** Kept owned items: a smaller grid (four times as many blends otherwise). */
const GRID_KEPT = { similarUsers: [0, 0.25, 1], popular: [0, 0.25, 1, 2, 4] } as const;

/**
 * Grid search of the blend on precomputed candidates (best mean NDCG@10, then recall@10). The
 * blend is scale-free, so bought_with's weight is 1 (or 0 with similar users at 1).
 */
export function tuneBlend(split: Split, cands: Map<string, Candidate[]>, excludeOwned: boolean): { weights: BlendWeights; figures: Figures } {
  const packed = new Map([...cands].map(([u, c]) => [u, pack(c)]));
  const grid: BlendWeights[] = [];
  const g = excludeOwned ? GRID : GRID_KEPT;
  for (const boughtBefore of excludeOwned ? [0] : GRID.boughtBefore)
    for (const popular of g.popular) {
      for (const similarUsers of g.similarUsers) grid.push({ boughtWith: 1, similarUsers, popular, boughtBefore });
      grid.push({ boughtWith: 0, similarUsers: 1, popular, boughtBefore });
    }
  let best: { weights: BlendWeights; figures: Figures } | undefined;
  for (const weights of grid) {
    const figures = score(split, (u) => packedTop(packed.get(u)!, weights));
    if (!best || figures.ndcg_at_10 > best.figures.ndcg_at_10 || (figures.ndcg_at_10 === best.figures.ndcg_at_10 && figures.recall_at_10 > best.figures.recall_at_10))
      best = { weights, figures };
  }
  return best!;
}

/** One tuned configuration of ours (chosen on validation). */
export interface Variant {
  popularityDays?: number;
  halfLifeDays?: number;
}

export interface SettingResult {
  exclude_owned: boolean;
  users: number;
  recall_at_10: number;
  ndcg_at_10: number;
  popularity: Figures;
  item_knn: Figures;
  /** ours minus the baseline, per user, with a paired bootstrap interval */
  vs_item_knn: { recall_at_10: PairedDifference; ndcg_at_10: PairedDifference };
  vs_popularity: { recall_at_10: PairedDifference; ndcg_at_10: PairedDifference };
  /** chosen on validation for this setting */
  weights: BlendWeights;
  variant: Variant;
  validation: { ours: Figures; popularity: Figures; item_knn: Figures };
}

export interface RecommendEvalResult {
  dataset: RecommendDataset;
  /** the headline setting's figures */
  users: number;
  recall_at_10: number;
  ndcg_at_10: number;
  popularity: Figures;
  item_knn: Figures;
  exclude_owned: boolean;
  settings: SettingResult[];
  split: { cutoff: string; validation_cutoff: string; history_purchases: number; test_users: number; validation_users: number };
  data: { lines: number; purchases: number; dropped: Record<string, number>; customers: number; items: number };
  /** validation figures of every method × variant tried (tuned blend), per owned-items setting */
  tuning: { method: ItemEmbeddingMethod; variant: Variant; exclude_owned: boolean; weights: BlendWeights; figures: Figures }[];
  method: { chosen: ItemEmbeddingMethod; dim: number; epochs: number; neighbours: number };
  card: Record<string, unknown>;
  reference: { source: string; popularity_excluding_owned: { users: number; recall_at_10: number; ndcg_at_10: number } };
  user_vectors: string;
  backend: string;
  seconds: Record<string, number>;
}

export interface RecommendEvalOptions {
  dataset: RecommendDataset;
  dataDir: string;
  /** the headline setting (both are measured) */
  excludeOwned: boolean;
  /** embedding methods compared on validation (default mf only; docs/eval-recommend.md has the comparison) */
  methods?: readonly ItemEmbeddingMethod[];
  dim?: number;
  epochs?: number;
  neighbours?: number;
  variants?: readonly Variant[];
  seed?: number;
  cutoff?: number;
  validationCutoff?: number;
  log?: (m: string) => void;
}

/** Epochs per method: MF sees each (user, item) pair once an epoch, item2vec ~6x more pairs. */
const EPOCHS: Record<ItemEmbeddingMethod, number> = { mf: 10, item2vec: 3 };
const DEFAULT_VARIANTS: readonly Variant[] = [{}, { popularityDays: 30 }];

const better = (a: Figures, b: Figures | undefined) => !b || a.ndcg_at_10 > b.ndcg_at_10 || (a.ndcg_at_10 === b.ndcg_at_10 && a.recall_at_10 > b.recall_at_10);

export async function runRecommendEval(opts: RecommendEvalOptions): Promise<RecommendEvalResult> {
  const log = opts.log ?? (() => {});
  const t0 = performance.now();
  let tLap = t0;
  const lap = () => {
    const now = performance.now();
    const s = Math.round((now - tLap) / 100) / 10;
    tLap = now;
    return s;
  };
  const seconds: Record<string, number> = {};
  const backend = await initBackend({ log });
  const cutoff = opts.cutoff ?? TEST_CUTOFF;
  const vCutoff = opts.validationCutoff ?? VALIDATION_CUTOFF;
  const seed = opts.seed ?? 42;
  const dim = opts.dim ?? 32;
  const methods = opts.methods ?? ['mf'];
  const neighbours = opts.neighbours ?? 50;
  const variants = opts.variants ?? DEFAULT_VARIANTS;
  const epochsOf = (m: ItemEmbeddingMethod) => opts.epochs ?? EPOCHS[m];
  const settingsOrder = [true, false] as const;

  const data = readOnlineRetailPurchases(opts.dataDir);
  seconds.load = lap();
  log(`${data.purchases.length} purchases from ${data.lines} lines`);

  // Validation: only the training period (before the test cut-off) is visible.
  const val = timeSplit(
    data.purchases.filter((p) => p.ts < cutoff),
    vCutoff,
    cutoff,
  );
  log(`validation: ${val.users.length} users, history before ${new Date(vCutoff).toISOString().slice(0, 10)}`);
  const valBase = new Map(settingsOrder.map((ex) => [ex, { popularity: score(val, popularityRanker(val, ex)), item_knn: score(val, itemKnnRanker(val, ex)) }]));
  const tuning: RecommendEvalResult['tuning'] = [];
  for (const method of methods) {
    log(`validation: training ${method}`);
    const model = await trainOn(val, { method, dim, epochs: epochsOf(method) }, seed, log);
    for (const variant of variants) {
      const st = stateFor(val, model, variant);
      for (const ex of settingsOrder) {
        const cands = new Map(val.users.map((u) => [u, candidates(userRankInput(val, st, u, neighbours, ex))]));
        const t = tuneBlend(val, cands, ex);
        tuning.push({ method, variant, exclude_owned: ex, ...t });
        log(`validation ${method} ${JSON.stringify(variant)} exclude_owned=${ex}: ${JSON.stringify(t)}`);
      }
    }
  }
  seconds.validation = lap();
  const pick = (ex: boolean, method?: ItemEmbeddingMethod) => {
    let best: (typeof tuning)[number] | undefined;
    for (const t of tuning) if (t.exclude_owned === ex && (!method || t.method === method) && better(t.figures, best?.figures)) best = t;
    if (!best) throw new ValidationError('no configuration to evaluate');
    return best;
  };
  // The method is chosen on the headline setting; each setting then takes its best variant and blend.
  const method = pick(opts.excludeOwned).method;

  // Test: retrain the chosen method on the whole training period, evaluate once.
  const test = timeSplit(data.purchases, cutoff);
  log(`test: ${test.users.length} users; training ${method} on ${test.history.length} purchases`);
  const model = await trainOn(test, { method, dim, epochs: epochsOf(method) }, seed, log);
  seconds.train = lap();
  const settings: SettingResult[] = [];
  for (const ex of settingsOrder) {
    const chosen = pick(ex, method);
    const st = stateFor(test, model, chosen.variant);
    const ours = perUser(test, (u) => rankRecommendations({ ...userRankInput(test, st, u, neighbours, ex), weights: chosen.weights }).map((r) => r.item));
    const pop = perUser(test, popularityRanker(test, ex));
    const knn = perUser(test, itemKnnRanker(test, ex));
    settings.push({
      exclude_owned: ex,
      ...summarise(ours),
      popularity: summarise(pop),
      item_knn: summarise(knn),
      vs_item_knn: { recall_at_10: pairedDifference(ours.recall, knn.recall), ndcg_at_10: pairedDifference(ours.ndcg, knn.ndcg) },
      vs_popularity: { recall_at_10: pairedDifference(ours.recall, pop.recall), ndcg_at_10: pairedDifference(ours.ndcg, pop.ndcg) },
      weights: chosen.weights,
      variant: chosen.variant,
      validation: { ours: chosen.figures, ...valBase.get(ex)! },
    });
  }
  seconds.test = lap();
  seconds.total = Math.round((performance.now() - t0) / 100) / 10;
  const head = settings.find((x) => x.exclude_owned === opts.excludeOwned)!;
  return {
    dataset: opts.dataset,
    users: head.users,
    recall_at_10: head.recall_at_10,
    ndcg_at_10: head.ndcg_at_10,
    popularity: head.popularity,
    item_knn: head.item_knn,
    exclude_owned: opts.excludeOwned,
    settings,
    split: {
      cutoff: new Date(cutoff).toISOString(),
      validation_cutoff: new Date(vCutoff).toISOString(),
      history_purchases: test.history.length,
      test_users: test.users.length,
      validation_users: val.users.length,
    },
    data: {
      lines: data.lines,
      purchases: data.purchases.length,
      dropped: data.dropped,
      customers: new Set(data.purchases.map((p) => p.customer)).size,
      items: new Set(data.purchases.map((p) => p.item)).size,
    },
    tuning,
    method: { chosen: method, dim, epochs: epochsOf(method), neighbours },
    card: model.card,
    reference: {
      source: '../shared/datasets/README.md (popularity, excluding items the customer already bought)',
      popularity_excluding_owned: { users: 1952, recall_at_10: 0.012, ndcg_at_10: 0.0492 },
    },
    user_vectors: 'the eval has no text profiles: "similar users" are the nearest users by the pooled item-embedding vector (poolUserItems), not the service profile vector',
    backend,
    seconds,
  };
}

/** The text report: the headline setting first, then both settings with the baselines. */
export function formatRecommendEval(r: RecommendEvalResult): string {
  const f = (x: Figures) => `recall_at_10 ${x.recall_at_10.toFixed(4)}  ndcg_at_10 ${x.ndcg_at_10.toFixed(4)}`;
  const d = (x: PairedDifference) =>
    `${x.diff >= 0 ? '+' : ''}${x.diff.toFixed(4)} (95 % CI ${x.ci95[0].toFixed(4)} to ${x.ci95[1].toFixed(4)}; better for ${x.wins} users, worse for ${x.losses})`;
  const lines = [
    `dataset ${r.dataset}: ${r.users} users (purchases on both sides of ${r.split.cutoff.slice(0, 10)}), ${r.data.purchases} purchases, ${r.data.items} items; backend ${r.backend}`,
    `headline (${r.exclude_owned ? 'owned items excluded' : 'owned items kept'}): users ${r.users}  ${f(r)}`,
  ];
  for (const s of r.settings) {
    lines.push(
      `owned ${s.exclude_owned ? 'excluded' : 'kept    '}  ours        ${f(s)}   (blend ${JSON.stringify(s.weights)}, ${JSON.stringify(s.variant)})`,
      `                popularity  ${f(s.popularity)}`,
      `                item-kNN    ${f(s.item_knn)}`,
      `                ours − item-kNN: recall_at_10 ${d(s.vs_item_knn.recall_at_10)}, ndcg_at_10 ${d(s.vs_item_knn.ndcg_at_10)}`,
    );
  }
  lines.push(
    `reference (dataset README, popularity excluding owned): recall_at_10 ${r.reference.popularity_excluding_owned.recall_at_10}  ndcg_at_10 ${r.reference.popularity_excluding_owned.ndcg_at_10} over ${r.reference.popularity_excluding_owned.users} users`,
    `embeddings ${r.method.chosen} (${r.method.dim}-d, ${r.method.epochs} epochs, ${r.card.items} items, ${r.card.trainingSeconds} s); ${r.method.neighbours} similar users by pooled item vectors`,
    `seconds: ${Object.entries(r.seconds)
      .map(([a, b]) => `${a} ${b}`)
      .join(', ')}`,
  );
  return lines.join('\n');
}
