import { resolve } from 'node:path';
import type { Config } from '../core/config.ts';
import type { Store } from '../db/store.ts';
import type { UserDataSection } from '../db/user-data.ts';
import { REFRESH_JOB } from '../db/stores/events.ts';
import { loadUserEvents } from '../features/compute.ts';
import { updateComputedTraits, type ComputedTraitsResult } from '../features/traits.ts';
import { listModels } from '../predict/registry.ts';
import type { ScoreSummary } from '../predict/score.ts';
import { embedUser, type EmbedReport } from '../embed/embed-stage.ts';
import { Worker, workerDefaults, type WorkerOptions } from '../jobs/worker.ts';
import { eraseDerived } from '../db/privacy.ts';
import { OfflineEmbedder, type Embedder, type Providers } from '../providers/index.ts';
import type { Catalogue } from '../traits/catalogue.ts';
import { extractTraitsForUser, type TraitStageDeps, type TraitStageReport } from '../traits/extract-stage.ts';
import { LlmExtractor } from '../traits/llm-extractor.ts';
import { OfflineExtractor } from '../traits/offline.ts';
import { profileDepsFromConfig, updateUserProfile, type ProfileReport } from '../profile/profile-stage.ts';
import { ITEMS_TRAIN_JOB, itemsTrainHandler, startItemRetrainSchedule } from './item-embeddings.ts';
import type { WorkerClock } from '../jobs/worker.ts';

export interface RefreshReport {
  traits: TraitStageReport;
  embeddings: EmbedReport | null;
  /** computed traits and model scores; absent without profiling consent */
  behaviour?: { computed: ComputedTraitsResult; scores: ScoreSummary[] };
  /** the user vector (src/profile); the index owner picks it up from SQLite */
  profile?: ProfileReport;
  /** wall milliseconds per stage (bench/pipeline sums them); a stage that did not run is absent */
  ms: StageMs;
}

export interface StageMs {
  traits?: number;
  /** the text embedding */
  embed?: number;
  /** events read, features, computed traits and model scores */
  behaviour?: number;
  /** the user vector */
  profile?: number;
}

export interface Pipeline {
  providers: Providers;
  catalogue: Catalogue;
  traitDeps: TraitStageDeps;
  /** Runs every stage for one user: traits, then the text vector. */
  refreshUser(userId: number): Promise<RefreshReport>;
  /** The job worker with every job kind's handler. */
  createWorker(opts?: WorkerOptions): Worker;
  /**
   * The item embeddings' retraining schedule (src/pipeline/item-embeddings.ts): enqueues an
   * `items.train` job when due. Started beside a long-running worker; returns its stop function.
   */
  startItemSchedule(opts?: { clock?: WorkerClock; onEnqueued?: (s: { reason: string; newInteractions: number }) => void; onError?: (err: unknown) => void }): () => void;
}

export interface PipelineParts {
  /** already metered (the composition root wraps them once) */
  providers: Providers;
  catalogue: Catalogue;
  /** every kind of per-user data: withdrawn profiling consent removes the derived ones */
  userData: readonly UserDataSection[];
  /** build text embeddings and user vectors (default true) */
  embeddings?: boolean;
  /** cut-off for behavioural features and scoring (default: now; the demo pins its data's end) */
  featuresAsOf?: number;
}

/**
 * Wires the stages to the providers: the LLM extractor when an endpoint is configured (and a user
 * consented), the offline extractor always. Built once by the composition root (src/runtime); the
 * same pipeline runs in the server's worker thread, in `traitlens worker`, and in `traitlens process`.
 */
