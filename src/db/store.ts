import type { Db } from './connection.ts';
import { dialectOf, type Dialect } from './sql/dialect.ts';
import type { Executor } from './sql/executor.ts';
import { SqliteExecutor } from './sql/sqlite-executor.ts';
import { SqlAuditStore, type AuditStore } from './stores/audit.ts';
import { SqlEmbeddingStore, type EmbeddingStore } from './stores/embeddings.ts';
import { SqlEventStore, type EventStore } from './stores/events.ts';
import { SqlFeatureStore, type FeatureStore } from './stores/features.ts';
import { SqlItemStore, type ItemStore } from './stores/items.ts';
import { SqlIdempotencyStore, type IdempotencyStore } from './stores/idempotency.ts';
import { SqlJobStore, type JobStore } from './stores/jobs.ts';
import { SqlKeyStore, type KeyStore } from './stores/keys.ts';
import { SqlLlmStore, type LlmStore } from './stores/llm.ts';
import { PgProfileStore, type VectorSearchOptions } from './stores/profiles-pg.ts';
import { SqlProfileStore, type ProfileStore } from './stores/profiles.ts';
import { SqlSegmentStore, type SegmentStore } from './stores/segments.ts';
import { SqlStatsStore, type StatsStore } from './stores/stats.ts';
import { SqlSummaryStore, type SummaryStore } from './stores/summaries.ts';
import { SqlTraitStore, type TraitStore } from './stores/traits.ts';
import { SqlUserStore, type UserStore } from './stores/users.ts';
import { userDataSections } from './stores/user-data.ts';
import type { UserDataSection } from './user-data.ts';
import { WritePriority } from './write-priority.ts';

/**
 * Everything the service keeps, one async interface per aggregate. Stages, routes, CLI commands,
 * eval and demo call these; no SQL lives outside src/db. The same classes run on SQLite and
 * PostgreSQL: they write SQL once against an `Executor` and take the few differences from `Dialect`.
 */
export interface Store {
  readonly dialect: Dialect;
  readonly events: EventStore;
  readonly users: UserStore;
  readonly traits: TraitStore;
  readonly jobs: JobStore;
  readonly keys: KeyStore;
  readonly audit: AuditStore;
  readonly profiles: ProfileStore;
  readonly summaries: SummaryStore;
  readonly segments: SegmentStore;
  readonly llm: LlmStore;
  readonly embeddings: EmbeddingStore;
  readonly features: FeatureStore;
  readonly stats: StatsStore;
  /** the item catalogue, item interactions (events naming an item) and item embeddings */
  readonly items: ItemStore;
  /** `Idempotency-Key` records of creating POSTs (no per-user data) */
  readonly idempotency: IdempotencyStore;
  /** the database's per-user data, one section per table (erasure and export; the root adds sections outside the database) */
  readonly userData: UserDataSection[];
  /** runs `fn` in one write transaction (see Executor.tx) */
  readonly exec: Executor;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** The SQLite store; `db` is the open connection (only src/db code may touch it). */
export interface SqliteStore extends Store {
  readonly db: Db;
}

/** `vectors`: pgvector's HNSW settings (PostgreSQL only; SQLite's index lives in process). */
export function buildStore(exec: Executor, opts: { vectors?: VectorSearchOptions } = {}): Store {
  const d = dialectOf(exec.dialect);
  // Audit groups before ingestion batches among this process's SQLite writer threads.
  const priority = new WritePriority();
  const audit = new SqlAuditStore(exec, d, priority);
  const events = new SqlEventStore(exec, d, () => audit.committingElsewhere, priority);
  return {
    dialect: d,
    exec,
    events,
    users: new SqlUserStore(exec, d),
    traits: new SqlTraitStore(exec, d),
    jobs: new SqlJobStore(exec, d),
    keys: new SqlKeyStore(exec, d),
    audit,
    profiles: exec.dialect === 'postgres' ? new PgProfileStore(exec, d, opts.vectors) : new SqlProfileStore(exec, d),
    summaries: new SqlSummaryStore(exec, d),
    segments: new SqlSegmentStore(exec, d),
    llm: new SqlLlmStore(exec, d),
    embeddings: new SqlEmbeddingStore(exec, d),
    features: new SqlFeatureStore(exec, d),
    stats: new SqlStatsStore(exec, d),
    items: new SqlItemStore(exec, d),
    idempotency: new SqlIdempotencyStore(exec, d),
    userData: userDataSections(exec, d),
    ping: () => exec.ping(),
    close: async () => {
      // The audit writer (a thread with its own connection on SQLite) first: rows in flight are committed.
      await audit.close();
      await events.stopWriter();
      await exec.close();
    },
  };
}

const overDb = new WeakMap<Db, SqliteStore>();

/**
 * The store over an open SQLite connection; one per connection (its write lock and prepared
 * statements are per connection). TRANSITION: callers still holding a `Db` use this; the
 * composition root will open stores itself.
 */
export function sqliteStore(db: Db): SqliteStore {
  let s = overDb.get(db);
  if (!s) {
    const exec = new SqliteExecutor(db);
    s = { ...buildStore(exec), db };
    overDb.set(db, s);
  }
  return s;
}
