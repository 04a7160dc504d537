import type { Compiled } from '../filters.ts';
import type { Dialect } from '../sql/dialect.ts';
import type { Executor, Queryable } from '../sql/executor.ts';

/**
 * User vectors (user_profiles), population state for them (profile_meta), and the few user and
 * event reads that the profile, similar-users and recommendation stages need.
 *
 * Nearest-neighbour search is not here on SQLite: an in-process HNSW index (src/similar/) syncs
 * from `changesSince` and answers queries. A PostgreSQL + pgvector store implements `nearest`
 * (a `vector(n)` column with an HNSW index, filters in the same SQL); src/similar uses it when
 * present and holds no index of its own.
 */
export interface ProfileRow {
  userId: number;
  version: string;
  dim: number;
  vector: Float32Array;
  blocks: Record<string, boolean>;
  profileVersion: number;
  updatedAt: number;
}

export type ProfileWrite = Omit<ProfileRow, 'dim'>;

export interface ProfileChange {
  userId: number;
  updatedAt: number;
  version: string;
}

export interface Neighbour {
  userId: number;
  /** cosine similarity, 1 = same direction */
  similarity: number;
}

export interface NearestQuery {
  /** only vectors of this version are compared */
  version: string;
  vector: Float32Array;
  k: number;
  /** a condition over `users u` (src/db/filters.ts) the neighbours must pass */
  where?: Compiled | null;
  exclude?: readonly number[];
}

export interface EngagementRow {
  userId: number;
  type: string;
  productId: string | null;
  category: string | null;
  n: number;
}

export interface ProfileStore {
  /** Writes a vector; `updatedAt` strictly increases per row (the index owner's sync keys on it). */
  upsert(p: ProfileWrite): Promise<void>;
  /** Upserts and deletes in one transaction (a rebuild's batch). */
  writeMany(upserts: readonly ProfileWrite[], deletes: readonly number[]): Promise<void>;
  /** true when a row went */
  remove(userId: number): Promise<boolean>;
  removeNotOfVersion(version: string): Promise<number>;
  get(userId: number): Promise<ProfileRow | null>;
  /** the rows that exist, by user id */
  getMany(userIds: readonly number[]): Promise<Map<number, ProfileRow>>;
  /** (user, updated_at, version) of rows changed at or after `since` (epoch ms), oldest first: cheap, no vectors */
  changesSince(since: number): Promise<ProfileChange[]>;
  /** Every row of one vector version, by user id, in pages (a full rebuild). */
  ofVersion(version: string, pageSize?: number): AsyncGenerator<ProfileRow>;
  idsOfVersion(version: string): Promise<number[]>;
  count(version?: string): Promise<number>;
  /**
   * The rows with `updated_at > after` (-1: from the first), counted a slice at a time: about
   * `limit` of them (whole updated_at values: rows sharing the last one all count here), and where
   * the next slice starts, null when this one reached the end. For checks that must not hold the
   * serving thread: one count(*) over 1M rows re-reads ~5,000 index pages once another connection
   * has committed (30–90 ms, 0.2–0.4 s when the pages left the OS cache); a slice of 10,000 reads
   * ~1/100th (both walk the index: in total a sliced count costs more CPU than one count(*)).
   */
  countSlice(after: number, limit: number): Promise<{ n: number; next: number | null }>;
  maxUpdatedAt(): Promise<number>;
  /** population state (e.g. the behaviour scaler) */
  getMeta(key: string): Promise<{ value: string; updatedAt: number } | null>;
  /** `ifAbsent`: only when the key has no value yet (the first of two racing writers wins); true when written */
  setMeta(key: string, value: string, now: number, opts?: { ifAbsent?: boolean }): Promise<boolean>;

