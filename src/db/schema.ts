import { sql } from 'drizzle-orm';
import { blob, index, integer, primaryKey, real, sqliteTable, text, uniqueIndex, type AnySQLiteColumn } from 'drizzle-orm/sqlite-core';

/**
 * The SQLite schema. Events and declared attributes are the precious source of truth; every
 * other derived row (traits, later vectors and summaries) names its producer and version and can
 * be rebuilt. Later issues add tables through new drizzle-kit migrations in `db/`.
 * Times are epoch milliseconds (integers) throughout.
 */

export const users = sqliteTable(
  'users',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** The client's user id; null while the user is known only by anonymous ids. */
    externalId: text('external_id'),
    attributes: text('attributes').notNull().default('{}'),
    /** JSON {profiling, llm_processing, marketing}; null means "use the configured default". */
    consent: text('consent'),
    eventCount: integer('event_count').notNull().default(0),
    firstEventAt: integer('first_event_at'),
    lastEventAt: integer('last_event_at'),
    /** Monotonic; bumped whenever any of the user's traits changes. Caches key on it. */
    profileVersion: integer('profile_version').notNull().default(0),
    /**
     * Bumped by triggers (db/ migration 0009, db/pg 0007) whenever a row of the user's identities or
     * traits is written; with the rest of this row (event_count moves with the event counts), it keys a
     * cached profile answer.
     */
    dataVersion: integer('data_version').notNull().default(0),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [uniqueIndex('users_external_id_uq').on(t.externalId)],
);

export const identities = sqliteTable(
  'identities',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** user: the external id; anonymous: an anonymous id; email: the declared `email` attribute, trimmed and lower-cased. */
    kind: text('kind', { enum: ['user', 'anonymous', 'email'] }).notNull(),
    alias: text('alias').notNull(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [uniqueIndex('identities_kind_alias_uq').on(t.kind, t.alias), index('identities_user_idx').on(t.userId)],
);

export const events = sqliteTable(
  'events',
  {
    // No AUTOINCREMENT: it costs a sqlite_sequence write per row on the hottest insert.
    id: integer('id').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    ts: integer('ts').notNull(),
    properties: text('properties').notNull().default('{}'),
    text: text('text'),
    source: text('source'),
    clientEventId: text('client_event_id'),
    contentHash: text('content_hash').notNull(),
    /** The client's eventId, else a hash of identity, type, time and content: one unique index does both dedupes. */
    dedupeKey: text('dedupe_key').notNull(),
    receivedAt: integer('received_at').notNull(),
    /** JSON array of cleaning warnings (e.g. timestamp_missing), null when clean. */
    flags: text('flags'),
  },
  // The rowid is part of every index entry already: (user_id, ts) pages by (ts, id) for free.
  (t) => [uniqueIndex('events_dedupe_uq').on(t.dedupeKey), index('events_user_ts_idx').on(t.userId, t.ts)],
);

/**
 * Events per user and type, kept by ingestion in the batch's own transaction (and moved with the
 * events by identify, deleted with them by erasure), so a profile read does not count the user's
 * events. Derived from `events`; the migration that created it filled it from them.
 */
export const userEventCounts = sqliteTable(
  'user_event_counts',
  {
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    n: integer('n').notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.type] })],
);

export const traits = sqliteTable(
  'traits',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    value: text('value').notNull(),
    kind: text('kind', { enum: ['declared', 'computed', 'semantic', 'predicted', 'fact'] }).notNull(),
    confidence: real('confidence').notNull(),
    evidence: text('evidence').notNull().default('[]'),
    producer: text('producer').notNull(),
    version: text('version').notNull(),
    validFrom: integer('valid_from').notNull(),
    validTo: integer('valid_to'),
    supersededBy: integer('superseded_by').references((): AnySQLiteColumn => traits.id, { onDelete: 'set null' }),
  },
  (t) => [index('traits_user_key_idx').on(t.userId, t.key, t.validTo)],
);

