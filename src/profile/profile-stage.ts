/**
 * The profile stage: builds a user's vector (src/profile/vector.ts) from the text embedding, the
 * behaviour features and the traits, and stores it with its version in user_profiles (the
 * ProfileStore). The database is the source of truth; on SQLite the HNSW index (src/similar/) is a
 * cache the index owner syncs from it.
 */
import { effectiveConsent } from '../core/consent.ts';
import type { Config } from '../core/config.ts';
import type { ConsentFlag, Trait } from '../core/types.ts';
import type { Store } from '../db/store.ts';
import type { ProfileRow, ProfileWrite } from '../db/stores/profiles.ts';
import type { Embedder } from '../providers/types.ts';
import type { UserEvents } from '../features/compute.ts';
import { behaviourVectorFromEvents, behaviourVectors, ensureBehaviourScaler, fitBehaviourScaler, loadBehaviourScaler, type BehaviourScaler } from './behaviour.ts';
import { ensureItemModel, itemBlock, itemBlockOf, loadPinnedItemModel, pinItemModel, type PinnedItemModel } from './items-block.ts';
import { factStatements, withFacts } from './fact-text.ts';
import { composeVector, vectorLayout, weightsFromConfig, type BlockName, type BlockWeights, type VectorLayout } from './vector.ts';
import type { InteractionSelection, UserItem } from '../db/stores/items.ts';

export interface ProfileDeps {
  store: Store;
  embedder: Embedder;
  weights: BlockWeights;
  defaultConsent: readonly ConsentFlag[];
  /** which events are item interactions (the item block); default: property `item`, weight 1, any type */
  items?: InteractionSelection;
}

export const profileDepsFromConfig = (store: Store, embedder: Embedder, config: Config): ProfileDeps => ({
  store,
  embedder,
  weights: weightsFromConfig(config),
  defaultConsent: config.TRAITLENS_DEFAULT_CONSENT,
  items: {
    itemProperties: config.TRAITLENS_ITEM_PROPERTIES,
    ...(config.TRAITLENS_ITEM_WEIGHT_PROPERTY ? { weightProperty: config.TRAITLENS_ITEM_WEIGHT_PROPERTY } : {}),
    ...(config.TRAITLENS_ITEM_EVENT_TYPES.length ? { types: config.TRAITLENS_ITEM_EVENT_TYPES } : {}),
  },
});

const DEFAULT_ITEMS: InteractionSelection = { itemProperties: ['item'] };

/** Which events are item interactions for the item block (ProfileDeps.items, or property `item`). */
export const profileItems = (deps: Pick<ProfileDeps, 'items'>): InteractionSelection => deps.items ?? DEFAULT_ITEMS;

// Vectors and summaries are derived data: their sections in src/db/stores/user-data.ts erase them
// with the user and on profiling withdrawal.

/**
 * The current layout; fits the behaviour scaler and pins the item model the first time they are
 * needed (behaviour / item weight > 0; the item block needs an active item-embedding model).
 */
export async function currentLayout(
  deps: ProfileDeps,
  /** `now`: the time a scaler fitted here is fitted as of (the vectors' time: a refresh's featuresAsOf) */
  opts: { fit?: boolean; now?: number } = {},
): Promise<{ layout: VectorLayout; scaler: BehaviourScaler | null; itemModel: PinnedItemModel | null }> {
  const scaler = deps.weights.behaviour > 0 ? (opts.fit === false ? await loadBehaviourScaler(deps.store) : await ensureBehaviourScaler(deps.store, opts.now)) : null;
  const itemModel = deps.weights.items > 0 ? (opts.fit === false ? await loadPinnedItemModel(deps.store) : await ensureItemModel(deps.store)) : null;
  return { layout: vectorLayout(deps.embedder, scaler, deps.weights, itemModel), scaler, itemModel };
}

/** Trait kinds that describe the person in words (computed numbers live in the behaviour block). */
const TRAIT_KINDS = new Set(['semantic', 'declared', 'predicted']);

export const traitPhrase = (t: Pick<Trait, 'key' | 'value'>): string => `${t.key.replace(/_/g, ' ')}: ${String(t.value)}`;

// Trait phrases repeat across users ("interest: hiking"): embed each once per process.
const phraseCache = new Map<string, Float32Array>();
const PHRASE_CACHE_MAX = 50_000;

export async function embedPhrases(embedder: Embedder, phrases: readonly string[]): Promise<Map<string, Float32Array>> {
  const key = (p: string) => `${embedder.id}\u0000${p}`;
  const todo = [...new Set(phrases.filter((p) => !phraseCache.has(key(p))))];
  for (let i = 0; i < todo.length; i += 256) {
    const batch = todo.slice(i, i + 256);
    const vs = await embedder.embed(batch);
    if (phraseCache.size + batch.length > PHRASE_CACHE_MAX) phraseCache.clear();
    batch.forEach((p, j) => phraseCache.set(key(p), vs[j] as Float32Array));
  }
  return new Map(phrases.map((p) => [p, phraseCache.get(key(p)) as Float32Array]));
}

