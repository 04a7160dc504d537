/**
 * The user vector (docs/user-vector.md): [ w_t·text | w_b·behaviour | w_r·traits | w_i·items ],
 * each block L2-normalised before weighting, the whole unit-normalised for the cosine index. A
 * block whose weight is 0 (or, for items, without an active item-embedding model) is left out (and
 * the dimension and version say so); a block the user has no data for is zero, so the remaining
 * blocks carry the match.
 */
import type { Config } from '../core/config.ts';
import type { Embedder } from '../providers/types.ts';
import { behaviourDim, type BehaviourScaler } from './behaviour.ts';

/** uv2: the item block after the trait block (uv1 had three blocks). */
export const VECTOR_FORMAT = 'uv2';
export const BLOCK_NAMES = ['text', 'behaviour', 'traits', 'items'] as const;
export type BlockName = (typeof BLOCK_NAMES)[number];

export interface BlockWeights {
  text: number;
  behaviour: number;
  traits: number;
  /** the pooled item-embedding block (TRAITLENS_ITEM_VECTOR_WEIGHT) */
  items: number;
}

export const weightsFromConfig = (c: Config): BlockWeights => ({
  text: c.TRAITLENS_VECTOR_W_TEXT,
  behaviour: c.TRAITLENS_VECTOR_W_BEHAVIOUR,
  traits: c.TRAITLENS_VECTOR_W_TRAITS,
  items: c.TRAITLENS_ITEM_VECTOR_WEIGHT,
});

/** The active item-embedding model as the layout sees it (its version and width). */
export interface ItemBlockSource {
  version: string;
  dim: number;
}

export interface Block {
  name: BlockName;
  offset: number;
  dim: number;
  weight: number;
}

export interface VectorLayout {
  version: string;
  dim: number;
  blocks: Block[];
}

/**
 * The layout and version for the current embedder, scaler and weights. The version names
 * everything that changes what a vector means, so vectors of two versions never meet in an index.
 */
export function vectorLayout(embedder: Pick<Embedder, 'id' | 'dim'>, scaler: BehaviourScaler | null, w: BlockWeights, items: ItemBlockSource | null = null): VectorLayout {
  const blocks: Block[] = [];
  const parts: string[] = [VECTOR_FORMAT];
  let offset = 0;
  const add = (name: BlockName, dim: number, weight: number, tag: string) => {
    if (weight <= 0 || dim <= 0) {
      parts.push(`${name}=none`);
      return;
    }
    blocks.push({ name, offset, dim, weight });
    offset += dim;
    parts.push(`${name}=${tag}/${dim}@${weight}`);
  };
  add('text', embedder.dim, w.text, embedder.id);
  add('behaviour', scaler ? behaviourDim(scaler) : 0, scaler ? w.behaviour : 0, scaler ? `f${scaler.featureVersion}-${scaler.id}` : 'none');
  add('traits', embedder.dim, w.traits, embedder.id);
  add('items', items ? items.dim : 0, items ? w.items : 0, items ? `emb-${items.version}` : 'none');
  return { version: parts.join(';'), dim: offset, blocks };
}

export function l2normalise(v: Float32Array): number {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) / n;
  return n;
}

/** Assembles the vector from per-block data (null = the user has none); null when every block is empty. */
export function composeVector(layout: VectorLayout, data: Partial<Record<BlockName, Float32Array | null>>): { vector: Float32Array; present: Record<BlockName, boolean> } | null {
  const out = new Float32Array(layout.dim);
  const present: Record<BlockName, boolean> = { text: false, behaviour: false, traits: false, items: false };
  for (const b of layout.blocks) {
    const src = data[b.name];
    if (!src || src.length !== b.dim) continue;
    const copy = Float32Array.from(src);
    if (l2normalise(copy) === 0) continue;
    for (let i = 0; i < b.dim; i++) out[b.offset + i] = (copy[i] as number) * b.weight;
    present[b.name] = true;
  }
  if (l2normalise(out) === 0) return null;
  return { vector: out, present };
}

/** Cosine of one block between two composed vectors (null when either side lacks it). */
export function blockCosine(layout: VectorLayout, name: BlockName, a: Float32Array, b: Float32Array): number | null {
  const blk = layout.blocks.find((x) => x.name === name);
  if (!blk) return null;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = blk.offset; i < blk.offset + blk.dim; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : null;
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}
