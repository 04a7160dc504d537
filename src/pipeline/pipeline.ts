import { resolve } from 'node:path';
import type { Config } from '../core/config.ts';
import type { Store } from '../db/store.ts';
import type { UserDataSection } from '../db/user-data.ts';
import { REFRESH_JOB } from '../db/stores/events.ts';
import { loadUserEvents, type UserEvents } from '../features/compute.ts';
import { updateComputedTraits, type ComputedTraitsResult } from '../features/traits.ts';
import { interactionItemsFromEvents, interactionScanKeys } from '../features/items.ts';
import { listModels } from '../predict/registry.ts';
import type { LoadedModel, ScoreSummary } from '../predict/score.ts';
import { embedUser, type EmbedReport } from '../embed/embed-stage.ts';
import { Worker, workerDefaults, type WorkerOptions } from '../jobs/worker.ts';
import { eraseDerived } from '../db/privacy.ts';
import { OfflineEmbedder, type Embedder, type Providers } from '../providers/index.ts';
import type { Trait } from '../core/types.ts';
import type { Catalogue } from '../traits/catalogue.ts';
import { extractTraitsForUsersSettled, type TraitStageDeps, type TraitStageOutcome, type TraitStageReport } from '../traits/extract-stage.ts';
import { LlmExtractor } from '../traits/llm-extractor.ts';
import { OfflineExtractor } from '../traits/offline.ts';
import { profileDepsFromConfig, profileItems, updateUserProfiles, type ProfileOutcome, type ProfileReport, type ProfileUpdate } from '../profile/profile-stage.ts';
import { ITEMS_TRAIN_JOB, itemsTrainHandler, startItemRetrainSchedule } from './item-embeddings.ts';
import type { WorkerClock } from '../jobs/worker.ts';

/** Users whose trait merges share one transaction, at most (a slice larger than this takes several; a bounded write transaction, and a bounded retry when one fails). */
const TRAIT_GROUP_MAX = 64;

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