export const jobs = sqliteTable(
  'jobs',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    kind: text('kind').notNull(),
    userId: integer('user_id').references(() => users.id, { onDelete: 'cascade' }),
    payload: text('payload').notNull().default('{}'),
    status: text('status', { enum: ['pending', 'running', 'done', 'parked'] })
      .notNull()
      .default('pending'),
    attempts: integer('attempts').notNull().default(0),
    runAfter: integer('run_after').notNull(),
    lastError: text('last_error'),
    lockedBy: text('locked_by'),
    lockedAt: integer('locked_at'),
    /** the claimer's lease: past this, a `running` job belongs to a dead worker and is reclaimed */
    leaseUntil: integer('lease_until'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [
    // At most one pending job per (kind, user): ingestion coalesces into it.
    uniqueIndex('jobs_pending_uq').on(t.kind, t.userId).where(sql`status = 'pending'`),
    index('jobs_status_run_idx').on(t.status, t.runAfter),
    index('jobs_status_lease_idx').on(t.status, t.leaseUntil),
  ],
);

export const apiKeys = sqliteTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    /** sha256 of the secret: the secret itself is shown once and never stored. */
    secretHash: text('secret_hash').notNull(),
    prefix: text('prefix').notNull(),
    scopes: text('scopes').notNull(),
    createdAt: integer('created_at').notNull(),
    lastUsedAt: integer('last_used_at'),
    revokedAt: integer('revoked_at'),
  },
  (t) => [uniqueIndex('api_keys_secret_hash_uq').on(t.secretHash)],
);

export const auditLog = sqliteTable(
  'audit_log',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at').notNull(),
    keyId: text('key_id'),
    action: text('action').notNull(),
    method: text('method'),
    route: text('route'),
    status: integer('status'),
    /** Internal user id (never the external id or anything personal). */
    userId: integer('user_id'),
    details: text('details'),
  },
  (t) => [index('audit_at_idx').on(t.at), index('audit_user_idx').on(t.userId)],
);

/** Running totals the ingest path keeps for data-quality stats (duplicates, rejects by reason, missing fields). */
export const ingestCounters = sqliteTable(
  'ingest_counters',
  {
    metric: text('metric').notNull(),
    key: text('key').notNull(),
    count: integer('count').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.metric, t.key] })],
);

/** Which text signals a producer (extractor + version) has already read: re-runs skip them. */
export const signalExtractions = sqliteTable(
  'signal_extractions',
  {
    eventId: integer('event_id')
      .notNull()
      .references(() => events.id, { onDelete: 'cascade' }),
    producer: text('producer').notNull(),
    version: text('version').notNull(),
    extractedAt: integer('extracted_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.eventId, t.producer, t.version] })],
);

/** Per-signal text embeddings. One row per (event, embedder): switching embedder never mixes dimensions. */
export const signalEmbeddings = sqliteTable(
  'signal_embeddings',
  {
    eventId: integer('event_id')
      .notNull()
      .references(() => events.id, { onDelete: 'cascade' }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    embedderId: text('embedder_id').notNull(),
    dim: integer('dim').notNull(),
    vector: blob('vector', { mode: 'buffer' }).notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.eventId, t.embedderId] }), index('signal_embeddings_user_idx').on(t.userId, t.embedderId)],
);

/** Per-user text embedding (recency-weighted mean of its signals), keyed by embedder. */
export const userEmbeddings = sqliteTable(
  'user_embeddings',
  {
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    embedderId: text('embedder_id').notNull(),
    dim: integer('dim').notNull(),
    vector: blob('vector', { mode: 'buffer' }).notNull(),
    signals: integer('signals').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.embedderId] })],
);

/** One row per LLM call: tokens, latency and outcome, for budgets and the usage report. */
export const llmCalls = sqliteTable(
  'llm_calls',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at').notNull(),
    userId: integer('user_id').references(() => users.id, { onDelete: 'set null' }),
    purpose: text('purpose').notNull(),
    model: text('model').notNull(),
    promptVersion: text('prompt_version').notNull(),
    promptTokens: integer('prompt_tokens').notNull().default(0),
    completionTokens: integer('completion_tokens').notNull().default(0),
    latencyMs: integer('latency_ms').notNull().default(0),
    status: text('status', { enum: ['ok', 'error'] }).notNull(),
    error: text('error'),
  },
  (t) => [index('llm_calls_at_idx').on(t.at)],
);