/** Confidence-weighted mean of the user's trait phrase embeddings (null without traits). */
export async function traitBlock(embedder: Embedder, traits: readonly Trait[]): Promise<Float32Array | null> {
  const used = traits.filter((t) => TRAIT_KINDS.has(t.kind) && t.value !== null && typeof t.value !== 'object');
  if (!used.length) return null;
  const vecs = await embedPhrases(embedder, used.map(traitPhrase));
  const out = new Float32Array(embedder.dim);
  for (const t of used) {
    const v = vecs.get(traitPhrase(t));
    if (!v || v.length !== out.length) continue;
    for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + t.confidence * (v[i] as number);
  }
  return out;
}

export interface ProfileReport {
  userId: number;
  stored: boolean;
  version: string;
  blocks: Record<BlockName, boolean> | null;
}

type Built = { userId: number; version: string; row: { vector: Float32Array; present: Record<BlockName, boolean>; profileVersion: number } | null };

async function buildUserVector(
  deps: ProfileDeps,
  userId: number,
  layout: VectorLayout,
  scaler: BehaviourScaler | null,
  now: number,
  behaviourGiven?: Float32Array | null,
  itemModel: PinnedItemModel | null = null,
  traitsGiven?: readonly Trait[],
  /** the user's items as `ItemStore.userItems` gives them as of the vector's time, when the caller has them */
  itemsGiven?: readonly UserItem[],
): Promise<Built> {
  const { store } = deps;
  const user = await store.profiles.subject(userId);
  if (!user || !effectiveConsent(user.consent, deps.defaultConsent).profiling) return { userId, version: layout.version, row: null };
  const consent = effectiveConsent(user.consent, deps.defaultConsent);
  // Trait phrases are derived from the user's text: they go to a remote embedder only with
  // llm_processing consent (as the text does in the embed stage); else both text blocks stay empty.
  const textAllowed = deps.embedder.id.startsWith('offline:') || consent.llm_processing;
  const current = textAllowed ? (traitsGiven ?? (await store.traits.current(userId))) : [];
  // The user's facts (kind 'fact') join what they wrote in the text block: src/profile/fact-text.ts.
  const written = textAllowed ? ((await store.embeddings.getUserEmbedding(userId, deps.embedder.id))?.vector ?? null) : null;
  const text = textAllowed ? withFacts(written, current, await embedPhrases(deps.embedder, factStatements(current))) : null;
  const behaviour = behaviourGiven !== undefined ? behaviourGiven : scaler ? ((await behaviourVectors(store, scaler, now, [userId])).get(userId) ?? null) : null;
  const traits = textAllowed ? await traitBlock(deps.embedder, current) : null;
  // The user's items as of the vector's time (events at or before `now`), pooled in the pinned model.
  const items = itemModel ? (itemsGiven ? itemBlockOf(itemModel, itemsGiven) : await itemBlock(store, itemModel, userId, profileItems(deps), now + 1)) : null;
  const composed = composeVector(layout, { text, behaviour, traits, items });
  return { userId, version: layout.version, row: composed ? { ...composed, profileVersion: user.profileVersion } : null };
}

const toWrite = (b: Built, now: number): ProfileWrite | null =>
  b.row ? { userId: b.userId, version: b.version, vector: b.row.vector, blocks: b.row.present, profileVersion: b.row.profileVersion, updatedAt: now } : null;

function sameProfile(old: ProfileRow | null, w: ProfileWrite): boolean {
  if (!old || old.version !== w.version || old.profileVersion !== w.profileVersion || !sameVector(old.vector, w.vector)) return false;
  const keys = Object.keys(w.blocks);
  return keys.length === Object.keys(old.blocks).length && keys.every((k) => old.blocks[k] === w.blocks[k as BlockName]);
}

