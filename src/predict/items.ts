/**
 * Item inputs of item-aware models (spec `features.items`): the vocabulary and (for pretrained
 * embeddings) the vectors are fitted at training time and saved in the artefact, so scoring builds
 * exactly the training inputs from the user's items as of the scoring cut-off.
 */
import { UnprocessableError } from '../core/errors.ts';
import type { FeatureStore } from '../db/stores/features.ts';
import type { UserEvents } from '../features/compute.ts';
import {
  bagMatrix,
  computeUserItems,
  fitItemVocabulary,
  pooledMatrix,
  sequenceMatrix,
  userItemsFromEvents,
  type ItemFeature,
  type ItemKeys,
  type ItemPooling,
  type UserItems,
} from '../features/items.ts';
import type { NetInput } from './nets.ts';

/** The pretrained item embeddings a model may pool (store.items.activeEmbeddings()). */
export interface PretrainedItemSource {
  activeEmbeddings(): Promise<{ version: string; dim: number; items: string[]; vectors: Float32Array } | undefined>;
}

export interface ItemArtefact {
  keys: ItemKeys;
  embedding: 'learned' | 'pretrained';
  /** slot order, `__rare__` first */
  vocabulary: string[];
  /** bag normalisation (absent in older artefacts: mean) */
  pooling?: ItemPooling;
  /** learned: the embedding width; pretrained: the vectors' dim */
  dim: number;
  /** item-sequence input length (recurrent models with `sequence`), else null */
  sequenceLength: number | null;
  /** item-sequence one-hot width: the first vocabulary slots (the rest count as rare) */
  sequenceSlots?: number;
  /** pretrained: the embedding version and its vectors for the vocabulary (row 0, the rare bucket, zero) */
  pretrained?: { version: string; vectors: number[] } | null;
}

/** What the model card records about the item inputs. */
export interface ItemCardInfo {
  property: string;
  event: string | null;
  valueProperty: string | null;
  embedding: 'learned' | 'pretrained';
  embeddingsVersion: string | null;
  vocabulary: number;
  minUsers: number;
  dim: number;
  sequenceLength: number | null;
  /** training users with at least one item interaction */
  trainUsersWithItems: number;
  /** training users with an item outside the vocabulary (the rare bucket) */
  trainUsersWithRareItems: number;
}

/** Item sequences one-hot encode at most this many vocabulary slots (memory: n × length × slots floats). */
export const SEQUENCE_SLOTS = 256;

/** Fits the item inputs on the training users' items only. */
export async function fitItemArtefact(
  spec: ItemFeature,
  trainItems: ReadonlyMap<number, UserItems>,
  trainUsers: readonly number[],
  opts: { sequenceLength: number | null; pretrained?: PretrainedItemSource | undefined },
): Promise<{ artefact: ItemArtefact; card: ItemCardInfo }> {
  const keys: ItemKeys = { property: spec.property, ...(spec.event ? { event: spec.event } : {}), ...(spec.valueProperty ? { valueProperty: spec.valueProperty } : {}) };
  let model: Awaited<ReturnType<PretrainedItemSource['activeEmbeddings']>>;
  if (spec.embedding === 'pretrained') {
    model = await opts.pretrained?.activeEmbeddings();
    if (!model) throw new UnprocessableError('features.items.embedding "pretrained" needs trained item embeddings (traitlens train-items); none is active');
  }
  const rows = trainUsers.map((u) => trainItems.get(u));
  const vocab = fitItemVocabulary(rows, { maxItems: spec.maxItems, minUsers: spec.minUsers, ...(model ? { restrictTo: new Set(model.items) } : {}) });
  let pretrained: ItemArtefact['pretrained'] = null;
  if (model) {
    const at = new Map(model.items.map((k, i) => [k, i]));
    const vectors = new Array<number>(vocab.items.length * model.dim).fill(0);
    vocab.items.forEach((k, s) => {
      const r = at.get(k);
      if (s === 0 || r === undefined) return;
      for (let d = 0; d < model.dim; d++) vectors[s * model.dim + d] = model.vectors[r * model.dim + d] as number;
    });
    pretrained = { version: model.version, vectors };
  }
  const artefact: ItemArtefact = {
    keys,
    embedding: spec.embedding,
    vocabulary: vocab.items,
    pooling: spec.pooling,
    dim: model ? model.dim : spec.dim,
    sequenceLength: opts.sequenceLength,
    ...(opts.sequenceLength ? { sequenceSlots: Math.min(vocab.items.length, SEQUENCE_SLOTS) } : {}),
    pretrained,
  };
  const withItems = rows.filter((r) => r && r.items.size > 0).length;
  return {
    artefact,
    card: {
      property: keys.property,
      event: keys.event ?? null,
      valueProperty: keys.valueProperty ?? null,
      embedding: spec.embedding,
      embeddingsVersion: model?.version ?? null,
      vocabulary: vocab.items.length,
      minUsers: spec.minUsers,
      dim: artefact.dim,
      sequenceLength: opts.sequenceLength,
      trainUsersWithItems: withItems,
      trainUsersWithRareItems: vocab.users[0] as number,
    },
  };
}

/** The users' items as of `asOf` (from one refresh's events when given), as the artefact reads them. */
export function itemsAsOf(features: FeatureStore, a: ItemArtefact, asOf: number, userIds: readonly number[], events?: UserEvents): Promise<Map<number, UserItems>> {
  const len = a.sequenceLength ?? 0;
  if (events) {
    const u = userItemsFromEvents(events, a.keys, len);
    return Promise.resolve(u.items.size ? new Map([[events.userId, u]]) : new Map());
  }
  return computeUserItems(features, { asOf, keys: a.keys, userIds, sequenceLength: len });
}

/** The bag input (and the item-sequence input) for `userIds`, in the network's input order after the base. */
export function itemInputs(a: ItemArtefact, userIds: readonly number[], items: ReadonlyMap<number, UserItems>): NetInput[] {
  const V = a.vocabulary.length;
  const bags = bagMatrix(userIds, items, { items: a.vocabulary }, a.pooling ?? 'mean');
  const out: NetInput[] = [];
  if (a.embedding === 'pretrained') out.push({ data: pooledMatrix(bags, V, Float32Array.from(a.pretrained?.vectors ?? []), a.dim), shape: [a.dim] });
  else out.push({ data: bags, shape: [V] });
  if (a.sequenceLength) {
    const slots = a.sequenceSlots ?? Math.min(V, SEQUENCE_SLOTS);
    out.push({ data: sequenceMatrix(userIds, items, { items: a.vocabulary }, a.sequenceLength, slots), shape: [a.sequenceLength, slots] });
  }
  return out;
}

/** The card's input names for the item inputs. */
export function itemInputNames(a: ItemArtefact): string[] {
  return [
    a.embedding === 'pretrained' ? `items_pooled_pretrained[${a.dim}]` : `items_embedding_bag[${a.vocabulary.length}→${a.dim}]`,
    ...(a.sequenceLength ? [`items_sequence[${a.sequenceLength}×${a.sequenceSlots ?? Math.min(a.vocabulary.length, SEQUENCE_SLOTS)}]`] : []),
  ];
}
