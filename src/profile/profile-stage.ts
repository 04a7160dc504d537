/**
 * The profile stage: builds a user's vector (src/profile/vector.ts) from the text embedding, the
 * behaviour features and the traits, and stores it with its version in user_profiles. SQLite is the
 * source of truth; the HNSW index (src/similar/) is a cache the index owner syncs from this table.
 */
import { effectiveConsent } from '../core/consent.ts';
import type { Config } from '../core/config.ts';
import type { ConsentFlag, Trait } from '../core/types.ts';
import type { Db } from '../db/connection.ts';
import { deleteProfile, deleteProfilesNotOfVersion, upsertProfile, userIdsWithEvents } from '../db/profiles.ts';
import { currentTraits } from '../db/users.ts';
import { getUserEmbedding } from '../embed/embed-stage.ts';
import type { Embedder } from '../providers/types.ts';
import { behaviourVectors, ensureBehaviourScaler, fitBehaviourScaler, loadBehaviourScaler, type BehaviourScaler } from './behaviour.ts';
import { composeVector, vectorLayout, weightsFromConfig, type BlockName, type BlockWeights, type VectorLayout } from './vector.ts';

export interface ProfileDeps {
  db: Db;
  embedder: Embedder;
  weights: BlockWeights;
  defaultConsent: readonly ConsentFlag[];
}

export const profileDepsFromConfig = (db: Db, embedder: Embedder, config: Config): ProfileDeps => ({
  db,
  embedder,
  weights: weightsFromConfig(config),
  defaultConsent: config.TRAITLENS_DEFAULT_CONSENT,
});

// Vectors and summaries are derived data: their sections in src/db/stores/user-data.ts erase them
// with the user and on profiling withdrawal.

/** The current layout; fits the behaviour scaler the first time it is needed (behaviour weight > 0). */
export function currentLayout(deps: ProfileDeps, opts: { fit?: boolean } = {}): { layout: VectorLayout; scaler: BehaviourScaler | null } {
  const scaler = deps.weights.behaviour > 0 ? (opts.fit === false ? loadBehaviourScaler(deps.db) : ensureBehaviourScaler(deps.db)) : null;
  return { layout: vectorLayout(deps.embedder, scaler, deps.weights), scaler };
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

async function buildUserVector(deps: ProfileDeps, userId: number, layout: VectorLayout, scaler: BehaviourScaler | null, now: number, behaviourGiven?: Float32Array | null): Promise<Built> {
  const { db } = deps;
  const user = db.stmt('SELECT consent, profile_version FROM users WHERE id = ?').get(userId) as { consent: string | null; profile_version: number } | undefined;
  if (!user || !effectiveConsent(user.consent, deps.defaultConsent).profiling) return { userId, version: layout.version, row: null };
  const consent = effectiveConsent(user.consent, deps.defaultConsent);
  // Trait phrases are derived from the user's text: they go to a remote embedder only with
  // llm_processing consent (as the text does in the embed stage); else both text blocks stay empty.
  const textAllowed = deps.embedder.id.startsWith('offline:') || consent.llm_processing;
  const text = textAllowed ? (getUserEmbedding(db, userId, deps.embedder.id)?.vector ?? null) : null;
  const behaviour = behaviourGiven !== undefined ? behaviourGiven : scaler ? (behaviourVectors(db, scaler, now, [userId]).get(userId) ?? null) : null;
  const traits = textAllowed ? await traitBlock(deps.embedder, currentTraits(db, userId)) : null;
  const composed = composeVector(layout, { text, behaviour, traits });
  return { userId, version: layout.version, row: composed ? { ...composed, profileVersion: user.profile_version } : null };
}

function writeBuilt(db: Db, b: Built): ProfileReport {
  if (!b.row) {
    deleteProfile(db, b.userId);
    return { userId: b.userId, stored: false, version: b.version, blocks: null };
  }
  upsertProfile(db, { userId: b.userId, version: b.version, vector: b.row.vector, blocks: b.row.present, profileVersion: b.row.profileVersion, updatedAt: Date.now() });
  return { userId: b.userId, stored: true, version: b.version, blocks: b.row.present };
}

/**
 * Recomputes and stores one user's vector (called by the per-user refresh job after embeddings).
 * Without profiling consent, or with no data at all, the stored vector is removed.
 */
export async function updateUserProfile(deps: ProfileDeps, userId: number, opts: { now?: number } = {}): Promise<ProfileReport> {
  const { layout, scaler } = currentLayout(deps);
  return writeBuilt(deps.db, await buildUserVector(deps, userId, layout, scaler, opts.now ?? Date.now()));
}

/**
 * Recomputes every user's vector: refits the behaviour scaler on the whole population first
 * (unless `refit` is false), computing the behaviour features in one pass, writing in batches.
 * Rows of other versions are removed at the end.
 */
export async function rebuildAllProfiles(deps: ProfileDeps, opts: { refit?: boolean; now?: number; log?: (m: string) => void } = {}): Promise<{ users: number; stored: number; version: string; seconds: number }> {
  const t0 = performance.now();
  const { db } = deps;
  const now = opts.now ?? Date.now();
  const scaler = deps.weights.behaviour > 0 ? (opts.refit === false ? ensureBehaviourScaler(db, now) : fitBehaviourScaler(db, now)) : null;
  const layout = vectorLayout(deps.embedder, scaler, deps.weights);
  const behaviour = scaler ? behaviourVectors(db, scaler, now) : new Map<number, Float32Array>();
  const ids = userIdsWithEvents(db);
  let stored = 0;
  for (let i = 0; i < ids.length; i += 500) {
    const built: Built[] = [];
    for (const id of ids.slice(i, i + 500)) built.push(await buildUserVector(deps, id, layout, scaler, now, behaviour.get(id) ?? null));
    db.sqlite.transaction(() => {
      for (const b of built) if (writeBuilt(db, b).stored) stored++;
    }).immediate();
    opts.log?.(`  vectors ${Math.min(i + 500, ids.length)}/${ids.length}`);
  }
  deleteProfilesNotOfVersion(db, layout.version);
  return { users: ids.length, stored, version: layout.version, seconds: (performance.now() - t0) / 1000 };
}
