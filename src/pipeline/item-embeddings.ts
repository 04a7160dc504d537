/**
 * Training item embeddings over the store (`traitlens train-items`, the pipeline's retraining):
 * fill the catalogue with the items events name (`learned` rows), read every interaction of users
 * with profiling consent up to a snapshot event id, train (src/items/embeddings.ts), save the
 * version as the active one with the snapshot in its card.
 *
 * Retraining is decided by `itemRetrainStatus`: no model yet, `TRAITLENS_ITEM_RETRAIN_INTERACTIONS`
 * new interactions since the active model's snapshot, or a model older than
 * `TRAITLENS_ITEM_RETRAIN_MS` with any new interaction. The schedule enqueues one `items.train` job
 * when due (the durable queue: one worker runs it, retried on failure); the job checks again, so a
 * second worker's duplicate does nothing. Erased users and users who withdrew profiling consent are
 * not read, so they stop influencing the embeddings at the next retrain.
 */
import type { Config } from '../core/config.ts';
import { UnprocessableError } from '../core/errors.ts';
import type { Store } from '../db/store.ts';
import { interactionSelection, type Interaction } from '../db/stores/items.ts';
import type { WorkerClock } from '../jobs/worker.ts';
import { systemClock } from '../jobs/worker.ts';
import type { TrainedItemEmbeddings, TrainItemsOptions } from '../items/embeddings.ts';

export const ITEMS_TRAIN_JOB = 'items.train';

/** Interactions needed before a first model is trained by the schedule. */
const FIRST_MODEL_MIN_INTERACTIONS = 10;

type ItemConfig = Pick<
  Config,
  | 'TRAITLENS_ITEM_PROPERTIES'
  | 'TRAITLENS_ITEM_WEIGHT_PROPERTY'
  | 'TRAITLENS_ITEM_EVENT_TYPES'
  | 'TRAITLENS_ITEM_DIM'
  | 'TRAITLENS_ITEM_METHOD'
  | 'TRAITLENS_ITEM_RETRAIN_INTERACTIONS'
  | 'TRAITLENS_ITEM_RETRAIN_MS'
  | 'TRAITLENS_DEFAULT_CONSENT'
>;

export interface ItemTrainReport {
  version: string;
  dim: number;
  items: number;
  interactions: number;
  users: number;
  /** catalogue rows added for items seen in events only */
  learned: number;
  throughEventId: number;
  seconds: number;
  card: Record<string, unknown>;
}

export type ItemTrainOptions = Omit<TrainItemsOptions, 'now'> & { now?: () => number };

/** Trains and saves a new active version. Throws UnprocessableError when there is too little to learn from. */
export async function trainStoreItemEmbeddings(store: Store, config: ItemConfig, opts: ItemTrainOptions = {}): Promise<ItemTrainReport> {
  const now = opts.now ?? Date.now;
  const started = performance.now();
  const selection = interactionSelection(config);
  const throughEventId = await store.items.maxEventId();
  const consent = { flag: 'profiling' as const, defaults: config.TRAITLENS_DEFAULT_CONSENT };
  // The catalogue learns every item events name (not only consenting users' ones: an item id is no personal data).
  const learned = await store.items.learn({ ...selection, throughEventId }, now());
  // What the model is built from, counted the way itemRetrainStatus counts: fewer later means data was erased or consent withdrawn.
  const counted = await store.items.countInteractions({ ...selection, throughEventId, consent });
  const rows: { user: number; item: string; weight: number; ts: number }[] = [];
  for await (const page of store.items.interactions({ ...selection, throughEventId, consent }))
    for (const r of page as Interaction[]) rows.push({ user: r.userId, item: r.item, weight: r.weight, ts: r.ts });
  if (!rows.length)
    throw new UnprocessableError(
      'no item interactions to learn from (events naming an item, from users with profiling consent)',
      { itemProperties: selection.itemProperties },
      'no_interactions',
    );
  let trained: TrainedItemEmbeddings;
  try {
    // Loaded on first use: the trainer pulls in tfjs, which the rest of the pipeline may never need.
    const { trainItemEmbeddings } = await import('../items/embeddings.ts');
    trained = await trainItemEmbeddings(rows, { dim: config.TRAITLENS_ITEM_DIM, method: config.TRAITLENS_ITEM_METHOD, ...opts, now });
  } catch (err) {
    // The trainer refuses too little data with a plain Error: a client-side condition, not a crash.
    if (err instanceof Error && /^(not enough items|no baskets)/.test(err.message))
      throw new UnprocessableError(err.message, { interactions: rows.length }, 'too_few_interactions');
    throw err;
  }
  const card = {
    ...trained.card,
    data: {
      interactions: rows.length,
      users: new Set(rows.map((r) => r.user)).size,
      throughEventId,
      counted,
      itemProperties: selection.itemProperties,
      weightProperty: selection.weightProperty ?? null,
      eventTypes: selection.types ?? null,
      consent: 'profiling',
    },
  };
  const createdAt = now();
  await store.items.saveEmbeddings({ version: trained.version, dim: trained.dim, card, items: trained.items, vectors: trained.vectors, createdAt });
  return {
    version: trained.version,
    dim: trained.dim,
    items: trained.items.length,
    interactions: rows.length,
    users: card.data.users,
    learned,
    throughEventId,
    seconds: Math.round((performance.now() - started) / 10) / 100,
    card,
  };
}

