/**
 * The item block of the user vector: the weighted mean of the user's items' vectors from an item-
 * embedding model (`poolUserItems`, src/items/embeddings.ts), weights log1p of the summed
 * interaction weights, so a bulk order does not drown the rest of the basket.
 *
 * Like the behaviour scaler, the model the vectors use is population state pinned in profile_meta
 * (a copy: version, dim, items, vectors): it is pinned the first time a vector is built while an
 * item-embedding model is active, and re-pinned to the active model only by `traitlens reindex`
 * (rebuildAllProfiles), which recomputes every vector. A scheduled item retrain therefore does not
 * change the vector version under a running index; reindex after it to use the new embeddings.
 */
import type { Store } from '../db/store.ts';
import type { InteractionSelection, UserItem } from '../db/stores/items.ts';
import { poolUserItems } from '../items/embeddings.ts';
import type { ItemBlockSource } from './vector.ts';

export const ITEM_BLOCK_KEY = 'vector_item_model';
/** A small key naming the pinned version: refreshes read it, and the large body only when it changed. */
const ITEM_BLOCK_VERSION_KEY = 'vector_item_model_version';

export interface PinnedItemModel extends ItemBlockSource {
  items: string[];
  vectors: Float32Array;
}

interface Stored {
  version: string;
  dim: number;
  items: string[];
  /** base64 of the Float32Array's bytes (little-endian) */
  vectors: string;
}

const encode = (m: PinnedItemModel): string =>
  JSON.stringify({
    version: m.version,
    dim: m.dim,
    items: m.items,
    vectors: Buffer.from(m.vectors.buffer, m.vectors.byteOffset, m.vectors.byteLength).toString('base64'),
  } satisfies Stored);

function decode(text: string): PinnedItemModel {
  const s = JSON.parse(text) as Stored;
  const buf = Buffer.from(s.vectors, 'base64');
  const vectors = new Float32Array(buf.byteLength / 4);
  new Uint8Array(vectors.buffer).set(buf);
  return { version: s.version, dim: s.dim, items: s.items, vectors };
}

const cache = new WeakMap<Store, PinnedItemModel>();

/** The pinned model (null: none pinned). Reads the body only when the pinned version is not the cached one. */
export async function loadPinnedItemModel(store: Store): Promise<PinnedItemModel | null> {
  const v = await store.profiles.getMeta(ITEM_BLOCK_VERSION_KEY);
  const hit = cache.get(store);
  if (v && hit && hit.version === v.value) return hit;
  const m = await store.profiles.getMeta(ITEM_BLOCK_KEY);
  if (!m) return null;
  const model = decode(m.value);
  cache.set(store, model);
  return model;
}

/**
 * Pins the active item-embedding model (replacing any pin; `ifAbsent`: only when none is pinned, and
 * returns the pinned one). Null when no model is active (and nothing was pinned).
 */
export async function pinItemModel(store: Store, now = Date.now(), opts: { ifAbsent?: boolean } = {}): Promise<PinnedItemModel | null> {
  if (opts.ifAbsent) {
    const pinned = await loadPinnedItemModel(store);
    if (pinned) return pinned;
  }
  const active = await store.items.activeEmbeddings();
  if (!active) return opts.ifAbsent ? null : await loadPinnedItemModel(store);
  const model: PinnedItemModel = { version: active.version, dim: active.dim, items: active.items, vectors: active.vectors };
  const written = await store.profiles.setMeta(ITEM_BLOCK_KEY, encode(model), now, opts);
  // The loser of a first-pin race adopts the winner's body; either way the version key follows the body.
  const pinned = written ? model : ((await store.profiles.getMeta(ITEM_BLOCK_KEY).then((m) => (m ? decode(m.value) : null))) ?? model);
  await store.profiles.setMeta(ITEM_BLOCK_VERSION_KEY, pinned.version, now);
  cache.set(store, pinned);
  return pinned;
}

/** The pinned model, pinning the active one first when none is pinned yet (null: no item model at all). */
export function ensureItemModel(store: Store, now = Date.now()): Promise<PinnedItemModel | null> {
  return pinItemModel(store, now, { ifAbsent: true });
}

/** One user's item block as of `until` (exclusive), null when none of their items is in the model. */
export async function itemBlock(store: Store, model: PinnedItemModel, userId: number, selection: InteractionSelection, until: number): Promise<Float32Array | null> {
  return itemBlockOf(model, await store.items.userItems(userId, { ...selection, until }));
}

/** The item block from the user's items (`ItemStore.userItems`' rows, in its order), null when none is in the model. */
export function itemBlockOf(model: PinnedItemModel, items: readonly UserItem[]): Float32Array | null {
  if (!items.length) return null;
  return (
    poolUserItems(
      model,
      items.map((i) => ({ item: i.item, weight: Math.log1p(i.weight) })),
    ) ?? null
  );
}