/** Bit-for-bit equal vectors. */
function sameVector(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function writeBuilt(store: Store, b: Built): Promise<ProfileReport> {
  const w = toWrite(b, Date.now());
  // An unchanged vector is not written again: no commit, and the index's watermark does not move.
  if (w) {
    if (!sameProfile(await store.profiles.get(b.userId), w)) await store.profiles.upsert(w);
  } else await store.profiles.remove(b.userId);
  return { userId: b.userId, stored: w !== null, version: b.version, blocks: b.row?.present ?? null };
}

/**
 * Recomputes and stores one user's vector (called by the per-user refresh job after embeddings).
 * Without profiling consent, or with no data at all, the stored vector is removed.
 */
export async function updateUserProfile(
  deps: ProfileDeps,
  userId: number,
  /** `traits`: the user's current traits (`TraitStore.current(userId)`), when the caller read them after its last trait write */
  opts: { now?: number; events?: UserEvents; traits?: readonly Trait[] } = {},
): Promise<ProfileReport> {
  const now = opts.now ?? Date.now();
  // The first vector fits the scaler: as of the vector's time, like its behaviour features.
  const { layout, scaler, itemModel } = await currentLayout(deps, { now });
  // The refresh job passes the user's events it read for the features: no second read.
  const ev = opts.events;
  const given = scaler && ev && ev.userId === userId && ev.asOf === now ? behaviourVectorFromEvents(scaler, ev) : undefined;
  return writeBuilt(deps.store, await buildUserVector(deps, userId, layout, scaler, now, given, itemModel, opts.traits));
}

/** One user's input to `updateUserProfiles`: `updateUserProfile`'s options, with the user. */
export interface ProfileUpdate {
  userId: number;
  now: number;
  events?: UserEvents;
  traits?: readonly Trait[];
  /** the user's items as `ItemStore.userItems(userId, { ...profileItems(deps), until: now + 1 })` gives them, when the caller has them */
  items?: readonly UserItem[];
}

export type ProfileOutcome = { ok: true; report: ProfileReport } | { ok: false; error: unknown };

/**
 * `updateUserProfile` for several users (the refresh's slice), one outcome per input, in order:
 * the layout read once per distinct `now`, the stored rows read in one statement, and the vectors
 * that changed (and the removals) written in one transaction: one commit for the slice instead of
 * one per user. Each vector is the one `updateUserProfile` would store. A user whose vector
 * cannot be built fails alone; when the shared transaction fails, each write is retried on its own.
 */
export async function updateUserProfiles(deps: ProfileDeps, updates: readonly ProfileUpdate[]): Promise<ProfileOutcome[]> {
  const layouts = new Map<number, Awaited<ReturnType<typeof currentLayout>>>();
  const out: ProfileOutcome[] = [];
  const built: { i: number; b: Built }[] = [];
  for (const [i, u] of updates.entries()) {
    try {
      let l = layouts.get(u.now);
      if (!l) layouts.set(u.now, (l = await currentLayout(deps, { now: u.now })));
      const ev = u.events;
      const given = l.scaler && ev && ev.userId === u.userId && ev.asOf === u.now ? behaviourVectorFromEvents(l.scaler, ev) : undefined;
      built.push({ i, b: await buildUserVector(deps, u.userId, l.layout, l.scaler, u.now, given, l.itemModel, u.traits, u.items) });
    } catch (error) {
      out[i] = { ok: false, error };
    }
  }
  const report = (b: Built): ProfileReport => ({ userId: b.userId, stored: b.row !== null, version: b.version, blocks: b.row?.present ?? null });
  try {
    const stored = await deps.store.profiles.getMany(built.filter(({ b }) => b.row).map(({ b }) => b.userId));
    const at = Date.now();
    const upserts: ProfileWrite[] = [];
    const deletes: number[] = [];
    for (const { b } of built) {
      const w = toWrite(b, at);
      if (!w) deletes.push(b.userId);
      else if (!sameProfile(stored.get(b.userId) ?? null, w)) upserts.push(w);
    }
    await deps.store.profiles.writeMany(upserts, deletes);
    for (const { i, b } of built) out[i] = { ok: true, report: report(b) };
  } catch {
    // Nothing of the slice landed: each user's write on its own (users fail alone).
    for (const { i, b } of built) {
      try {
        out[i] = { ok: true, report: await writeBuilt(deps.store, b) };
      } catch (error) {
        out[i] = { ok: false, error };
      }
    }
  }
  return out;
}

/**
 * Recomputes every user's vector: refits the behaviour scaler on the whole population first
 * (unless `refit` is false), computing the behaviour features in one pass, writing in batches.
 * Rows of other versions are removed at the end.
 */
export async function rebuildAllProfiles(
  deps: ProfileDeps,
  opts: { refit?: boolean; now?: number; log?: (m: string) => void } = {},
): Promise<{ users: number; stored: number; version: string; seconds: number }> {
  const t0 = performance.now();
  const { store } = deps;
  const now = opts.now ?? Date.now();
  const scaler = deps.weights.behaviour > 0 ? (opts.refit === false ? await ensureBehaviourScaler(store, now) : await fitBehaviourScaler(store, now)) : null;
  // Reindex re-pins the item model to the active one (the behaviour scaler's rule).
  const itemModel = deps.weights.items > 0 ? (opts.refit === false ? await ensureItemModel(store, now) : await pinItemModel(store, now)) : null;
  const layout = vectorLayout(deps.embedder, scaler, deps.weights, itemModel);
  const behaviour = scaler ? await behaviourVectors(store, scaler, now) : new Map<number, Float32Array>();
  const ids = await store.profiles.userIdsWithEvents();
  let stored = 0;
  for (let i = 0; i < ids.length; i += 500) {
    const built: Built[] = [];
    for (const id of ids.slice(i, i + 500)) built.push(await buildUserVector(deps, id, layout, scaler, now, behaviour.get(id) ?? null, itemModel));
    const at = Date.now();
    const writes = built.map((b) => toWrite(b, at)).filter((w): w is ProfileWrite => w !== null);
    await store.profiles.writeMany(
      writes,
      built.filter((b) => !b.row).map((b) => b.userId),
    );
    stored += writes.length;
    opts.log?.(`  vectors ${Math.min(i + 500, ids.length)}/${ids.length}`);
  }
  await store.profiles.removeNotOfVersion(layout.version);
  return { users: ids.length, stored, version: layout.version, seconds: (performance.now() - t0) / 1000 };
}