  /** consent JSON and profile version of a user (what a vector is built from), null when absent */
  subject(userId: number): Promise<{ consent: string | null; profileVersion: number } | null>;
  /** users with events (the ones a profile can be built for), ascending */
  userIdsWithEvents(): Promise<number[]>;
  /** the public id of each user: the external id, else the first anonymous alias */
  publicIds(userIds: readonly number[]): Promise<Map<number, string>>;
  /**
   * The other way round, for many references at once (the audit of an answer listing users): the
   * internal id each reference (external id or anonymous alias) names, resolved as `users.find`
   * resolves one (an external id before an alias). Unknown references are absent. One statement per
   * 64 references, not one per user.
   */
  userIdsOf(refs: readonly string[]): Promise<Map<string, number>>;
  /** product engagements (by item and category) of the given users, for the given event types */
  engagements(userIds: readonly number[], types: readonly string[]): Promise<EngagementRow[]>;

  /** pgvector: nearest vectors in SQL. Absent on SQLite (the in-process HNSW index answers). */
  nearest?(q: NearestQuery): Promise<Neighbour[]>;
}

interface RawProfile {
  user_id: number;
  version: string;
  dim: number;
  vector: unknown;
  blocks: string;
  profile_version: number;
  updated_at: number;
}

/** Id lists are bound in fixed-size chunks padded with NULL: one statement text whatever the count. */
export const ID_CHUNK = 64;
export const idChunks = (ids: readonly number[]): (number | null)[][] => {
  const out: (number | null)[][] = [];
  for (let i = 0; i < ids.length; i += ID_CHUNK) {
    const c: (number | null)[] = ids.slice(i, i + ID_CHUNK);
    while (c.length < ID_CHUNK) c.push(null);
    out.push(c);
  }
  return out;
};
export const ID_LIST = `(${Array(ID_CHUNK).fill('?').join(', ')})`;
/** `idChunks` for text references. */
const refChunks = (refs: readonly string[]): (string | null)[][] => {
  const out: (string | null)[][] = [];
  for (let i = 0; i < refs.length; i += ID_CHUNK) {
    const c: (string | null)[] = refs.slice(i, i + ID_CHUNK);
    while (c.length < ID_CHUNK) c.push(null);
    out.push(c);
  }
  return out;
};

const PROFILE_COLUMNS = 'user_id, version, dim, vector, blocks, profile_version, updated_at';

export class SqlProfileStore implements ProfileStore {
  constructor(
    protected readonly x: Executor,
    protected readonly d: Dialect,
  ) {}

  /** A vector as the column stores it: a float32 blob here; pgvector's store overrides both ways. */
  protected encodeVector(v: Float32Array): unknown {
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  }

  protected decodeVector(raw: unknown): Float32Array {
    const b = raw as Uint8Array;
    // Copy: a Buffer from the driver may not be 4-byte aligned for a Float32Array view.
    const out = new Float32Array(b.byteLength / 4);
    new Uint8Array(out.buffer).set(b);
    return out;
  }

  private toRow(r: RawProfile): ProfileRow {
    return {
      userId: Number(r.user_id),
      version: r.version,
      dim: Number(r.dim),
      vector: this.decodeVector(r.vector),
      blocks: JSON.parse(r.blocks) as Record<string, boolean>,
      profileVersion: Number(r.profile_version),
      updatedAt: Number(r.updated_at),
    };
  }

  protected async upsertOn(q: Queryable, p: ProfileWrite): Promise<void> {
    await q.run(
      `INSERT INTO user_profiles (${PROFILE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET version = excluded.version, dim = excluded.dim, vector = excluded.vector,
         blocks = excluded.blocks, profile_version = excluded.profile_version,
         updated_at = ${this.d.greatest('excluded.updated_at', 'user_profiles.updated_at + 1')}`,
      [p.userId, p.version, p.vector.length, this.encodeVector(p.vector), JSON.stringify(p.blocks), p.profileVersion, p.updatedAt],
    );
  }

  async upsert(p: ProfileWrite): Promise<void> {
    await this.upsertOn(this.x, p);
  }

