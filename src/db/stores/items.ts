import type { Config } from '../../core/config.ts';
import type { ConsentFlag } from '../../core/types.ts';
import type { Dialect } from '../sql/dialect.ts';
import type { Executor } from '../sql/executor.ts';
import { fromBlob, toBlob } from './embeddings.ts';
import { consentSql } from './users.ts';

export type ItemSource = 'import' | 'learned';

export interface ItemInput {
  id: string;
  title?: string | undefined;
  category?: string | undefined;
  price?: number | undefined;
  attributes?: Record<string, unknown> | undefined;
}

export interface ItemRow {
  id: string;
  title: string | null;
  category: string | null;
  price: number | null;
  attributes: Record<string, unknown>;
  source: ItemSource;
  createdAt: number;
  updatedAt: number;
}

/** One event that names an item: who, what, when, how much. */
export interface Interaction {
  userId: number;
  item: string;
  /** the event type */
  type: string;
  ts: number;
  weight: number;
}

export interface ItemEmbeddingModel {
  version: string;
  dim: number;
  card: Record<string, unknown>;
  items: string[];
  /** items.length × dim, row-major */
  vectors: Float32Array;
  createdAt: number;
}

/** Which events are interactions and how they are weighted (config: TRAITLENS_ITEM_PROPERTIES, TRAITLENS_ITEM_WEIGHT_PROPERTY). */
export interface InteractionSelection {
  /** the first of these event properties present (non-empty) names the item */
  itemProperties: readonly string[];
  /**
   * a numeric property weighting the interaction: a positive number is the weight; missing or not a
   * number → 1; zero or negative (cancellations, returns) → the event is no interaction at all
   */
  weightProperty?: string | undefined;
  /** only these event types (all types when absent or empty) */
  types?: readonly string[] | undefined;
}

/** The interaction selection the configuration names (TRAITLENS_ITEM_PROPERTIES, _ITEM_WEIGHT_PROPERTY, _ITEM_EVENT_TYPES). */
export function interactionSelection(config: Pick<Config, 'TRAITLENS_ITEM_PROPERTIES' | 'TRAITLENS_ITEM_WEIGHT_PROPERTY' | 'TRAITLENS_ITEM_EVENT_TYPES'>): InteractionSelection {
  return {
    itemProperties: config.TRAITLENS_ITEM_PROPERTIES,
    ...(config.TRAITLENS_ITEM_WEIGHT_PROPERTY ? { weightProperty: config.TRAITLENS_ITEM_WEIGHT_PROPERTY } : {}),
    ...(config.TRAITLENS_ITEM_EVENT_TYPES.length ? { types: config.TRAITLENS_ITEM_EVENT_TYPES } : {}),
  };
}

export interface InteractionQuery extends InteractionSelection {
  /** ts >= since */
  since?: number | undefined;
  /** ts < until */
  until?: number | undefined;
  userIds?: readonly number[] | undefined;
  /** events with a larger id (arrived later) */
  afterEventId?: number | undefined;
  /** events up to this id (a snapshot: `maxEventId()` before reading) */
  throughEventId?: number | undefined;
  /** only users whose effective consent has `flag` (stored flag, else the configured defaults) */
  consent?: { flag: ConsentFlag; defaults: readonly ConsentFlag[] } | undefined;
  /** interactions per page handed out by `interactions` (default 10,000) */
  pageSize?: number | undefined;
}

export interface UserItem {
  item: string;
  /** interactions */
  n: number;
  /** summed weights */
  weight: number;
  lastTs: number;
}

export interface PopularItem {
  item: string;
  /** interactions */
  n: number;
  /** distinct users */
  users: number;
}

/**
 * The item catalogue, item interactions (events whose properties name an item: items are not
 * per-user data, interactions are events and go with the user) and trained item embeddings.
 */
