import type { Dialect } from '../sql/dialect.ts';
import type { Executor, Queryable } from '../sql/executor.ts';
import { SqlProfileStore, type Neighbour, type NearestQuery, type ProfileWrite } from './profiles.ts';

/** pgvector's HNSW settings (the same config keys as the in-process hnswlib index). */
export interface VectorSearchOptions {
  m: number;
  efConstruction: number;
  efSearch: number;
}

export const DEFAULT_VECTOR_SEARCH: VectorSearchOptions = { m: 16, efConstruction: 200, efSearch: 128 };

const literal = (v: Float32Array): string => `[${Array.from(v, (x) => (Number.isFinite(x) ? x : 0)).join(',')}]`;

/**
 * User vectors on PostgreSQL: besides the float32 blob every backend keeps (`vector`, so copies and
 * checksums agree), each row carries a pgvector `embedding`, and nearest-neighbour queries run in
 * SQL with their filters, so API replicas hold no index of their own and answer alike. The vector
 * length depends on the configured embedder, so the HNSW index is an expression index per length
 * (`embedding::vector(n)`, partial on `dim = n`), created on first use.
 */
export class PgProfileStore extends SqlProfileStore {
  private readonly indexed = new Set<number>();

  constructor(
    x: Executor,
    d: Dialect,
    private readonly opts: VectorSearchOptions = DEFAULT_VECTOR_SEARCH,
  ) {
    super(x, d);
  }

  private async ensureIndex(dim: number): Promise<void> {
    if (this.indexed.has(dim)) return;
    const n = Math.trunc(dim);
    // DDL takes no bound parameters: every value here is an integer we computed or validated.
    await this.x.run(
      `CREATE INDEX IF NOT EXISTS user_profiles_hnsw_${n} ON user_profiles USING hnsw ((embedding::vector(${n})) vector_cosine_ops)
       WITH (m = ${Math.trunc(this.opts.m)}, ef_construction = ${Math.trunc(this.opts.efConstruction)}) WHERE dim = ${n}`,
    );
    this.indexed.add(dim);
  }

  private async setEmbedding(q: Queryable, p: ProfileWrite): Promise<void> {
    await q.run('UPDATE user_profiles SET embedding = ?::vector WHERE user_id = ?', [literal(p.vector), p.userId]);
  }

  override async upsert(p: ProfileWrite): Promise<void> {
    await this.ensureIndex(p.vector.length);
    await this.x.tx(async (q) => {
      await super.upsertOn(q, p);
      await this.setEmbedding(q, p);
    });
  }

  override async writeMany(upserts: readonly ProfileWrite[], deletes: readonly number[]): Promise<void> {
    if (!upserts.length && !deletes.length) return;
    for (const dim of new Set(upserts.map((p) => p.vector.length))) await this.ensureIndex(dim);
    await this.x.tx(async (q) => {
      for (const p of upserts) {
        await super.upsertOn(q, p);
        await this.setEmbedding(q, p);
      }
      for (const id of deletes) await q.run('DELETE FROM user_profiles WHERE user_id = ?', [id]);
    });
  }

  /** Fills `embedding` for rows written without it (copied by migrate-store from SQLite). */
  async backfillEmbeddings(batch = 500): Promise<number> {
    let done = 0;
    for (;;) {
      const rows = await this.x.all<{ user_id: number; vector: Buffer }>('SELECT user_id, vector FROM user_profiles WHERE embedding IS NULL ORDER BY user_id LIMIT ?', [batch]);
      if (!rows.length) return done;
      const dims = new Set<number>();
      await this.x.tx(async (q) => {
        for (const r of rows) {
          const v = this.decodeVector(r.vector);
          dims.add(v.length);
          await q.run('UPDATE user_profiles SET embedding = ?::vector WHERE user_id = ?', [literal(v), r.user_id]);
        }
      });
      for (const dim of dims) await this.ensureIndex(dim);
      done += rows.length;
    }
  }

  async nearest(query: NearestQuery): Promise<Neighbour[]> {
    const n = Math.trunc(query.vector.length);
    await this.ensureIndex(n);
    const v = literal(query.vector);
    const exclude = query.exclude?.length ? `AND p.user_id NOT IN (${query.exclude.map(() => '?').join(', ')})` : '';
    const where = query.where ? `AND (${query.where.where})` : '';
    return this.x.tx(async (q) => {
      await q.run(`SET LOCAL hnsw.ef_search = ${Math.trunc(Math.max(this.opts.efSearch, query.k))}`);
      // With a filter, the index walk goes on until k rows pass it (pgvector ≥ 0.8), instead of
      // filtering one ef_search-sized candidate list and returning fewer than k.
      if (where || exclude) await q.run('SET LOCAL hnsw.iterative_scan = relaxed_order');
      const rows = await q.all<{ userId: number; distance: number }>(
        `SELECT p.user_id AS "userId", p.embedding::vector(${n}) <=> ?::vector(${n}) AS distance
         FROM user_profiles p JOIN users u ON u.id = p.user_id
         WHERE p.dim = ${n} AND p.version = ? ${where} ${exclude}
         ORDER BY p.embedding::vector(${n}) <=> ?::vector(${n}) LIMIT ?`,
        [v, query.version, ...(query.where?.params ?? []), ...(query.exclude ?? []), v, query.k],
      );
      // relaxed_order may return neighbours slightly out of order: sort by distance.
      return rows.map((r) => ({ userId: Number(r.userId), similarity: 1 - Number(r.distance) })).sort((a, b) => b.similarity - a.similarity);
    });
  }
}