export interface ItemRetrainStatus {
  due: boolean;
  reason: 'no_model' | 'new_interactions' | 'schedule' | 'data_removed' | 'up_to_date' | 'too_few_interactions' | 'disabled';
  newInteractions: number;
  active: { version: string; createdAt: number; throughEventId: number } | null;
}

/** Whether the item embeddings should be retrained now. */
export async function itemRetrainStatus(store: Store, config: ItemConfig, now: number, memo: { removalCheckedAt?: number } = {}): Promise<ItemRetrainStatus> {
  const threshold = config.TRAITLENS_ITEM_RETRAIN_INTERACTIONS;
  const period = config.TRAITLENS_ITEM_RETRAIN_MS;
  const v = await store.items.activeEmbeddingsVersion();
  const selection = interactionSelection(config);
  if (!v) {
    const n = await store.items.countInteractions(selection);
    if (!threshold && !period) return { due: false, reason: 'disabled', newInteractions: n, active: null };
    return n >= FIRST_MODEL_MIN_INTERACTIONS
      ? { due: true, reason: 'no_model', newInteractions: n, active: null }
      : { due: false, reason: 'too_few_interactions', newInteractions: n, active: null };
  }
  const model = await store.items.activeEmbeddings();
  const data = (model?.card.data ?? {}) as { throughEventId?: unknown; counted?: unknown };
  const throughEventId = typeof data.throughEventId === 'number' ? data.throughEventId : 0;
  const active = { version: v.version, createdAt: v.createdAt, throughEventId };
  const n = await store.items.countInteractions({ ...selection, afterEventId: throughEventId });
  if (threshold > 0 && n >= threshold) return { due: true, reason: 'new_interactions', newInteractions: n, active };
  if (period > 0 && now - v.createdAt >= period) {
    if (n > 0) return { due: true, reason: 'schedule', newInteractions: n, active };
    // Nothing new, but some of what the model learned from may be gone (an erased user, withdrawn
    // consent): their influence lasts at most one period. A full count, so only once per period.
    // `memo` (the schedule's) keeps that to once per period.
    const consent = { flag: 'profiling' as const, defaults: config.TRAITLENS_DEFAULT_CONSENT };
    if (typeof data.counted === 'number' && !(memo.removalCheckedAt !== undefined && now - memo.removalCheckedAt < period)) {
      memo.removalCheckedAt = now;
      if ((await store.items.countInteractions({ ...selection, throughEventId, consent })) < data.counted) return { due: true, reason: 'data_removed', newInteractions: n, active };
    }
  }
  if (!threshold && !period) return { due: false, reason: 'disabled', newInteractions: n, active };
  return { due: false, reason: 'up_to_date', newInteractions: n, active };
}

/**
 * The `items.train` job: trains unless a model was saved after the job was enqueued (another
 * worker's duplicate, or a manual train-items, already did it).
 */
export function itemsTrainHandler(store: Store, config: ItemConfig, opts: { now?: () => number; train?: ItemTrainOptions; onTrained?: (r: ItemTrainReport) => void } = {}) {
  return async (job: { createdAt: number }): Promise<void> => {
    const v = await store.items.activeEmbeddingsVersion();
    if (v && v.createdAt >= job.createdAt) return;
    try {
      // (Not `onTrained?.(await …)`: an optional call skips evaluating its arguments.)
      const report = await trainStoreItemEmbeddings(store, config, { ...opts.train, ...(opts.now ? { now: opts.now } : {}) });
      opts.onTrained?.(report);
    } catch (err) {
      // Too little data is no failure worth retrying: the schedule decides again later.
      if (err instanceof UnprocessableError) return;
      throw err;
    }
  };
}

/** How often the schedule checks (at most): the threshold is noticed within a minute. */
export const ITEM_CHECK_MS = 60_000;

/**
 * The retraining schedule of one worker: every min(TRAITLENS_ITEM_RETRAIN_MS, 1 min) it checks
 * `itemRetrainStatus` and enqueues an `items.train` job when due (unless one is pending).
 * Off when both TRAITLENS_ITEM_RETRAIN_INTERACTIONS and TRAITLENS_ITEM_RETRAIN_MS are 0.
 */
export function startItemRetrainSchedule(
  store: Store,
  config: ItemConfig,
  opts: { clock?: WorkerClock; onEnqueued?: (s: ItemRetrainStatus) => void; onError?: (err: unknown) => void } = {},
): { stop(): void; tick(): Promise<boolean> } {
  const clock = opts.clock ?? systemClock;
  const memo: { removalCheckedAt?: number } = {};
  let running = false;
  const tick = async (): Promise<boolean> => {
    if (running) return false;
    running = true;
    try {
      const st = await itemRetrainStatus(store, config, clock.now(), memo);
      if (!st.due) return false;
      if ((await store.jobs.list('pending', 1000)).some((j) => j.kind === ITEMS_TRAIN_JOB)) return false;
      await store.jobs.enqueue(ITEMS_TRAIN_JOB, null, { reason: st.reason, newInteractions: st.newInteractions }, clock.now());
      opts.onEnqueued?.(st);
      return true;
    } catch (err) {
      opts.onError?.(err);
      return false;
    } finally {
      running = false;
    }
  };
  const period = config.TRAITLENS_ITEM_RETRAIN_MS;
  if (!config.TRAITLENS_ITEM_RETRAIN_INTERACTIONS && !period) return { stop: () => {}, tick };
  const every = period > 0 ? Math.min(period, ITEM_CHECK_MS) : ITEM_CHECK_MS;
  const stop = clock.every(every, () => void tick());
  return { stop, tick };
}
