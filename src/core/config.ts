import { existsSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './errors.ts';

/**
 * Every setting the service reads, parsed once at start-up. `.env.example` documents each one;
 * a wrong value fails fast with the variable's name.
 */
const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max).default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes' || v === 'on');

/** Event property names as cleaning leaves them (snake_case), safe to name in SQL. */
const PROPERTY_NAME = /^[A-Za-z0-9_]{1,64}$/;
const PROPERTY_NAME_MESSAGE = 'property names are letters, digits and _';
/** A comma-separated setting as a list of trimmed, non-empty entries. */
const splitList = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const commaList = (def = '') => z.string().default(def).transform(splitList);
const propertyList = (def: string) => commaList(def).pipe(z.array(z.string().regex(PROPERTY_NAME, PROPERTY_NAME_MESSAGE)));

export const configSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: int(8080, 0, 65535),
  /** The one data directory: the database, trained models, the similar-users index and the word-vector cache live here unless set one by one. */
  TRAITLENS_DATA_DIR: z.string().min(1).default('./data'),
  /** SQLite file or postgres:// URL; default `<TRAITLENS_DATA_DIR>/traitlens.db`. */
  TRAITLENS_DB: z.string().min(1).optional(),
  /** FULL fsyncs every commit: an acknowledged event survives power loss, not only a crash. */
  TRAITLENS_DB_SYNCHRONOUS: z.enum(['OFF', 'NORMAL', 'FULL']).default('FULL'),
  TRAITLENS_BUSY_TIMEOUT_MS: int(5000, 0),
  /** PostgreSQL (TRAITLENS_DB=postgres://…): connections per process, per-statement limit (0 = none), TLS. */
  TRAITLENS_PG_POOL_SIZE: int(10, 1, 1000),
  TRAITLENS_PG_STATEMENT_TIMEOUT_MS: int(30_000, 0),
  /** off | require (encrypted, certificate unchecked) | verify (certificate checked); an sslmode in the URL wins. */
  TRAITLENS_PG_SSL: z.enum(['off', 'require', 'verify']).default('off'),
  TRAITLENS_MAX_BATCH_EVENTS: int(1000, 1, 100_000),
  TRAITLENS_MAX_BODY_BYTES: int(5 * 1024 * 1024, 1024),
  TRAITLENS_MAX_TEXT_CHARS: int(20_000, 1),
  TRAITLENS_MAX_PROPERTIES_BYTES: int(32 * 1024, 64),
  /** Timestamps later than received time by more than this are rejected; within it, clamped. */
  TRAITLENS_FUTURE_SKEW_MS: int(24 * 3600 * 1000, 0),
  TRAITLENS_CLAMP_SKEW_MS: int(5 * 60 * 1000, 0),
  /** Shutdown deadline: requests and running jobs get this long, then serve logs what is left and exits 1. */
  TRAITLENS_SHUTDOWN_TIMEOUT_MS: int(10_000, 0),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  OPENAI_BASE_URL: z.url().optional(),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_CHAT_MODEL: z.string().default('gpt-4o-mini'),
  OPENAI_EMBEDDING_MODEL: z.string().default('text-embedding-3-small'),
  /** Per-request timeout; a local model on CPU can be slow, so be generous. */
  OPENAI_TIMEOUT_MS: int(60_000, 100),
  /** Our own retries (the SDK's are disabled): 429, 5xx, timeouts, connection errors. */
  OPENAI_MAX_RETRIES: int(3, 0, 20),
  OPENAI_RETRY_BASE_MS: int(500, 0),
  OPENAI_RETRY_MAX_MS: int(30_000, 0),
  /** A retry-after hint longer than this is not waited for: the error goes back to the job system. */
  OPENAI_RETRY_AFTER_MAX_MS: int(60_000, 0),
  /** Requests in flight at once, chat and embeddings counted separately. */
  OPENAI_CONCURRENCY: int(4, 1, 1024),
  /** Tokens per minute for chat (prompt + completion); 0 = unlimited. */
  OPENAI_TPM: int(0, 0),
  /** How structured output is requested: json_schema response_format or a forced tool call. */
  OPENAI_STRUCTURED_METHOD: z.enum(['jsonSchema', 'functionCalling']).default('jsonSchema'),
  /** Circuit breaker: opens after this many consecutive failed attempts, half-opens after the cool-down. */
  OPENAI_BREAKER_THRESHOLD: int(5, 1),
  OPENAI_BREAKER_COOLDOWN_MS: int(30_000, 0),
  /** auto = OpenAI-compatible embeddings when OPENAI_BASE_URL or OPENAI_API_KEY is set, else offline. */
  TRAITLENS_EMBEDDER: z.enum(['auto', 'offline', 'openai']).default('auto'),
  /** Sent as `dimensions` when set (text-embedding-3-*); also checked against every returned vector. */
  OPENAI_EMBEDDING_DIM: z.coerce.number().int().min(1).max(65_536).optional(),
  /** float works everywhere; base64 is smaller on the wire where the server supports it. */
  OPENAI_EMBEDDING_FORMAT: z.enum(['float', 'base64']).default('float'),
  OPENAI_EMBEDDING_BATCH: int(64, 1, 2048),
  /** Trained behavioural models (NAME/VERSION folders); `traitlens train` writes here, scoring reads. Default `<TRAITLENS_DATA_DIR>/models`. */
  TRAITLENS_MODELS_DIR: z.string().min(1).optional(),
  /** tfjs backend: auto = tfjs-node when its native binding loads, else WASM, else cpu; or force one. */
  TRAITLENS_TF_BACKEND: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  /** Derived files (the offline word-vector cache). Default `<TRAITLENS_DATA_DIR>/cache`. */
  TRAITLENS_CACHE_DIR: z.string().min(1).optional(),
  /** Offline SIF embeddings: remove the common component (first principal component). */
  TRAITLENS_OFFLINE_REMOVE_PC: bool(true),
  TRAITLENS_WORKER: bool(true),
  /**
   * Jobs a worker claims and refreshes together (one slice): one model listing, one predict and one
   * write transaction per stage for the whole slice. Larger slices amortise those costs (2,000 demo
   * users, first pass: 273 users/s at 4, 335 at 16; bench/pipeline.ts --batch) but hold the write lock
   * longer per transaction; the pipeline still yields to ingestion before each slice.
   */
  TRAITLENS_WORKER_SLICE: int(16, 1, 1024),
  /** A claimed job's lease; the holder renews it while the job runs (every third of it). A killed worker's jobs are reclaimed once it lapses. */
  TRAITLENS_JOB_LEASE_MS: int(30_000, 1000, 3_600_000),
  /** Finished jobs are kept this long for inspection, then pruned by the worker. */
  TRAITLENS_JOBS_RETENTION_MS: int(86_400_000, 0),
  /** Consent a user has until told otherwise: comma-separated flags among profiling, llm_processing, marketing. */
  TRAITLENS_DEFAULT_CONSENT: z
    .string()
    .default('profiling,llm_processing')
    // `none`: an empty value counts as unset (→ the default), so opting everyone out needs a word.
    .transform((s) => (s.trim().toLowerCase() === 'none' ? [] : splitList(s)))
    .pipe(z.array(z.enum(['profiling', 'llm_processing', 'marketing']))),
  /** Per-API-key token bucket: sustained requests per second (0 = no limit) and burst size. */
  TRAITLENS_RATE_LIMIT_RPS: z.coerce.number().min(0).default(100),
  TRAITLENS_RATE_LIMIT_BURST: int(1000, 1),
  /** Per-scope overrides, e.g. `events:write=200:2000,profiles:read=20:50` (scope=rps:burst). */
  TRAITLENS_RATE_LIMITS: z.string().default(''),
  /** Chat tokens (prompt + completion) per UTC day for LLM processing; 0 = unlimited. Over it, jobs wait for the next day. */
  TRAITLENS_LLM_DAILY_TOKENS: int(0, 0),
  /** Browser origins allowed to call the API (CORS), comma-separated, e.g. `https://app.example.com`; `*` = any; empty = CORS off. */
  TRAITLENS_CORS_ORIGINS: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim().replace(/\/+$/, ''))
        .filter(Boolean),
    )
    .pipe(z.array(z.union([z.literal('*'), z.url({ protocol: /^https?$/ })]))),
  /** How long an `Idempotency-Key` and its first answer are kept (POSTs that create: segments, API keys). */
  TRAITLENS_IDEMPOTENCY_TTL_MS: int(86_400_000, 1000),
  /**
   * How long the server trusts an API key it has verified before asking the database again (0 = every
   * request). A key revoked with `DELETE /v1/keys/:id` stops at once; one revoked by the CLI or another
   * process keeps working on a running server for at most this long (SECURITY.md).
   */
  TRAITLENS_KEY_CACHE_MS: int(5000, 0, 60_000),
  /**
   * Memory for recent profile answers (GET /v1/users/:id), in MB (0 = off). A cached answer is served
   * only while the user's row in the database is unchanged, which every write to the profile changes.
   */
  TRAITLENS_PROFILE_CACHE_MB: int(32, 0, 4096),
  /** A cached profile answer is rebuilt, and one no one reads dropped from memory, this long after it was built. */
  TRAITLENS_PROFILE_CACHE_TTL_MS: int(60_000, 1000, 3_600_000),
  /** Require an admin key for GET /metrics (default: public, like /healthz; keep the port private). */
  TRAITLENS_METRICS_AUTH: bool(false),
  /** Optional JSON file extending the trait catalogue. */
  TRAITLENS_TRAIT_CATALOGUE: z.string().optional(),
  /** Signal text per extraction call, in tokens (≈ 4 characters each). */
  TRAITLENS_EXTRACT_BATCH_TOKENS: int(2000, 100, 100_000),
  /** Sensitive categories explicitly allowed (none by default). */
  TRAITLENS_SENSITIVE_ALLOW: commaList().pipe(z.array(z.enum(['health', 'religion', 'sexual_orientation', 'ethnicity', 'political_opinion', 'trade_union_membership']))),
  /** User vector (docs/user-vector.md): weight of each L2-normalised block; 0 leaves a block out. */
  TRAITLENS_VECTOR_W_TEXT: z.coerce.number().min(0).max(100).default(1),
  TRAITLENS_VECTOR_W_BEHAVIOUR: z.coerce.number().min(0).max(100).default(0.5),
  TRAITLENS_VECTOR_W_TRAITS: z.coerce.number().min(0).max(100).default(1),
  /** Weight of the pooled item-embedding block (absent while no item-embedding model is active). */
  TRAITLENS_ITEM_VECTOR_WEIGHT: z.coerce.number().min(0).max(100).default(1),
  /** The HNSW index file; default `<TRAITLENS_DB>.hnsw` (manifest beside it, `.json`). A rebuildable cache of user_profiles. */
  TRAITLENS_INDEX_PATH: z.string().optional(),
  /**
   * HNSW graph degree, build-time and query-time candidate list sizes (ef is also pgvector's
   * hnsw.ef_search). ef 240: recall@10 0.954 at 1M users (232: 0.952, within one standard error of
   * 0.95; 128: 0.879), bench/similar.ts, docs/user-vector.md; 100k users reach 0.96 at ef 128.
   */
  TRAITLENS_HNSW_M: int(16, 2, 128),
  TRAITLENS_HNSW_EF_CONSTRUCTION: int(200, 10, 4000),
  TRAITLENS_HNSW_EF: int(240, 1, 10_000),
  /** The index owner (the server) pulls changed vectors from SQLite this often; queries also sync first. */
  TRAITLENS_INDEX_SYNC_MS: int(2000, 50),
  /** A changed index is written to disk at most this often (and on shutdown). */
  TRAITLENS_INDEX_SAVE_MS: int(30_000, 0),
  /** Largest k for similar users, lookalikes and search. */
  TRAITLENS_SIMILAR_MAX_K: int(100, 1, 10_000),
  /** Items (docs/items.md): the first of these event properties present names the item of an event. */
  TRAITLENS_ITEM_PROPERTIES: propertyList('item,product_id,sku').pipe(z.array(z.string()).min(1, 'at least one item property')),
  /** Optional numeric property weighting an interaction (quantity, rating): a positive number is the weight, missing or not a number counts 1, zero or negative drops the interaction. */
  TRAITLENS_ITEM_WEIGHT_PROPERTY: z.string().regex(PROPERTY_NAME, PROPERTY_NAME_MESSAGE).optional(),
  /** Event types that count as item interactions (comma list; empty = every type naming an item). */
  TRAITLENS_ITEM_EVENT_TYPES: commaList(),
  /** The pipeline retrains item embeddings once this many interactions arrived since the active model (0 = never on volume). */
  TRAITLENS_ITEM_RETRAIN_INTERACTIONS: int(1000, 0),
  /** How often the pipeline checks whether to retrain item embeddings, and the longest a model with new interactions waits (0 = no scheduled retraining). */
  TRAITLENS_ITEM_RETRAIN_MS: int(3_600_000, 0),
  /** Item embedding size for `train-items` and the pipeline's retraining. */
  TRAITLENS_ITEM_DIM: int(32, 2, 512),
  /** How item embeddings are learned: mf (items bought by the same people; what `eval recommend` chose on Online Retail) or item2vec (items bought together). */
  TRAITLENS_ITEM_METHOD: z.enum(['mf', 'item2vec']).default('mf'),
  /** Recommendations leave out items the user already has (false when re-buying is the point). */
  TRAITLENS_RECOMMEND_EXCLUDE_OWNED: bool(true),
});

