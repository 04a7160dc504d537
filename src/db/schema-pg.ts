import { sql } from 'drizzle-orm';
import { bigint, customType, doublePrecision, index, integer, pgTable, primaryKey, text, uniqueIndex, type AnyPgColumn } from 'drizzle-orm/pg-core';

/**
 * The PostgreSQL schema: the same tables, columns, nullability, defaults and indexes as the SQLite
 * schema (src/db/schema.ts; test/db/schema-parity.test.ts holds them together). Epoch milliseconds,
 * counts and ids are bigint read as JS numbers (the executor parses int8); SQLite reals are double
 * precision, blobs bytea, JSON stays text so the store classes' SQL is the same on both.
 * Ids are identities `BY DEFAULT`, so `migrate-store` can copy rows with their ids.
 */

const bytea = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => 'bytea',
});

/** pgvector without a fixed length: the length follows the embedder; indexes cast per length. */
const pgvector = customType<{ data: string; driverData: string }>({
  dataType: () => 'vector',
});

const id = () => bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity();
const big = (name: string) => bigint(name, { mode: 'number' });

export const users = pgTable(
  'users',
  {
    id: id(),
    externalId: text('external_id'),
    attributes: text('attributes').notNull().default('{}'),
    consent: text('consent'),
    eventCount: big('event_count').notNull().default(0),
    firstEventAt: big('first_event_at'),
    lastEventAt: big('last_event_at'),
    profileVersion: big('profile_version').notNull().default(0),
    /**
     * Bumped by triggers (db/ migration 0009, db/pg 0007) whenever a row of the user's identities or
     * traits is written; with the rest of this row (event_count moves with the event counts), it keys a
     * cached profile answer.
     */
    dataVersion: big('data_version').notNull().default(0),
    createdAt: big('created_at').notNull(),
    updatedAt: big('updated_at').notNull(),
  },
  (t) => [uniqueIndex('users_external_id_uq').on(t.externalId)],
);

