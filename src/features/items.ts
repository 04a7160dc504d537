/**
 * Item inputs for behaviour models: which items each user interacted with as of a cut-off. One
 * streaming pass over the feature store's event scan (the cut-off is enforced in SQL and again per
 * row, as for every other feature), a vocabulary fitted on training users only (rare and unknown
 * items share one bucket), and the per-user pooling weights the models read.
 *
 * Interaction rule: an event names an item when its `property` is a non-empty string or number (of
 * `event` type when given). With `valueProperty`, a positive finite number (or numeric string) is
 * the interaction's weight, a missing or non-numeric value counts 1, and a value ≤ 0 (a cancellation
 * or a return recorded as a negative quantity) is not an interaction — the item store's rule. A user's item weight is log1p of its
 * summed interaction weights; the pooled bag is the weighted mean (weights summing to 1).
 */
import { z } from 'zod';
import { UnprocessableError, ValidationError } from '../core/errors.ts';
import type { FeatureEvent, FeatureStore } from '../db/stores/features.ts';
import { interactionWeight, type InteractionSelection, type UserItem as StoredUserItem } from '../db/stores/items.ts';
import type { UserEvents } from './compute.ts';

const propName = z.string().regex(/^[a-z][a-z0-9_]*$/, 'property and event names are snake_case (as cleaning stores them)');

/** `features.items` of a model spec. */
export const itemFeatureSchema = z.strictObject({
  /** the event property naming the item */
  property: propName.default('item'),
  /** only events of this type (e.g. `purchase`); default: any */
  event: propName.optional(),
  /** a numeric property weighting an interaction (quantity, rating) */
  valueProperty: propName.optional(),
  /** `learned`: an embedding bag trained with the model; `pretrained`: the active item embeddings (store.items), pooled, fixed */
  embedding: z.enum(['learned', 'pretrained']).default('learned'),
  /** learned embedding width */
  dim: z.number().int().min(2).max(256).default(16),
  /** vocabulary size: the items most training users interacted with */
  maxItems: z.number().int().min(1).max(50_000).default(2000),
  /** an item needs this many training users for its own slot; rarer ones share the rare bucket */
  minUsers: z.number().int().min(1).max(10_000).default(3),
  /** recurrent architectures: also feed the user's last `sequenceLength` items, in time order */
  sequence: z.boolean().default(false),
  /**
   * how the item weights are normalised: `sqrtn` (sum of squares 1: a larger basket weighs more than
   * one item, less than linearly), `mean` (sum 1), `sum` (raw log1p weights). sqrtn won on Online
   * Retail's validation users (docs/eval-behaviour.md).
   */
  pooling: z.enum(['mean', 'sqrtn', 'sum']).default('sqrtn'),
});
export type ItemFeature = z.infer<typeof itemFeatureSchema>;

/** What the event scan must extract for items (saved in the model's FeatureSchema). */
export interface ItemKeys {
  property: string;
  event?: string;
  valueProperty?: string;
}

/** The scan keys for item inputs (property first, then the value property). */
export const itemScanKeys = (k: ItemKeys): string[] => [k.property, ...(k.valueProperty ? [k.valueProperty] : [])];

export interface UserItem {
  item: string;
  /** interactions */
  n: number;
  /** summed interaction weights */
  weight: number;
  lastTs: number;
}

export interface UserItems {
  /** by item, in first-seen order */
  items: Map<string, UserItem>;
  /** the last `sequenceLength` items interacted with, oldest first (empty unless asked for) */
  sequence: string[];
}

const itemOf = (raw: unknown): string | null => {
  if (typeof raw === 'string') return raw === '' ? null : raw;
  if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw);
  return null;
};

/** The interaction's weight by the rule above; null = not an interaction. */
function weightOf(raw: unknown, hasValue: boolean): number | null {
  if (!hasValue) return 1;
  // The same rule as the item store's interactions (db/stores/items.ts interactionWeight).
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
  if (!Number.isFinite(n)) return 1;
  return n > 0 ? n : null;
}

class ItemFold {
  items = new Map<string, UserItem>();
  seq: string[] = [];
  constructor(
    private readonly keys: ItemKeys,
    private readonly seqLen: number,
    private readonly asOf: number,
    private readonly itemCol: `p${number}`,
    private readonly valueCol: `p${number}` | null,
  ) {}
  add(e: FeatureEvent): void {
    if (e.ts > this.asOf) throw new UnprocessableError(`feature leakage guard: event at ${e.ts} is after the cut-off ${this.asOf}`);
    if (this.keys.event !== undefined && e.type !== this.keys.event) return;
    const item = itemOf(e[this.itemCol]);
    if (item === null) return;
    const w = weightOf(this.valueCol ? e[this.valueCol] : undefined, this.valueCol !== null);
    if (w === null) return;
    const cur = this.items.get(item);
    if (cur) {
      cur.n++;
      cur.weight += w;
      cur.lastTs = e.ts;
    } else this.items.set(item, { item, n: 1, weight: w, lastTs: e.ts });
    if (this.seqLen > 0) {
      this.seq.push(item);
      if (this.seq.length > 2 * this.seqLen) this.seq = this.seq.slice(-this.seqLen);
    }
  }
  done(): UserItems {
    return { items: this.items, sequence: this.seqLen > 0 ? this.seq.slice(-this.seqLen) : [] };
  }
}