export function createPipeline(store: Store, config: Config, parts: PipelineParts): Pipeline {
  const { providers, catalogue } = parts;
  const traitDeps: TraitStageDeps = {
    traits: store.traits,
    users: store.users,
    catalogue,
    offline: new OfflineExtractor(catalogue, config.TRAITLENS_SENSITIVE_ALLOW),
    llm: providers.chat ? new LlmExtractor(store.llm, providers.chat, catalogue) : null,
    defaultConsent: config.TRAITLENS_DEFAULT_CONSENT,
    batchTokens: config.TRAITLENS_EXTRACT_BATCH_TOKENS,
    sensitiveAllow: config.TRAITLENS_SENSITIVE_ALLOW,
  };
  const embeddings = parts.embeddings ?? true;
  const profileDeps = profileDepsFromConfig(store, providers.embedder, config);
  const modelsDir = resolve(config.TRAITLENS_MODELS_DIR);
  const refreshBehaviour = async (userId: number) => {
    const at = parts.featuresAsOf ?? Date.now();
    // No trained model: skip scoring quietly, and without loading tfjs (score.ts pulls it in).
    const score = listModels({ dir: modelsDir }).length ? await import('../predict/score.ts') : null;
    const models = score ? await score.loadLatestModels({ dir: modelsDir }) : [];
    // The user's events are read once: computed traits, every model's features, the profile's behaviour block.
    const events = await loadUserEvents(
      store.features,
      userId,
      at,
      models.map((m) => m.artefact.schema),
    );
    const computed = await updateComputedTraits(store, userId, { asOf: at, events });
    const scores = score ? await score.scoreUser(store, userId, { dir: modelsDir, asOf: at, events, models }) : [];
    return { report: { computed, scores }, events };
  };
  // A remote embedding endpoint is a model provider too: text goes there only with llm_processing
  // consent; other users' signals are embedded offline (vectors are keyed by embedder, never mixed).
  let offlineEmbedder: Embedder | undefined;
  const embedderFor = async (userId: number): Promise<Embedder> =>
    providers.embedder.id.startsWith('offline:') || (await store.users.hasConsent(userId, 'llm_processing', config.TRAITLENS_DEFAULT_CONSENT))
      ? providers.embedder
      : (offlineEmbedder ??= new OfflineEmbedder({ cacheDir: config.TRAITLENS_CACHE_DIR, removePrincipalComponent: config.TRAITLENS_OFFLINE_REMOVE_PC }));
  const refreshUser = async (userId: number): Promise<RefreshReport> => {
    const ms: StageMs = {};
    let t = performance.now();
    const lap = (stage: keyof StageMs) => {
      const now = performance.now();
      ms[stage] = now - t;
      t = now;
    };
    const traits = await extractTraitsForUser(traitDeps, userId);
    // Without profiling consent no derived data is built, vectors included, and any built before
    // (consent withdrawn, or the default changed) is removed through the per-user data sections.
    if (traits.skipped === 'no_profiling_consent') await eraseDerived(store.exec, parts.userData, userId);
    lap('traits');
    const emb = embeddings && !traits.skipped ? await embedUser(store.embeddings, await embedderFor(userId), userId, { now: parts.featuresAsOf }) : null;
    if (emb) lap('embed');
    if (traits.skipped) return { traits, embeddings: emb, ms };
    const { report: behaviour, events } = await refreshBehaviour(userId);
    lap('behaviour');
    // The user vector last: it reads the text embedding and the computed/predicted traits.
    if (!embeddings) return { traits, embeddings: emb, behaviour, ms };
    const profile = await updateUserProfile(profileDeps, userId, { now: events.asOf, events });
    lap('profile');
    return { traits, embeddings: emb, behaviour, profile, ms };
  };
  return {
    providers,
    catalogue,
    traitDeps,
    refreshUser,
    createWorker: (wopts) =>
      new Worker(
        store.jobs,
        {
          [REFRESH_JOB]: async (job) => {
            if (job.userId !== null) await refreshUser(job.userId);
          },
          [ITEMS_TRAIN_JOB]: itemsTrainHandler(store, config),
        },
        { ...workerDefaults(config), ...wopts },
      ),
    startItemSchedule: (sopts = {}) => startItemRetrainSchedule(store, config, sopts).stop,
  };
}