/** Model answers by content hash of the exact request: unchanged input makes no second call. */
export const llmCache = sqliteTable(
  'llm_cache',
  {
    key: text('key').primaryKey(),
    userId: integer('user_id').references(() => users.id, { onDelete: 'cascade' }),
    response: text('response').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('llm_cache_user_idx').on(t.userId)],
);

/**
 * The per-user profile vector (docs/user-vector.md): text, behaviour and trait blocks, each
 * L2-normalised and weighted. `version` names the composition (embedder, behaviour scaler,
 * weights); rows of another version are stale and stay out of the index. The HNSW index is a
 * cache of this table, synced by `updated_at`.
 */
export const userProfiles = sqliteTable(
  'user_profiles',
  {
    userId: integer('user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    version: text('version').notNull(),
    dim: integer('dim').notNull(),
    vector: blob('vector', { mode: 'buffer' }).notNull(),
    /** JSON: which blocks were present (text, behaviour, traits) */
    blocks: text('blocks').notNull(),
    /** users.profile_version when the vector was built */
    profileVersion: integer('profile_version').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('user_profiles_updated_idx').on(t.updatedAt)],
);

/** Small named settings derived from the population (e.g. the behaviour scaler), JSON values. */
export const profileMeta = sqliteTable('profile_meta', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/** Generated summaries, cached per (user, profile version, audience, generator). */
export const summaries = sqliteTable(
  'summaries',
  {
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    profileVersion: integer('profile_version').notNull(),
    audience: text('audience').notNull(),
    /** `template.v2` or `llm:<model>:summary.v1` */
    generator: text('generator').notNull(),
    text: text('text').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.profileVersion, t.audience, t.generator] })],
);

/** Saved segments: a filter in the segment DSL (src/segments/dsl.ts). */
export const segments = sqliteTable(
  'segments',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** unique (409 on a duplicate) */
    name: text('name').notNull(),
    description: text('description'),
    filter: text('filter').notNull(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [uniqueIndex('segments_name_uq').on(t.name)],
);

/**
 * The item catalogue: imported (`traitlens import-items`, `PUT /v1/items/:id`) or learned from the
 * item property of events (`source = 'learned'`, id only until a catalogue entry replaces it).
 * Not per-user data: who interacted with an item lives in `events`.
 */
export const items = sqliteTable('items', {
  id: text('id').primaryKey(),
  title: text('title'),
  category: text('category'),
  price: real('price'),
  attributes: text('attributes').notNull().default('{}'),
  source: text('source', { enum: ['import', 'learned'] }).notNull(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/**
 * Trained item embeddings, one row per version (model card JSON, the item ids as a JSON array and
 * their vectors as one row-major float32 blob); exactly one row is active. Derived from everyone's
 * interactions: a retrain drops an erased user's influence (SECURITY.md).
 */
export const itemEmbeddingModels = sqliteTable(
  'item_embedding_models',
  {
    version: text('version').primaryKey(),
    dim: integer('dim').notNull(),
    card: text('card').notNull(),
    items: text('items').notNull(),
    vectors: blob('vectors', { mode: 'buffer' }).notNull(),
    active: integer('active').notNull().default(0),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [uniqueIndex('item_embedding_models_active_uq').on(t.active).where(sql`active = 1`), index('item_embedding_models_created_idx').on(t.createdAt)],
);

/**
 * `Idempotency-Key` on POSTs that create (segments, API keys): per API key, the first request's
 * body hash and its answer, replayed for a retry with the same key and body until `expires_at`.
 * `status` is null while the first request runs. `response` is encrypted with a key derived from
 * the caller's API key secret (never stored), so a stored answer that holds a new key's secret is
 * unreadable without the caller's own secret. Holds no per-user data.
 */
export const idempotencyKeys = sqliteTable(
  'idempotency_keys',
  {
    apiKeyId: text('api_key_id').notNull(),
    key: text('key').notNull(),
    route: text('route').notNull(),
    requestHash: text('request_hash').notNull(),
    status: integer('status'),
    response: text('response'),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.apiKeyId, t.key] }), index('idempotency_keys_expires_idx').on(t.expiresAt)],
);