export interface ItemStore {
  /**
   * Writes catalogue entries. `import` (default) creates or replaces the entry (title, category,
   * price, attributes; created_at kept) and marks it imported; `learned` only adds ids not in the
   * catalogue yet. Returns the rows written. Duplicate ids in one call: the last one wins.
   */
  upsert(items: readonly ItemInput[], source?: ItemSource, now?: number): Promise<number>;
  get(id: string): Promise<ItemRow | undefined>;
  /** the catalogue entries of these ids (unknown ids are absent), by id */
  getMany(ids: readonly string[]): Promise<Map<string, ItemRow>>;
  /** by id ascending, after `after` (exclusive); `q` matches id or title, case-insensitive substring */
  list(opts: { limit: number; after?: string | undefined; q?: string | undefined }): Promise<ItemRow[]>;
  /** every interaction in (ts, id) order, handed out in pages */
  interactions(opts: InteractionQuery): AsyncIterable<Interaction[]>;
  /** one user's items, aggregated, most recent first */
  userItems(userId: number, opts: InteractionSelection & { until?: number | undefined }): Promise<UserItem[]>;
  /** the most interacted items (by distinct users, then interactions), at most `limit` */
  popular(opts: InteractionQuery & { limit: number }): Promise<PopularItem[]>;
  /**
   * Adds every item named by an interaction (in `opts`' range) that has no catalogue entry as a
   * `learned` row (id only). Returns the rows added.
   */
  learn(opts: InteractionQuery, now?: number): Promise<number>;
  /** events naming an item in `opts`' range (the weight rule not applied: a cheap count for retraining) */
  countInteractions(opts: InteractionQuery): Promise<number>;
  /** the largest event id (0 with no events): a snapshot point for `throughEventId` / `afterEventId` */
  maxEventId(): Promise<number>;
  /** Saves a trained model; it becomes the active version (older versions beyond a few are pruned). */
  saveEmbeddings(m: ItemEmbeddingModel): Promise<void>;
  activeEmbeddings(): Promise<ItemEmbeddingModel | undefined>;
  /** the active version's id and creation time (cheap: lets a reader cache the model) */
  activeEmbeddingsVersion(): Promise<{ version: string; createdAt: number } | undefined>;
  count(): Promise<number>;
}

/** Inactive embedding versions kept beside the active one. */
const KEEP_INACTIVE = 3;
const PAGE = 10_000;
const INSERT_CHUNK = 400;
const ID_CHUNK = 64;

const ITEM_COLUMNS = 'id, title, category, price, attributes, source, created_at AS "createdAt", updated_at AS "updatedAt"';

interface RawItem {
  id: string;
  title: string | null;
  category: string | null;
  price: number | null;
  attributes: string;
  source: ItemSource;
  createdAt: number;
  updatedAt: number;
}

const toItem = (r: RawItem): ItemRow => ({
  id: r.id,
  title: r.title,
  category: r.category,
  price: r.price === null ? null : Number(r.price),
  attributes: JSON.parse(r.attributes) as Record<string, unknown>,
  source: r.source,
  createdAt: Number(r.createdAt),
  updatedAt: Number(r.updatedAt),
});

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** A positive number weights the interaction; zero or negative drops it; anything else counts 1. */
export function interactionWeight(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  if (!Number.isFinite(n)) return 1;
  return n > 0 ? n : undefined;
}

export class SqlItemStore implements ItemStore {
  constructor(
    protected readonly x: Executor,
    protected readonly d: Dialect,
  ) {}

