/**
 * The item service behind the API's items and recommendations: the active item embeddings (cached
 * per version), nearest items, and recommendations ranked by `rankRecommendations` (rank.ts, the
 * same code the eval measures). Candidates come from the item-embedding neighbours of the user's
 * items, from the items of similar users, and from popularity (the only source for a new user).
 *
 * Consent: a user without profiling consent gets popular items only, nothing of their history
 * used; neighbours and popularity count only users with profiling consent.
 */
import { ConflictError, NotFoundError } from '../core/errors.ts';
import { consentCondition } from '../db/filters.ts';
import { interactionSelection, type ItemEmbeddingModel, type ItemRow, type InteractionSelection } from '../db/stores/items.ts';
import type { ProfileServices } from '../similar/services.ts';
import { nearest } from '../similar/similar.ts';
import type { Reason } from './rank.ts';

// The trainer module (and rank.ts through it) loads tfjs: imported on first use, so the server and
// the CLI start without it.
const itemsModule = () => import('../items/embeddings.ts');
const rankModule = () => import('./rank.ts');

export interface ItemSummary {
  item: string;
  title: string | null;
  category: string | null;
}

export interface ItemRecommendation extends ItemSummary {
  score: number;
  reasons: Reason[];
}

export interface RecommendResult {
  recommendations: ItemRecommendation[];
  /** similar users drawn from */
  neighbours: number;
  /** the user's own items considered (0 without profiling consent) */
  owned: number;
  /** the item embeddings used; null when none is trained */
  embeddingsVersion: string | null;
  excludeOwned: boolean;
  note?: string;
}

export interface SimilarItemsResult {
  item: ItemSummary;
  embeddingsVersion: string;
  results: (ItemSummary & { score: number })[];
}

export interface ItemServiceOptions {
  /** clock for the popularity cache */
  now?: () => number;
  /** popularity (a scan of every interaction) is recomputed at most this often (default 5 min) */
  popularityTtlMs?: number;
  /** items kept in the popularity table (default 500) */
  popularityPool?: number;
}

const summary = (item: string, row: ItemRow | undefined): ItemSummary => ({ item, title: row?.title ?? null, category: row?.category ?? null });

/** One per runtime: it caches the active item embeddings and the popularity table. */
export class ItemService {
  private cached: ItemEmbeddingModel | undefined;
  private popular: { at: number; map: Map<string, number> } | undefined;
  private readonly now: () => number;
  private readonly ttl: number;
  private readonly pool: number;
  readonly selection: InteractionSelection;

  constructor(
    private readonly s: ProfileServices,
    opts: ItemServiceOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.ttl = opts.popularityTtlMs ?? 300_000;
    this.pool = opts.popularityPool ?? 500;
    this.selection = interactionSelection(s.config);
  }

  private get consent() {
    return { flag: 'profiling' as const, defaults: this.s.config.TRAITLENS_DEFAULT_CONSENT };
  }

  /** The active item embeddings (re-read only when another version became active). */
  async model(): Promise<ItemEmbeddingModel | undefined> {
    const v = await this.s.store.items.activeEmbeddingsVersion();
    if (!v) return (this.cached = undefined);
    if (this.cached?.version === v.version && this.cached.createdAt === v.createdAt) return this.cached;
    return (this.cached = await this.s.store.items.activeEmbeddings());
  }

  /** Interactions per item (distinct users with profiling consent), the most popular `popularityPool` items. */
  async popularity(): Promise<Map<string, number>> {
    const now = this.now();
    if (this.popular && now - this.popular.at < this.ttl) return this.popular.map;
    const rows = await this.s.store.items.popular({ ...this.selection, consent: this.consent, limit: this.pool });
    const map = new Map(rows.map((r) => [r.item, r.users]));
    this.popular = { at: now, map };
    return map;
  }

