/**
 * Item vectors without tfjs: nearest items and a user's pooled item vector. Rows are
 * L2-normalised (as trainItemEmbeddings returns them), so cosine is a dot product. Kept apart from
 * the trainer so ranking and serving do not load tfjs.
 */
export interface ItemVectors {
  items: string[];
  vectors: Float32Array;
  dim: number;
}

/** Cosine neighbours of one item (rows are normalised: a dot product), best first (ties by id), the item itself left out. */
export function nearestItems(model: ItemVectors, item: string, k: number): { item: string; score: number }[] {
  const i = model.items.indexOf(item);
  if (i < 0 || k <= 0) return [];
  const { dim, vectors, items } = model;
  // bounded top-k kept sorted: most rows fall below the k-th score and cost one comparison
  const topS: number[] = [];
  const topR: number[] = [];
  const worse = (s: number, r: number, j: number) => s < topS[j]! || (s === topS[j]! && items[r]! > items[topR[j]!]!);
  for (let r = 0; r < items.length; r++) {
    if (r === i) continue;
    let s = 0;
    for (let j = 0; j < dim; j++) s += vectors[i * dim + j]! * vectors[r * dim + j]!;
    if (topS.length === k && worse(s, r, k - 1)) continue;
    let j = topS.length;
    while (j > 0 && !worse(s, r, j - 1)) j--;
    topS.splice(j, 0, s);
    topR.splice(j, 0, r);
    if (topS.length > k) {
      topS.pop();
      topR.pop();
    }
  }
  return topR.map((r, j) => ({ item: items[r]!, score: topS[j]! }));
}

/** Item id → row, built once per items array (a refresh pools every user's items in the same pinned model). */
const indexes = new WeakMap<readonly string[], { length: number; index: Map<string, number> }>();
function itemIndex(items: readonly string[]): Map<string, number> {
  let hit = indexes.get(items);
  // rebuilt when the array grew or shrank since (models' arrays are not changed in place)
  if (!hit || hit.length !== items.length) {
    hit = { length: items.length, index: new Map(items.map((id, i) => [id, i])) };
    indexes.set(items, hit);
  }
  return hit.index;
}

/** The normalised weighted mean of the user's known items' vectors; undefined when none is known. */
export function poolUserItems(model: ItemVectors, userItems: readonly { item: string; weight: number }[]): Float32Array | undefined {
  const { dim, vectors } = model;
  const index = itemIndex(model.items);
  const out = new Float32Array(dim);
  let any = false;
  for (const { item, weight } of userItems) {
    const r = index.get(item);
    if (r === undefined || !(weight > 0)) continue;
    any = true;
    for (let j = 0; j < dim; j++) out[j]! += weight * vectors[r * dim + j]!;
  }
  if (!any) return undefined;
  let s = 0;
  for (let j = 0; j < dim; j++) s += out[j]! ** 2;
  if (s === 0) return undefined;
  const n = Math.sqrt(s);
  for (let j = 0; j < dim; j++) out[j]! /= n;
  return out;
}