  async upsert(items: readonly ItemInput[], source: ItemSource = 'import', now = Date.now()): Promise<number> {
    const byId = new Map<string, ItemInput>();
    for (const it of items) byId.set(it.id, it);
    if (!byId.size) return 0;
    const rows = [...byId.values()];
    const conflict =
      source === 'import'
        ? `ON CONFLICT (id) DO UPDATE SET title = excluded.title, category = excluded.category, price = excluded.price,
             attributes = excluded.attributes, source = excluded.source, updated_at = excluded.updated_at`
        : 'ON CONFLICT (id) DO NOTHING';
    return this.x.tx(async (q) => {
      let changed = 0;
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        const chunk = rows.slice(i, i + INSERT_CHUNK);
        const params: unknown[] = [];
        for (const it of chunk) params.push(it.id, it.title ?? null, it.category ?? null, it.price ?? null, JSON.stringify(it.attributes ?? {}), source, now, now);
        const res = await q.run(
          `INSERT INTO items (id, title, category, price, attributes, source, created_at, updated_at) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')} ${conflict}`,
          params,
        );
        changed += res.changes;
      }
      return changed;
    });
  }

  async get(id: string): Promise<ItemRow | undefined> {
    const r = await this.x.get<RawItem>(`SELECT ${ITEM_COLUMNS} FROM items WHERE id = ?`, [id]);
    return r ? toItem(r) : undefined;
  }

  async getMany(ids: readonly string[]): Promise<Map<string, ItemRow>> {
    const out = new Map<string, ItemRow>();
    const unique = [...new Set(ids)];
    // Fixed-size chunks padded with NULL: one statement text whatever the count.
    for (let i = 0; i < unique.length; i += ID_CHUNK) {
      const chunk: (string | null)[] = unique.slice(i, i + ID_CHUNK);
      while (chunk.length < ID_CHUNK) chunk.push(null);
      for (const r of await this.x.all<RawItem>(`SELECT ${ITEM_COLUMNS} FROM items WHERE id IN (${chunk.map(() => '?').join(', ')})`, chunk)) out.set(r.id, toItem(r));
    }
    return out;
  }

  async list(opts: { limit: number; after?: string | undefined; q?: string | undefined }): Promise<ItemRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (opts.after !== undefined) {
      where.push('id > ?');
      params.push(opts.after);
    }
    if (opts.q) {
      const pat = `%${likeEscape(opts.q.toLowerCase())}%`;
      where.push(`(lower(id) LIKE ? ESCAPE '\\' OR lower(coalesce(title, '')) LIKE ? ESCAPE '\\')`);
      params.push(pat, pat);
    }
    params.push(opts.limit);
    const rows = await this.x.all<RawItem>(`SELECT ${ITEM_COLUMNS} FROM items${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`, params);
    return rows.map(toItem);
  }

  /** `SELECT id, user_id, type, ts, item, w FROM events e …` with the item named and the filters applied. */
  private interactionSql(opts: InteractionQuery): { sql: string; params: unknown[] } {
    if (!opts.itemProperties.length) throw new Error('no item properties configured');
    const named = opts.itemProperties.map((p) => `NULLIF(CAST(${this.d.jsonText('e.properties', p)} AS TEXT), '')`);
    const item = named.length === 1 ? named[0] : `COALESCE(${named.join(', ')})`;
    const weight = opts.weightProperty ? this.d.jsonValue('e.properties', opts.weightProperty) : 'NULL';
    const where: string[] = [];
    const params: unknown[] = [];
    if (opts.types?.length) {
      where.push(`e.type IN (${opts.types.map(() => '?').join(', ')})`);
      params.push(...opts.types);
    }
    if (opts.since !== undefined) {
      where.push('e.ts >= ?');
      params.push(opts.since);
    }
    if (opts.until !== undefined) {
      where.push('e.ts < ?');
      params.push(opts.until);
    }
    if (opts.userIds) {
      if (!opts.userIds.length) where.push('1 = 0');
      else {
        where.push(`e.user_id IN (${opts.userIds.map(() => '?').join(', ')})`);
        params.push(...opts.userIds);
      }
    }
    if (opts.afterEventId !== undefined) {
      where.push('e.id > ?');
      params.push(opts.afterEventId);
    }
    if (opts.throughEventId !== undefined) {
      where.push('e.id <= ?');
      params.push(opts.throughEventId);
    }
    let from = 'events e';
    if (opts.consent) {
      from = 'events e JOIN users u ON u.id = e.user_id';
      where.push(consentSql(this.d, 'u', opts.consent.flag, opts.consent.defaults));
    }
    const sql = `SELECT x.id, x.user_id AS "userId", x.type, x.ts, x.item, x.w FROM (
        SELECT e.id, e.user_id, e.type, e.ts, ${item} AS item, ${weight} AS w FROM ${from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
      ) x WHERE x.item IS NOT NULL`;
    return { sql, params };
  }

  async *interactions(opts: InteractionQuery): AsyncIterable<Interaction[]> {
    // One ordered read (events have no index on ts alone: keyset pages would each scan the table),
    // handed out in pages. The trainer holds every interaction anyway.
    const { sql, params } = this.interactionSql(opts);
    const rows = await this.x.all<{ id: number; userId: number; type: string; ts: number; item: string; w: unknown }>(`${sql} ORDER BY x.ts, x.id`, params);
    let page: Interaction[] = [];
    for (const r of rows) {
      const weight = interactionWeight(r.w);
      if (weight === undefined) continue;
      page.push({ userId: Number(r.userId), item: r.item, type: r.type, ts: Number(r.ts), weight });
      if (page.length >= (opts.pageSize ?? PAGE)) {
        yield page;
        page = [];
      }
    }
    if (page.length) yield page;
  }

  async userItems(userId: number, opts: InteractionSelection & { until?: number | undefined }): Promise<UserItem[]> {
    const { sql, params } = this.interactionSql({ ...opts, userIds: [userId] });
    const rows = await this.x.all<{ ts: number; item: string; w: unknown }>(sql, params);
    const by = new Map<string, UserItem>();
    for (const r of rows) {
      const weight = interactionWeight(r.w);
      if (weight === undefined) continue;
      const ts = Number(r.ts);
      const u = by.get(r.item);
      if (u) {
        u.n++;
        u.weight += weight;
        if (ts > u.lastTs) u.lastTs = ts;
      } else by.set(r.item, { item: r.item, n: 1, weight, lastTs: ts });
    }
    return [...by.values()].sort((a, b) => b.lastTs - a.lastTs || (a.item < b.item ? -1 : a.item > b.item ? 1 : 0));
  }

  async popular(opts: InteractionQuery & { limit: number }): Promise<PopularItem[]> {
    // Counted here rather than in SQL: the weight rule (interactionWeight) reads JSON types that the
    // two engines expose differently.
    const { sql, params } = this.interactionSql(opts);
    const rows = await this.x.all<{ userId: number; item: string; w: unknown }>(sql, params);
    const by = new Map<string, { n: number; users: Set<number> }>();
    for (const r of rows) {
      if (interactionWeight(r.w) === undefined) continue;
      let a = by.get(r.item);
      if (!a) by.set(r.item, (a = { n: 0, users: new Set() }));
      a.n++;
      a.users.add(Number(r.userId));
    }
    return [...by.entries()]
      .map(([item, a]) => ({ item, n: a.n, users: a.users.size }))
      .sort((a, b) => b.users - a.users || b.n - a.n || (a.item < b.item ? -1 : a.item > b.item ? 1 : 0))
      .slice(0, opts.limit);
  }

  async learn(opts: InteractionQuery, now = Date.now()): Promise<number> {
    const { sql, params } = this.interactionSql(opts);
    return this.x.tx(async (q) => {
      const res = await q.run(
        `INSERT INTO items (id, attributes, source, created_at, updated_at)
         SELECT i.item, '{}', 'learned', ?, ? FROM (SELECT DISTINCT l.item FROM (${sql}) l) i
         WHERE NOT EXISTS (SELECT 1 FROM items c WHERE c.id = i.item)
         ON CONFLICT (id) DO NOTHING`,
        [now, now, ...params],
      );
      return res.changes;
    });
  }

  async countInteractions(opts: InteractionQuery): Promise<number> {
    const { sql, params } = this.interactionSql(opts);
    const r = await this.x.get<{ n: number }>(`SELECT count(*) AS n FROM (${sql}) c`, params);
    return Number(r?.n ?? 0);
  }

  async maxEventId(): Promise<number> {
    const r = await this.x.get<{ n: number | null }>('SELECT max(id) AS n FROM events');
    return Number(r?.n ?? 0);
  }

  async saveEmbeddings(m: ItemEmbeddingModel): Promise<void> {
    if (!Number.isInteger(m.dim) || m.dim <= 0) throw new Error(`item embeddings: bad dimension ${m.dim}`);
    if (m.vectors.length !== m.items.length * m.dim) throw new Error(`item embeddings: ${m.vectors.length} values for ${m.items.length} items × ${m.dim}`);
    await this.x.tx(async (q) => {
      await q.run('UPDATE item_embedding_models SET active = 0 WHERE active = 1');
      await q.run(
        `INSERT INTO item_embedding_models (version, dim, card, items, vectors, active, created_at) VALUES (?, ?, ?, ?, ?, 1, ?)
         ON CONFLICT (version) DO UPDATE SET dim = excluded.dim, card = excluded.card, items = excluded.items, vectors = excluded.vectors, active = 1, created_at = excluded.created_at`,
        [m.version, m.dim, JSON.stringify(m.card), JSON.stringify(m.items), toBlob(m.vectors), m.createdAt],
      );
      await q.run(
        `DELETE FROM item_embedding_models WHERE active = 0 AND version NOT IN (
           SELECT version FROM (SELECT version FROM item_embedding_models WHERE active = 0 ORDER BY created_at DESC, version DESC LIMIT ?) k)`,
        [KEEP_INACTIVE],
      );
    });
  }

  async activeEmbeddings(): Promise<ItemEmbeddingModel | undefined> {
    const r = await this.x.get<{ version: string; dim: number; card: string; items: string; vectors: Uint8Array; createdAt: number }>(
      'SELECT version, dim, card, items, vectors, created_at AS "createdAt" FROM item_embedding_models WHERE active = 1',
    );
    if (!r) return undefined;
    return {
      version: r.version,
      dim: Number(r.dim),
      card: JSON.parse(r.card) as Record<string, unknown>,
      items: JSON.parse(r.items) as string[],
      vectors: fromBlob(r.vectors),
      createdAt: Number(r.createdAt),
    };
  }

  async activeEmbeddingsVersion(): Promise<{ version: string; createdAt: number } | undefined> {
    const r = await this.x.get<{ version: string; createdAt: number }>('SELECT version, created_at AS "createdAt" FROM item_embedding_models WHERE active = 1');
    return r ? { version: r.version, createdAt: Number(r.createdAt) } : undefined;
  }

  async count(): Promise<number> {
    const r = await this.x.get<{ n: number }>('SELECT count(*) AS n FROM items');
    return Number(r?.n ?? 0);
  }
}