  /** Nearest items by the active embeddings. 409 when none is trained; 404 for an item unknown to both catalogue and model. */
  async similarItems(itemId: string, k: number): Promise<SimilarItemsResult> {
    const model = await this.model();
    const row = await this.s.store.items.get(itemId);
    if (!model) {
      if (!row) throw new NotFoundError(`no item ${itemId}`);
      throw new ConflictError('no item embeddings are trained yet: run `traitlens train-items` (or let the pipeline retrain)', { item: itemId }, 'item_embeddings_missing');
    }
    if (!model.items.includes(itemId)) {
      if (!row) throw new NotFoundError(`no item ${itemId}`);
      throw new NotFoundError(`item ${itemId} has no embedding in version ${model.version} (too few interactions when it was trained)`, {
        item: itemId,
        embeddingsVersion: model.version,
      });
    }
    const hits = (await itemsModule()).nearestItems(model, itemId, k);
    const rows = await this.s.store.items.getMany([itemId, ...hits.map((h) => h.item)]);
    return {
      item: summary(itemId, rows.get(itemId)),
      embeddingsVersion: model.version,
      results: hits.map((h) => ({ ...summary(h.item, rows.get(h.item)), score: Math.round(h.score * 10_000) / 10_000 })),
    };
  }

  /** One user's items, most interacted first (for the console's support view). */
  async userTopItems(userId: number, k: number): Promise<(ItemSummary & { n: number; weight: number; lastTs: number })[]> {
    const items = (await this.s.store.items.userItems(userId, this.selection))
      .sort((a, b) => b.weight - a.weight || b.n - a.n || b.lastTs - a.lastTs || (a.item < b.item ? -1 : 1))
      .slice(0, k);
    const rows = await this.s.store.items.getMany(items.map((i) => i.item));
    return items.map((i) => ({ ...summary(i.item, rows.get(i.item)), n: i.n, weight: i.weight, lastTs: i.lastTs }));
  }

  async recommend(userId: number, opts: { k: number; neighbours: number; excludeOwned?: boolean }): Promise<RecommendResult> {
    const { store, config } = this.s;
    const excludeOwned = opts.excludeOwned ?? config.TRAITLENS_RECOMMEND_EXCLUDE_OWNED;
    const [model, popularity] = await Promise.all([this.model(), this.popularity()]);
    const embeddingsVersion = model?.version ?? null;
    const notes: string[] = [];
    const owned = new Map<string, number>();
    const neighbourItems: { item: string; score: number; via: string }[] = [];
    let neighbours = 0;
    if (!(await store.users.hasConsent(userId, 'profiling', config.TRAITLENS_DEFAULT_CONSENT))) {
      notes.push('no profiling consent: popular items only, nothing of this user’s history used');
    } else {
      for (const u of await store.items.userItems(userId, this.selection)) owned.set(u.item, u.weight);
      const me = await store.profiles.get(userId);
      const layout = await this.s.index.currentLayout();
      if (me && me.version === layout.version) {
        const hits = (
          await nearest(this.s, me.vector, opts.neighbours, { where: consentCondition('profiling', config.TRAITLENS_DEFAULT_CONSENT, store.dialect), exclude: new Set([userId]) })
        ).filter((h) => h.similarity > 0);
        neighbours = hits.length;
        const names = await store.profiles.publicIds(hits.map((h) => h.userId));
        for (const h of hits) {
          const via = names.get(h.userId) ?? String(h.userId);
          for (const it of await store.items.userItems(h.userId, this.selection)) neighbourItems.push({ item: it.item, score: h.similarity, via });
        }
      } else notes.push('this user has no profile vector yet: no similar users');
      if (!owned.size) notes.push('no items yet: popular items');
    }
    if (!model) notes.push('no item embeddings trained yet: no "bought with" candidates');
    const titled = await store.items.getMany([...owned.keys()]);
    const titles = new Map<string, string>();
    for (const [id, r] of titled) if (r.title) titles.set(id, r.title);
    const ranked = (await rankModule()).rankRecommendations({
      owned,
      ...(model ? { embeddings: model } : {}),
      neighbourItems,
      popularity,
      k: opts.k,
      excludeOwned,
      titles,
    });
    const rows = await store.items.getMany(ranked.map((r) => r.item));
    return {
      recommendations: ranked.map((r) => ({ ...summary(r.item, rows.get(r.item)), score: r.score, reasons: r.reasons })),
      neighbours,
      owned: owned.size,
      embeddingsVersion,
      excludeOwned,
      ...(notes.length ? { note: notes.join('; ') } : {}),
    };
  }
}