  async writeMany(upserts: readonly ProfileWrite[], deletes: readonly number[]): Promise<void> {
    if (!upserts.length && !deletes.length) return;
    await this.x.tx(async (q) => {
      for (const p of upserts) await this.upsertOn(q, p);
      for (const id of deletes) await q.run('DELETE FROM user_profiles WHERE user_id = ?', [id]);
    });
  }

  async remove(userId: number): Promise<boolean> {
    return (await this.x.run('DELETE FROM user_profiles WHERE user_id = ?', [userId])).changes > 0;
  }

  async removeNotOfVersion(version: string): Promise<number> {
    return (await this.x.run('DELETE FROM user_profiles WHERE version <> ?', [version])).changes;
  }

  async get(userId: number): Promise<ProfileRow | null> {
    const r = await this.x.get<RawProfile>(`SELECT ${PROFILE_COLUMNS} FROM user_profiles WHERE user_id = ?`, [userId]);
    return r ? this.toRow(r) : null;
  }

  async getMany(userIds: readonly number[]): Promise<Map<number, ProfileRow>> {
    const out = new Map<number, ProfileRow>();
    for (const chunk of idChunks(userIds)) {
      const rows = await this.x.all<RawProfile>(`SELECT ${PROFILE_COLUMNS} FROM user_profiles WHERE user_id IN ${ID_LIST}`, chunk);
      for (const r of rows) out.set(Number(r.user_id), this.toRow(r));
    }
    return out;
  }

  async changesSince(since: number): Promise<ProfileChange[]> {
    const rows = await this.x.all<ProfileChange>(
      'SELECT user_id AS "userId", updated_at AS "updatedAt", version FROM user_profiles WHERE updated_at >= ? ORDER BY updated_at, user_id',
      [since],
    );
    return rows.map((r) => ({ userId: Number(r.userId), updatedAt: Number(r.updatedAt), version: r.version }));
  }

  async *ofVersion(version: string, pageSize = 1000): AsyncGenerator<ProfileRow> {
    let after = 0;
    for (;;) {
      // Keyset pages: no cursor held open across awaits (a pooled connection, a concurrent write).
      const rows = await this.x.all<RawProfile>(`SELECT ${PROFILE_COLUMNS} FROM user_profiles WHERE version = ? AND user_id > ? ORDER BY user_id LIMIT ?`, [
        version,
        after,
        pageSize,
      ]);
      for (const r of rows) yield this.toRow(r);
      if (rows.length < pageSize) return;
      after = Number((rows.at(-1) as RawProfile).user_id);
    }
  }

  async idsOfVersion(version: string): Promise<number[]> {
    const rows = await this.x.all<{ id: number }>('SELECT user_id AS id FROM user_profiles WHERE version = ? ORDER BY user_id', [version]);
    return rows.map((r) => Number(r.id));
  }

  async count(version?: string): Promise<number> {
    const r =
      version === undefined
        ? await this.x.get<{ n: number }>('SELECT count(*) AS n FROM user_profiles')
        : await this.x.get<{ n: number }>('SELECT count(*) AS n FROM user_profiles WHERE version = ?', [version]);
    return Number(r?.n ?? 0);
  }

  async countSlice(after: number, limit: number): Promise<{ n: number; next: number | null }> {
    // The updated_at of the limit-th row on (the index walks to it), then the rows up to it.
    const edge = await this.x.get<{ u: number }>('SELECT updated_at AS u FROM user_profiles WHERE updated_at > ? ORDER BY updated_at LIMIT 1 OFFSET ?', [
      after,
      Math.max(0, limit - 1),
    ]);
    if (!edge) {
      const r = await this.x.get<{ n: number }>('SELECT count(*) AS n FROM user_profiles WHERE updated_at > ?', [after]);
      return { n: Number(r?.n ?? 0), next: null };
    }
    const r = await this.x.get<{ n: number }>('SELECT count(*) AS n FROM user_profiles WHERE updated_at > ? AND updated_at <= ?', [after, edge.u]);
    return { n: Number(r?.n ?? 0), next: Number(edge.u) };
  }

