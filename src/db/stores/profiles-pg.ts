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

/** First key of the advisory lock held while creating a vector index ('trlx'); the second is the schema. */
const INDEX_LOCK_KEY = 0x74726c78;

const literal = (v: Float32Array): string => `[${Array.from(v, (x) => (Number.isFinite(x) ? x : 0)).join(',')}]`;

/**
 * User vectors on PostgreSQL: besides the float32 blob every backend keeps (`vector`, so copies and
 * checksums agree), each row carries a pgvector `embedding`, and nearest-neighbour queries run in
 * SQL with their filters, so API replicas hold no index of their own and answer alike. The vector
 * length depends on the configured embedder, so the HNSW index is an expression index per length
 * (`embedding::vector(n)`, partial on `dim = n`), created on first use.
 */
export class PgProfileStore extends SqlProfileStore {
  /** the index per vector length: created, or being created (concurrent writers share one attempt) */
  private readonly indexed = new Map<number, Promise<void>>();

  constructor(
    x: Executor,
    d: Dialect,
    private readonly opts: VectorSearchOptions = DEFAULT_VECTOR_SEARCH,
  ) {
    super(x, d);
  }

  private ensureIndex(dim: number): Promise<void> {
    let p = this.indexed.get(dim);
    if (!p) {
      p = this.createIndex(dim);
      this.indexed.set(dim, p);
      p.catch(() => this.indexed.delete(dim)); // the next write tries again
    }
    return p;
  }

  private async createIndex(dim: number): Promise<void> {
    const n = Math.trunc(dim);
    // Two sessions running CREATE INDEX IF NOT EXISTS for the same name at once race in the catalogue
    // (23505 on pg_class_relname_nsp_index): other workers and replicas queue on a lock per schema.
    await this.x.tx(async (q) => {
      await q.run('SELECT pg_advisory_xact_lock(?, hashtext(current_schema()))', [INDEX_LOCK_KEY]);
      // DDL takes no bound parameters: every value here is an integer we computed or validated.
      await q.run(
        `CREATE INDEX IF NOT EXISTS user_profiles_hnsw_${n} ON user_profiles USING hnsw ((embedding::vector(${n})) vector_cosine_ops)
         WITH (m = ${Math.trunc(this.opts.m)}, ef_construction = ${Math.trunc(this.opts.efConstruction)}) WHERE dim = ${n}`,
      );
    });
  }

  /** Up to 100 rows per statement: the blob every backend keeps and pgvector's column, in one write. */
  private async upsertRows(q: Queryable, rows: readonly ProfileWrite[]): Promise<void> {
    for (let i = 0; i < rows.length; i += 100) {
      const chunk = rows.slice(i, i + 100);
      await q.run(
        `INSERT INTO user_profiles (user_id, version, dim, vector, embedding, blocks, profile_version, updated_at)
         VALUES ${chunk.map(() => '(?, ?, ?, ?, ?::vector, ?, ?, ?)').join(', ')}
         ON CONFLICT (user_id) DO UPDATE SET version = excluded.version, dim = excluded.dim, vector = excluded.vector, embedding = excluded.embedding,
           blocks = excluded.blocks, profile_version = excluded.profile_version,
           updated_at = greatest(excluded.updated_at, user_profiles.updated_at + 1)`,
        chunk.flatMap((p) => [p.userId, p.version, p.vector.length, this.encodeVector(p.vector), literal(p.vector), JSON.stringify(p.blocks), p.profileVersion, p.updatedAt]),
      );
    }
  }

  override async upsert(p: ProfileWrite): Promise<void> {
    await this.ensureIndex(p.vector.length);
    await this.upsertRows(this.x, [p]);
  }

  override async writeMany(upserts: readonly ProfileWrite[], deletes: readonly number[]): Promise<void> {
    if (!upserts.length && !deletes.length) return;
    for (const dim of new Set(upserts.map((p) => p.vector.length))) await this.ensureIndex(dim);
    // One user once per statement: ON CONFLICT cannot touch the same row twice in one INSERT.
    const last = [...new Map(upserts.map((p) => [p.userId, p])).values()];
    await this.x.tx(async (q) => {
      await this.upsertRows(q, last);
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
    // hnsw.ef_search and hnsw.iterative_scan (relaxed_order, so a filtered walk goes on until k
    // rows pass) are session settings of the pool (open.ts): the query is one round trip.
    const rows = await this.x.all<{ userId: number; distance: number }>(
      `SELECT p.user_id AS "userId", p.embedding::vector(${n}) <=> ?::vector(${n}) AS distance
       FROM user_profiles p JOIN users u ON u.id = p.user_id
       WHERE p.dim = ${n} AND p.version = ? ${where} ${exclude}
       ORDER BY p.embedding::vector(${n}) <=> ?::vector(${n}) LIMIT ?`,
      [v, query.version, ...(query.where?.params ?? []), ...(query.exclude ?? []), v, query.k],
    );
    // relaxed_order may return neighbours slightly out of order: sort by distance.
    return rows.map((r) => ({ userId: Number(r.userId), similarity: 1 - Number(r.distance) })).sort((a, b) => b.similarity - a.similarity);
  }
}
