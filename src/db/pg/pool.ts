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

/**
 * Session settings travel in the startup packet (`options=-c name=value`), added to any the URL
 * already carries (e.g. a search_path): set before the first query, with no extra round trip.
 */
function withSession(url: string, session: PgPoolOptions['session']): string {
  const entries = Object.entries(session ?? {});
  if (!entries.length) return url;
  const u = new URL(url);
  const ours = entries.map(([k, v]) => `-c ${k}=${String(v).replace(/[^A-Za-z0-9_.]/g, '')}`).join(' ');
  u.searchParams.set('options', [u.searchParams.get('options'), ours].filter(Boolean).join(' '));
  return u.toString();
}

/** A pool on `url` with our type parsers, statement timeout and SSL settings. */
export function createPgPool(url: string, opts: PgPoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: withSession(url, opts.session),
    max: opts.max ?? 10,
    ssl: sslOption(opts.ssl),
    application_name: opts.applicationName ?? 'traitlens',
    ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
    types: pgTypes,
  });
  // An idle client losing its connection (server restart) emits here; without a listener it would
  // crash the process. The next query gets a fresh connection.
  pool.on('error', () => {});
  return pool;
}

export const isPgUrl = (s: string) => /^postgres(ql)?:\/\//i.test(s);