function columns(keys: ItemKeys, scanned: readonly string[]): { itemCol: `p${number}`; valueCol: `p${number}` | null } {
  const i = scanned.indexOf(keys.property);
  if (i < 0) throw new ValidationError(`events were read without the item property "${keys.property}"`, { key: keys.property });
  let valueCol: `p${number}` | null = null;
  if (keys.valueProperty) {
    const j = scanned.indexOf(keys.valueProperty);
    if (j < 0) throw new ValidationError(`events were read without the item value property "${keys.valueProperty}"`, { key: keys.valueProperty });
    valueCol = `p${j}`;
  }
  return { itemCol: `p${i}`, valueCol };
}

/**
 * Each user's items as of `asOf` (users without an item interaction are absent), optionally only
 * `userIds`; `sequenceLength` > 0 keeps each user's last items in order too.
 */
export async function computeUserItems(
  features: FeatureStore,
  opts: { asOf: number; keys: ItemKeys; userIds?: readonly number[]; sequenceLength?: number },
): Promise<Map<number, UserItems>> {
  if (!Number.isFinite(opts.asOf)) throw new ValidationError('asOf must be a finite epoch-millisecond time', { asOf: opts.asOf });
  const props = itemScanKeys(opts.keys);
  const { itemCol, valueCol } = columns(opts.keys, props);
  const out = new Map<number, UserItems>();
  let cur = -1;
  let fold: ItemFold | null = null;
  const flush = () => {
    if (!fold) return;
    const u = fold.done();
    if (u.items.size) out.set(cur, u);
  };
  for await (const page of features.scanEvents({ asOf: opts.asOf, props, ...(opts.userIds ? { userIds: opts.userIds } : {}) })) {
    for (const e of page) {
      if (e.userId !== cur) {
        flush();
        cur = e.userId;
        fold = new ItemFold(opts.keys, opts.sequenceLength ?? 0, opts.asOf, itemCol, valueCol);
      }
      (fold as ItemFold).add(e);
    }
  }
  flush();
  return out;
}

/** One user's items from events already read for a refresh (they must carry the item keys). */
export function userItemsFromEvents(ev: UserEvents, keys: ItemKeys, sequenceLength = 0): UserItems {
  const { itemCol, valueCol } = columns(keys, ev.keys);
  const fold = new ItemFold(keys, sequenceLength, ev.asOf, itemCol, valueCol);
  for (const e of ev.events) fold.add(e);
  return fold.done();
}

/** The bucket shared by rare and unknown items: slot 0 of every bag. */
export const RARE_ITEM = '__rare__';

export interface ItemVocabulary {
  /** slot order: RARE_ITEM first */
  items: string[];
  /** training users per vocabulary item (RARE_ITEM: users with any rare item) */
  users: number[];
}

/**
 * The vocabulary from the training users' items only: items with at least `minUsers` users, the
 * `maxItems` most common (ties by id); `restrictTo` keeps only items it holds (pretrained vectors).
 */
export function fitItemVocabulary(train: Iterable<UserItems | undefined>, opts: { maxItems: number; minUsers: number; restrictTo?: ReadonlySet<string> }): ItemVocabulary {
  const users = new Map<string, number>();
  for (const u of train) if (u) for (const k of u.items.keys()) users.set(k, (users.get(k) ?? 0) + 1);
  const kept = [...users]
    .filter(([k, n]) => n >= opts.minUsers && (!opts.restrictTo || opts.restrictTo.has(k)))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, opts.maxItems);
  const keep = new Set(kept.map(([k]) => k));
  let rare = 0;
  for (const u of train) if (u && [...u.items.keys()].some((k) => !keep.has(k))) rare++;
  return { items: [RARE_ITEM, ...kept.map(([k]) => k)], users: [rare, ...kept.map(([, n]) => n)] };
}

/** Item → slot (unknown items are not in the map: they go to slot 0). */
export const vocabularyIndex = (v: { items: readonly string[] }): Map<string, number> => new Map(v.items.map((k, i) => [k, i]));

export type ItemPooling = ItemFeature['pooling'];

/** The user's pooling weights over vocabulary slots: log1p of each item's weight, normalised by `pooling`. */
export function bagWeights(u: UserItems | undefined, index: ReadonlyMap<string, number>, out: Float32Array, offset = 0, pooling: ItemPooling = 'mean'): void {
  if (!u?.items.size) return;
  let total = 0;
  let squares = 0;
  for (const it of u.items.values()) {
    const w = Math.log1p(it.weight);
    out[offset + (index.get(it.item) ?? 0)]! += w;
    total += w;
    squares += w * w;
  }
  const norm = pooling === 'mean' ? total : pooling === 'sqrtn' ? Math.sqrt(squares) : 1;
  if (norm > 0 && norm !== 1) for (let i = 0; i < index.size; i++) out[offset + i] = (out[offset + i] as number) / norm;
}