/** Settings whose default is a place inside TRAITLENS_DATA_DIR: always filled in by `loadConfig`. */
type DataPaths = 'TRAITLENS_DB' | 'TRAITLENS_MODELS_DIR' | 'TRAITLENS_CACHE_DIR';
export type Config = Omit<z.infer<typeof configSchema>, DataPaths> & Record<DataPaths, string>;

/** `dir/name` keeping the directory as written (`./data` → `./data/traitlens.db`), so messages show the familiar path. */
const inDir = (dir: string, name: string) => `${dir.replace(/[\\/]+$/, '') || '/'}/${name}`.replace(/^\/\//, '/');

/** Parses settings from an environment map (process.env by default). Empty strings count as unset. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v.trim() !== '') cleaned[key] = v.trim();
  }
  const parsed = configSchema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message} (got ${JSON.stringify(cleaned[String(i.path[0])])})`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`, { problems });
  }
  const c = parsed.data;
  // One data directory by default: every command (the demo included) finds the same database, models and index.
  return {
    ...c,
    TRAITLENS_DB: c.TRAITLENS_DB ?? inDir(c.TRAITLENS_DATA_DIR, 'traitlens.db'),
    TRAITLENS_MODELS_DIR: c.TRAITLENS_MODELS_DIR ?? inDir(c.TRAITLENS_DATA_DIR, 'models'),
    TRAITLENS_CACHE_DIR: c.TRAITLENS_CACHE_DIR ?? inDir(c.TRAITLENS_DATA_DIR, 'cache'),
  };
}

/** Reads `.env` in the working directory into process.env (existing variables win), if present. */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}