export type RefreshOutcome = { ok: true; report: RefreshReport } | { ok: false; error: unknown };

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
  /** Runs every stage for several users (the worker's slice), batching the behaviour stage; one outcome per id, in order. */
  refreshUsers(userIds: readonly number[]): Promise<RefreshOutcome[]>;
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
  let scoreModule: Promise<typeof import('../predict/score.ts')> | undefined;
  // The trained models as of now (a changed models directory is seen at the next refresh).
  const currentModels = async () => {
    // No trained model: skip scoring quietly, and without loading tfjs (score.ts pulls it in). The
    // module is imported once (a dynamic import per refresh goes through the loader every time).
    const listing = listModels({ dir: modelsDir });
    const score = listing.length ? await (scoreModule ??= import('../predict/score.ts')) : null;
    const models = score ? await score.loadLatestModels({ dir: modelsDir, listing }) : [];
    return { score, models };
  };
  // The user's events are read once: computed traits, every model's features, the profile's
  // behaviour block and its item block (the interaction keys are extracted too).
  const itemSelection = profileItems(profileDeps);
  const itemKeys = interactionScanKeys(itemSelection);
  const readEvents = (userId: number, at: number, models: readonly LoadedModel[]) =>
    loadUserEvents(
      store.features,
      userId,
      at,
      models.map((m) => m.artefact.schema),
      itemKeys,
    );
  const refreshBehaviour = async (userId: number) => {
    const at = parts.featuresAsOf ?? Date.now();
    const { score, models } = await currentModels();
    const events = await readEvents(userId, at, models);
    const computed = await updateComputedTraits(store, userId, { asOf: at, events });
    const scores = score ? await score.scoreUser(store, userId, { dir: modelsDir, asOf: at, events, models }) : [];
    return { report: { computed, scores }, events };
  };
  /** Several users' behaviour stage with one model listing, and one forward pass and one write per model. */
  const refreshBehaviourBatch = async (userIds: readonly number[]) => {
    const at = parts.featuresAsOf ?? Date.now();
    const { score, models } = await currentModels();
    const all: UserEvents[] = [];
    const computed = new Map<number, ComputedTraitsResult>();
    // Each user's current traits are read once: what computed traits and predictions compare with
    // (nothing changed: no write transaction), and, when nothing was written, the vector's trait block.
    const current = new Map<number, Trait[]>();
    for (const userId of userIds) {
      const events = await readEvents(userId, at, models);
      all.push(events);
      current.set(userId, await store.traits.current(userId));
      computed.set(userId, await updateComputedTraits(store, userId, { asOf: at, events, current: current.get(userId) as Trait[] }));
    }
    const scores = score ? await score.scoreUsersFromEvents(store.traits, store.features, all, { models, current }) : null;
    return new Map(
      all.map((events) => {
        const c = computed.get(events.userId) as ComputedTraitsResult;
        const s = scores?.get(events.userId) ?? [];
        const unchanged = c.written === 0 && c.closed === 0 && s.every((x) => x.changed === 0);
        return [events.userId, { report: { computed: c, scores: s }, events, traits: unchanged ? current.get(events.userId) : undefined }];
      }),
    );
  };
  // A remote embedding endpoint is a model provider too: text goes there only with llm_processing
  // consent; other users' signals are embedded offline (vectors are keyed by embedder, never mixed).
  let offlineEmbedder: Embedder | undefined;
  const embedderFor = async (userId: number): Promise<Embedder> =>
    providers.embedder.id.startsWith('offline:') || (await store.users.hasConsent(userId, 'llm_processing', config.TRAITLENS_DEFAULT_CONSENT))
      ? providers.embedder
      : (offlineEmbedder ??= new OfflineEmbedder({ cacheDir: config.TRAITLENS_CACHE_DIR, removePrincipalComponent: config.TRAITLENS_OFFLINE_REMOVE_PC }));
  /**
   * Refreshes several users (a slice of the job worker): the trait stage for all of them with
   * their merges in one transaction (extractTraitsForUsersSettled), then each user's text
   * embedding, then the behaviour stage for all of them at once (one model listing, one forward
   * pass and one predictions transaction per model), then each user's vector (the changed ones
   * written in one transaction). Users fail alone: a
   * failed trait group is retried one merge per transaction, and when the batched behaviour stage
   * fails, each user's is run on its own.
   */
  const refreshUsers = async (userIds: readonly number[]): Promise<RefreshOutcome[]> => {
    const done = new Map<number, RefreshOutcome>();
    const open: { userId: number; traits: TraitStageReport; emb: EmbedReport | null; ms: StageMs }[] = [];
    const ids = [...new Set(userIds)];
    // The trait stage for the whole slice, the users' merges in one transaction (one commit instead
    // of one per user; a user with several batches, or a failed group, takes more). Users fail alone.
    const t0 = performance.now();
    const staged = await extractTraitsForUsersSettled(traitDeps, ids, { groupUsers: Math.min(ids.length, TRAIT_GROUP_MAX) });
    const traitShare = (performance.now() - t0) / Math.max(1, ids.length);
    for (const [i, userId] of ids.entries()) {
      const ms: StageMs = { traits: traitShare };
      const st = staged[i] as TraitStageOutcome;
      if (!st.ok) {
        done.set(userId, { ok: false, error: st.error });
        continue;
      }
      try {
        const traits = st.report;
        if (traits.skipped === 'no_profiling_consent') {
          const t = performance.now();
          await eraseDerived(store.exec, parts.userData, userId);
          ms.traits = traitShare + (performance.now() - t);
        }
        const t = performance.now();
        const emb = embeddings && !traits.skipped ? await embedUser(store.embeddings, await embedderFor(userId), userId, { now: parts.featuresAsOf }) : null;
        if (emb) ms.embed = performance.now() - t;
        if (traits.skipped) done.set(userId, { ok: true, report: { traits, embeddings: emb, ms } });
        else open.push({ userId, traits, emb, ms });
      } catch (error) {
        done.set(userId, { ok: false, error });
      }
    }
    if (open.length) {
      const t0 = performance.now();
      let batch: Awaited<ReturnType<typeof refreshBehaviourBatch>> | null;
      try {
        batch = await refreshBehaviourBatch(open.map((o) => o.userId));
      } catch {
        batch = null;
      }
      const share = (performance.now() - t0) / open.length;
      const vectors: { o: (typeof open)[number]; b: NonNullable<RefreshReport['behaviour']>; update: ProfileUpdate }[] = [];
      for (const o of open) {
        const { userId, traits, emb, ms } = o;
        try {
          let b: { report: NonNullable<RefreshReport['behaviour']>; events: UserEvents; traits?: Trait[] | undefined } | undefined = batch?.get(userId);
          if (b) ms.behaviour = share;
          else {
            const t = performance.now();
            b = await refreshBehaviour(userId);
            ms.behaviour = performance.now() - t;
          }
          if (!embeddings) done.set(userId, { ok: true, report: { traits, embeddings: emb, behaviour: b.report, ms } });
          else {
            // the item block's interactions from the events already read (null: the store's SQL decides)
            const items = interactionItemsFromEvents(b.events, itemSelection, b.events.asOf + 1);
            vectors.push({
              o,
              b: b.report,
              update: { userId, now: b.events.asOf, events: b.events, ...(b.traits ? { traits: b.traits } : {}), ...(items ? { items } : {}) },
            });
          }
        } catch (error) {
          done.set(userId, { ok: false, error });
        }
      }
      // The slice's vectors: built one by one, the changed ones written in one transaction.
      if (vectors.length) {
        const t = performance.now();
        const profiles = await updateUserProfiles(
          profileDeps,
          vectors.map((v) => v.update),
        );
        const vshare = (performance.now() - t) / vectors.length;
        vectors.forEach(({ o, b }, i) => {
          const p = profiles[i] as ProfileOutcome;
          o.ms.profile = vshare;
          done.set(o.userId, p.ok ? { ok: true, report: { traits: o.traits, embeddings: o.emb, behaviour: b, profile: p.report, ms: o.ms } } : { ok: false, error: p.error });
        });
      }
    }
    return userIds.map((u) => done.get(u) as RefreshOutcome);
  };
  const refreshUser = async (userId: number): Promise<RefreshReport> => {
    const [o] = await refreshUsers([userId]);
    if (!o?.ok) throw o?.error;
    return o.report;
  };
  // The worker runs a slice's jobs at once: their refreshes are gathered into one refreshUsers call.
  let gathered: { userId: number; resolve: () => void; reject: (err: unknown) => void }[] = [];
  const refreshGathered = (userId: number) =>
    new Promise<void>((resolve, reject) => {
      gathered.push({ userId, resolve, reject });
      if (gathered.length > 1) return;
      queueMicrotask(() => {
        const slice = gathered;
        gathered = [];
        refreshUsers(slice.map((g) => g.userId)).then(
          (outs) =>
            slice.forEach((g, i) => {
              const o = outs[i] as RefreshOutcome;
              if (o.ok) g.resolve();
              else g.reject(o.error);
            }),
          (err: unknown) => {
            for (const g of slice) g.reject(err);
          },
        );
      });
    });
  return {
    providers,
    catalogue,
    traitDeps,
    refreshUser,
    refreshUsers,
    createWorker: (wopts) =>
      new Worker(
        store.jobs,
        {
          [REFRESH_JOB]: async (job) => {
            if (job.userId !== null) await refreshGathered(job.userId);
          },
          [ITEMS_TRAIN_JOB]: itemsTrainHandler(store, config),
        },
        { ...workerDefaults(config), ...wopts },
      ),
    startItemSchedule: (sopts = {}) => startItemRetrainSchedule(store, config, sopts).stop,
  };
}