  async maxUpdatedAt(): Promise<number> {
    const r = await this.x.get<{ m: number | null }>('SELECT max(updated_at) AS m FROM user_profiles');
    return Number(r?.m ?? 0);
  }

  async getMeta(key: string): Promise<{ value: string; updatedAt: number } | null> {
    const r = await this.x.get<{ value: string; updatedAt: number }>('SELECT value, updated_at AS "updatedAt" FROM profile_meta WHERE key = ?', [key]);
    return r ? { value: r.value, updatedAt: Number(r.updatedAt) } : null;
  }

  async setMeta(key: string, value: string, now: number, opts: { ifAbsent?: boolean } = {}): Promise<boolean> {
    const onConflict = opts.ifAbsent ? 'DO NOTHING' : 'DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at';
    return (await this.x.run(`INSERT INTO profile_meta (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) ${onConflict}`, [key, value, now])).changes > 0;
  }

  async subject(userId: number): Promise<{ consent: string | null; profileVersion: number } | null> {
    const r = await this.x.get<{ consent: string | null; profileVersion: number }>('SELECT consent, profile_version AS "profileVersion" FROM users WHERE id = ?', [userId]);
    return r ? { consent: r.consent, profileVersion: Number(r.profileVersion) } : null;
  }

  async userIdsWithEvents(): Promise<number[]> {
    const rows = await this.x.all<{ id: number }>('SELECT id FROM users WHERE event_count > 0 ORDER BY id');
    return rows.map((r) => Number(r.id));
  }

  async publicIds(userIds: readonly number[]): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    for (const chunk of idChunks(userIds)) {
      const rows = await this.x.all<{ id: number; name: string | null }>(
        `SELECT u.id AS id, coalesce(u.external_id, (SELECT alias FROM identities i WHERE i.user_id = u.id ORDER BY i.id LIMIT 1)) AS name
         FROM users u WHERE u.id IN ${ID_LIST}`,
        chunk,
      );
      for (const r of rows) if (r.name) out.set(Number(r.id), r.name);
    }
    return out;
  }

  async userIdsOf(refs: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const external = new Set<string>();
    for (const chunk of refChunks([...new Set(refs)])) {
      // The same rule as users.find: an alias of kind user (the external id) wins over an anonymous one.
      const rows = await this.x.all<{ alias: string; id: number; kind: string }>(
        `SELECT i.alias AS alias, u.id AS id, i.kind AS kind FROM identities i JOIN users u ON u.id = i.user_id
         WHERE i.kind IN ('user', 'anonymous') AND i.alias IN ${ID_LIST}`,
        chunk,
      );
      for (const r of rows) {
        if (external.has(r.alias)) continue;
        out.set(r.alias, Number(r.id));
        if (r.kind === 'user') external.add(r.alias);
      }
    }
    return out;
  }

  async engagements(userIds: readonly number[], types: readonly string[]): Promise<EngagementRow[]> {
    if (!userIds.length || !types.length) return [];
    const product = `CAST(${this.d.jsonText('properties', 'product_id')} AS TEXT)`;
    const category = `CAST(${this.d.jsonText('properties', 'category')} AS TEXT)`;
    const out: EngagementRow[] = [];
    // One statement per type count (a handful of constant texts), ids in fixed chunks.
    const typeList = types.map(() => '?').join(', ');
    for (const chunk of idChunks(userIds)) {
      const rows = await this.x.all<EngagementRow>(
        `SELECT user_id AS "userId", type, ${product} AS "productId", ${category} AS category, count(*) AS n
         FROM events WHERE user_id IN ${ID_LIST} AND type IN (${typeList})
         GROUP BY user_id, type, ${product}, ${category}
         ORDER BY user_id, type`,
        [...chunk, ...types],
      );
      for (const r of rows) out.push({ userId: Number(r.userId), type: r.type, productId: r.productId ?? null, category: r.category ?? null, n: Number(r.n) });
    }
    return out;
  }
}
