import pg from 'pg';

export interface PgPoolOptions {
  /** connections in the pool (TRAITLENS_PG_POOL_SIZE) */
  max?: number;
  /** per-statement limit in ms, 0 = none (TRAITLENS_PG_STATEMENT_TIMEOUT_MS) */
  statementTimeoutMs?: number;
  /** off | require (encrypted, certificate not checked) | verify (verified); an sslmode in the URL wins */
  ssl?: 'off' | 'require' | 'verify';
  /** shown in pg_stat_activity */
  applicationName?: string;
  /** settings for every connection, e.g. pgvector's `hnsw.ef_search` (names and values are ours, not user input) */
  session?: Record<string, string | number>;
}

const OID_INT8 = 20;
const OID_NUMERIC = 1700;
const toNumber = (v: string) => Number(v);

/**
 * Type parsers for this pool's clients only (the driver's global table stays untouched): int8
 * (ids, epoch ms, count(*)) and numeric (sum() of a bigint) come back as JS numbers, as on SQLite.
 * Ids and epoch milliseconds stay far below 2^53.
 */
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if ((format ?? 'text') === 'text' && (oid === OID_INT8 || oid === OID_NUMERIC)) return toNumber;
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

function sslOption(mode: PgPoolOptions['ssl']): pg.PoolConfig['ssl'] {
  if (mode === 'require') return { rejectUnauthorized: false };
  if (mode === 'verify') return { rejectUnauthorized: true };
  return undefined;
}

/** A pool on `url` with our type parsers, statement timeout and SSL settings. */
export function createPgPool(url: string, opts: PgPoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    ssl: sslOption(opts.ssl),
    application_name: opts.applicationName ?? 'traitlens',
    ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
    types: pgTypes,
  });
  // An idle client losing its connection (server restart) emits here; without a listener it would
  // crash the process. The next query gets a fresh connection.
  pool.on('error', () => {});
  const session = Object.entries(opts.session ?? {});
  if (session.length) {
    const sql = session.map(([k, v]) => `SET ${k} = ${typeof v === 'number' ? Math.trunc(v) : `'${v.replace(/'/g, "''")}'`}`).join('; ');
    // Runs before any query on a new connection (the driver queues them behind it).
    pool.on('connect', (client) => {
      client.query(sql).catch(() => {});
    });
  }
  return pool;
}

export const isPgUrl = (s: string) => /^postgres(ql)?:\/\//i.test(s);