/** Bags for `userIds` in order: n × vocabulary size, row-major. */
export function bagMatrix(userIds: readonly number[], items: ReadonlyMap<number, UserItems>, vocab: { items: readonly string[] }, pooling: ItemPooling = 'mean'): Float32Array {
  const index = vocabularyIndex(vocab);
  const V = vocab.items.length;
  const out = new Float32Array(userIds.length * V);
  userIds.forEach((u, i) => bagWeights(items.get(u), index, out, i * V, pooling));
  return out;
}

/**
 * Item sequences for `userIds`: n × length × slots one-hot rows (the first `slots` vocabulary slots;
 * later slots count as the rare slot 0), left-padded with zero rows so the most recent item is the
 * last step. One-hot rows times a dense layer are an embedding lookup whose gradient every tfjs
 * backend has (the Embedding layer's needs a kernel the WASM backend lacks).
 */
export function sequenceMatrix(
  userIds: readonly number[],
  items: ReadonlyMap<number, UserItems>,
  vocab: { items: readonly string[] },
  length: number,
  slots: number,
): Float32Array {
  const index = vocabularyIndex(vocab);
  const out = new Float32Array(userIds.length * length * slots);
  userIds.forEach((u, i) => {
    const s = (items.get(u)?.sequence ?? []).slice(-length);
    const start = length - s.length;
    s.forEach((it, j) => {
      const slot = index.get(it) ?? 0;
      out[(i * length + start + j) * slots + (slot < slots ? slot : 0)] = 1;
    });
  });
  return out;
}

/**
 * Pooled pretrained vectors: per user the bag-weighted mean of the vocabulary's vectors (`vectors`:
 * vocabulary size × dim, row 0 — the rare bucket — all zero), L2-normalised; n × dim.
 */
export function pooledMatrix(bags: Float32Array, vocabSize: number, vectors: Float32Array, dim: number): Float32Array {
  const n = vocabSize ? bags.length / vocabSize : 0;
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    for (let s = 0; s < vocabSize; s++) {
      const w = bags[i * vocabSize + s] as number;
      if (w === 0) continue;
      for (let d = 0; d < dim; d++) out[o + d] = (out[o + d] as number) + w * (vectors[s * dim + d] as number);
    }
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += (out[o + d] as number) ** 2;
    norm = Math.sqrt(norm);
    if (norm > 0) for (let d = 0; d < dim; d++) out[o + d] = (out[o + d] as number) / norm;
  }
  return out;
}

/** The scan keys the interaction selection reads (the item properties, then the weight property). */
export const interactionScanKeys = (sel: InteractionSelection): string[] => [...sel.itemProperties, ...(sel.weightProperty ? [sel.weightProperty] : [])];

/**
 * `ItemStore.userItems(userId, { ...sel, until })` computed from the user's events a refresh has
 * already read (scanned with `interactionScanKeys(sel)`, `until` ≤ asOf + 1): the same rows, order
 * and sums, without reading the events again. The store's rule is SQL (the first item property whose
 * text is non-empty; interactionWeight of the weight property's JSON value), and some JSON types read
 * differently on SQLite and PostgreSQL (a number's text, a boolean weight): when an event holds such a
 * value — an item property that is not a plain string, a weight of 0 — this returns null and the
 * caller asks the store, whose answer is the reference.
 */
export function interactionItemsFromEvents(ev: UserEvents, sel: InteractionSelection, until: number): StoredUserItem[] | null {
  if (until > ev.asOf + 1) return null; // events after the cut-off were not read
  const itemCols = sel.itemProperties.map((k) => ev.keys.indexOf(k));
  const wi = sel.weightProperty ? ev.keys.indexOf(sel.weightProperty) : -1;
  if (itemCols.some((i) => i < 0) || (sel.weightProperty && wi < 0)) return null;
  const cols = itemCols.map((i) => `p${i}` as const);
  const weightCol = wi >= 0 ? (`p${wi}` as const) : null;
  const types = sel.types?.length ? new Set(sel.types) : null;
  const by = new Map<string, StoredUserItem>();
  for (const e of ev.events) {
    if (e.ts >= until || (types && !types.has(e.type))) continue;
    let item: string | null = null;
    for (const c of cols) {
      const v = e[c];
      if (v === null || v === undefined || v === '') continue;
      // JSON text of an object or array, a number or a boolean: their text is the engine's own
      if (typeof v !== 'string' || v[0] === '{' || v[0] === '[') return null;
      item = v;
      break;
    }
    if (item === null) continue;
    const raw = weightCol ? e[weightCol] : null;
    // 0 may be a JSON false (PostgreSQL counts it 1, SQLite as 0): the store decides
    if (raw === 0) return null;
    const weight = interactionWeight(raw);
    if (weight === undefined) continue;
    const u = by.get(item);
    if (u) {
      u.n++;
      u.weight += weight;
      if (e.ts > u.lastTs) u.lastTs = e.ts;
    } else by.set(item, { item, n: 1, weight, lastTs: e.ts });
  }
  return [...by.values()].sort((a, b) => b.lastTs - a.lastTs || (a.item < b.item ? -1 : a.item > b.item ? 1 : 0));
}