export const identities = pgTable(
  'identities',
  {
    id: id(),
    kind: text('kind', { enum: ['user', 'anonymous', 'email'] }).notNull(),
    alias: text('alias').notNull(),
    userId: big('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: big('created_at').notNull(),
  },
  (t) => [uniqueIndex('identities_kind_alias_uq').on(t.kind, t.alias), index('identities_user_idx').on(t.userId)],
);

export const events = pgTable(
  'events',
  {
    id: id(),
    userId: big('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    ts: big('ts').notNull(),
    properties: text('properties').notNull().default('{}'),
    text: text('text'),
    source: text('source'),
    clientEventId: text('client_event_id'),
    contentHash: text('content_hash').notNull(),
    dedupeKey: text('dedupe_key').notNull(),
    receivedAt: big('received_at').notNull(),
    flags: text('flags'),
  },
  (t) => [uniqueIndex('events_dedupe_uq').on(t.dedupeKey), index('events_user_ts_idx').on(t.userId, t.ts)],
);

/** Events per user and type, kept by ingestion (see schema.ts). */
export const userEventCounts = pgTable(
  'user_event_counts',
  {
    userId: big('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    n: big('n').notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.type] })],
);

export const traits = pgTable(
  'traits',
  {
    id: id(),
    userId: big('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    value: text('value').notNull(),
    kind: text('kind', { enum: ['declared', 'computed', 'semantic', 'predicted', 'fact'] }).notNull(),
    confidence: doublePrecision('confidence').notNull(),
    evidence: text('evidence').notNull().default('[]'),
    producer: text('producer').notNull(),
    version: text('version').notNull(),
    validFrom: big('valid_from').notNull(),
    validTo: big('valid_to'),
    supersededBy: big('superseded_by').references((): AnyPgColumn => traits.id, { onDelete: 'set null' }),
  },
  (t) => [index('traits_user_key_idx').on(t.userId, t.key, t.validTo)],
);

export const jobs = pgTable(
  'jobs',
  {
    id: id(),
    kind: text('kind').notNull(),
    userId: big('user_id').references(() => users.id, { onDelete: 'cascade' }),
    payload: text('payload').notNull().default('{}'),
    status: text('status', { enum: ['pending', 'running', 'done', 'parked'] })
      .notNull()
      .default('pending'),
    attempts: big('attempts').notNull().default(0),
    runAfter: big('run_after').notNull(),
    lastError: text('last_error'),
    lockedBy: text('locked_by'),
    lockedAt: big('locked_at'),
    leaseUntil: big('lease_until'),
    createdAt: big('created_at').notNull(),
    updatedAt: big('updated_at').notNull(),
  },
  (t) => [
    uniqueIndex('jobs_pending_uq').on(t.kind, t.userId).where(sql`status = 'pending'`),
    index('jobs_status_run_idx').on(t.status, t.runAfter),
    index('jobs_status_lease_idx').on(t.status, t.leaseUntil),
  ],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    secretHash: text('secret_hash').notNull(),
    prefix: text('prefix').notNull(),
    scopes: text('scopes').notNull(),
    createdAt: big('created_at').notNull(),
    lastUsedAt: big('last_used_at'),
    revokedAt: big('revoked_at'),
  },
  (t) => [uniqueIndex('api_keys_secret_hash_uq').on(t.secretHash)],
);

export const auditLog = pgTable(
  'audit_log',
  {
    id: id(),
    at: big('at').notNull(),
    keyId: text('key_id'),
    action: text('action').notNull(),
    method: text('method'),
    route: text('route'),
    status: integer('status'),
    userId: big('user_id'),
    details: text('details'),
  },
  (t) => [index('audit_at_idx').on(t.at), index('audit_user_idx').on(t.userId)],
);

export const ingestCounters = pgTable(
  'ingest_counters',
  {
    metric: text('metric').notNull(),
    key: text('key').notNull(),
    count: big('count').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.metric, t.key] })],
);

export const signalExtractions = pgTable(
  'signal_extractions',
  {
    eventId: big('event_id')
      .notNull()
      .references(() => events.id, { onDelete: 'cascade' }),
    producer: text('producer').notNull(),
    version: text('version').notNull(),
    extractedAt: big('extracted_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.eventId, t.producer, t.version] })],
);

export const signalEmbeddings = pgTable(
  'signal_embeddings',
  {
    eventId: big('event_id')
      .notNull()
      .references(() => events.id, { onDelete: 'cascade' }),
    userId: big('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    embedderId: text('embedder_id').notNull(),
    dim: integer('dim').notNull(),
    vector: bytea('vector').notNull(),
    createdAt: big('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.eventId, t.embedderId] }), index('signal_embeddings_user_idx').on(t.userId, t.embedderId)],
);

export const userEmbeddings = pgTable(
  'user_embeddings',
  {
    userId: big('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    embedderId: text('embedder_id').notNull(),
    dim: integer('dim').notNull(),
    vector: bytea('vector').notNull(),
    signals: big('signals').notNull(),
    updatedAt: big('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.embedderId] })],
);

export const llmCalls = pgTable(
  'llm_calls',
  {
    id: id(),
    at: big('at').notNull(),
    userId: big('user_id').references(() => users.id, { onDelete: 'set null' }),
    purpose: text('purpose').notNull(),
    model: text('model').notNull(),
    promptVersion: text('prompt_version').notNull(),
    promptTokens: big('prompt_tokens').notNull().default(0),
    completionTokens: big('completion_tokens').notNull().default(0),
    latencyMs: big('latency_ms').notNull().default(0),
    status: text('status', { enum: ['ok', 'error'] }).notNull(),
    error: text('error'),
  },
  (t) => [index('llm_calls_at_idx').on(t.at)],
);

export const llmCache = pgTable(
  'llm_cache',
  {
    key: text('key').primaryKey(),
    userId: big('user_id').references(() => users.id, { onDelete: 'cascade' }),
    response: text('response').notNull(),
    createdAt: big('created_at').notNull(),
  },
  (t) => [index('llm_cache_user_idx').on(t.userId)],
);

export const userProfiles = pgTable(
  'user_profiles',
  {
    userId: big('user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    version: text('version').notNull(),
    dim: integer('dim').notNull(),
    vector: bytea('vector').notNull(),
    /** PostgreSQL only: the same vector for pgvector's HNSW search (stores/profiles-pg.ts). */
    embedding: pgvector('embedding'),
    blocks: text('blocks').notNull(),
    profileVersion: big('profile_version').notNull(),
    updatedAt: big('updated_at').notNull(),
  },
  (t) => [index('user_profiles_updated_idx').on(t.updatedAt)],
);

export const profileMeta = pgTable('profile_meta', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  updatedAt: big('updated_at').notNull(),
});

export const summaries = pgTable(
  'summaries',
  {
    userId: big('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    profileVersion: big('profile_version').notNull(),
    audience: text('audience').notNull(),
    generator: text('generator').notNull(),
    text: text('text').notNull(),
    createdAt: big('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.profileVersion, t.audience, t.generator] })],
);

export const segments = pgTable(
  'segments',
  {
    id: id(),
    /** unique (409 on a duplicate) */
    name: text('name').notNull(),
    description: text('description'),
    filter: text('filter').notNull(),
    createdAt: big('created_at').notNull(),
    updatedAt: big('updated_at').notNull(),
  },
  (t) => [uniqueIndex('segments_name_uq').on(t.name)],
);

export const items = pgTable('items', {
  id: text('id').primaryKey(),
  title: text('title'),
  category: text('category'),
  price: doublePrecision('price'),
  attributes: text('attributes').notNull().default('{}'),
  source: text('source', { enum: ['import', 'learned'] }).notNull(),
  createdAt: big('created_at').notNull(),
  updatedAt: big('updated_at').notNull(),
});

export const itemEmbeddingModels = pgTable(
  'item_embedding_models',
  {
    version: text('version').primaryKey(),
    dim: integer('dim').notNull(),
    card: text('card').notNull(),
    items: text('items').notNull(),
    vectors: bytea('vectors').notNull(),
    active: integer('active').notNull().default(0),
    createdAt: big('created_at').notNull(),
  },
  (t) => [uniqueIndex('item_embedding_models_active_uq').on(t.active).where(sql`active = 1`), index('item_embedding_models_created_idx').on(t.createdAt)],
);

export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    apiKeyId: text('api_key_id').notNull(),
    key: text('key').notNull(),
    route: text('route').notNull(),
    requestHash: text('request_hash').notNull(),
    status: integer('status'),
    response: text('response'),
    createdAt: big('created_at').notNull(),
    expiresAt: big('expires_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.apiKeyId, t.key] }), index('idempotency_keys_expires_idx').on(t.expiresAt)],
);
