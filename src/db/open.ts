import type { Config } from '../core/config.ts';
import { openDb } from './connection.ts';
import { migratePg } from './pg/migrate.ts';
import { createPgPool, isPgUrl } from './pg/pool.ts';
import { PgExecutor } from './sql/pg-executor.ts';
import { buildStore, sqliteStore, type Store } from './store.ts';

export type StoreConfig = Pick<
  Config,
  | 'TRAITLENS_DB'
  | 'TRAITLENS_DB_SYNCHRONOUS'
  | 'TRAITLENS_BUSY_TIMEOUT_MS'
  | 'TRAITLENS_PG_POOL_SIZE'
  | 'TRAITLENS_PG_STATEMENT_TIMEOUT_MS'
  | 'TRAITLENS_PG_SSL'
  | 'TRAITLENS_HNSW_M'
  | 'TRAITLENS_HNSW_EF_CONSTRUCTION'
  | 'TRAITLENS_HNSW_EF'
>;

/**
 * Opens the configured store, migrated. TRAITLENS_DB decides the backend: a `postgres://` or
 * `postgresql://` URL is PostgreSQL (migrations under an advisory lock, then a pooled executor);
 * anything else is a SQLite file.
 */
export async function openStore(config: StoreConfig): Promise<Store> {
  const target = config.TRAITLENS_DB;
  if (!isPgUrl(target)) {
    return sqliteStore(openDb(target, { synchronous: config.TRAITLENS_DB_SYNCHRONOUS, busyTimeoutMs: config.TRAITLENS_BUSY_TIMEOUT_MS }));
  }
  const pool = createPgPool(target, {
    max: config.TRAITLENS_PG_POOL_SIZE,
    statementTimeoutMs: config.TRAITLENS_PG_STATEMENT_TIMEOUT_MS,
    ssl: config.TRAITLENS_PG_SSL,
    // pgvector reads these per session: one round trip per nearest-neighbour query. relaxed_order lets a
    // filtered HNSW walk continue until k rows pass (the store re-sorts by distance).
    session: { 'hnsw.ef_search': config.TRAITLENS_HNSW_EF, 'hnsw.iterative_scan': 'relaxed_order' },
  });
  try {
    await migratePg(pool);
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
  // pgvector's HNSW index takes the same settings as the in-process one.
  return buildStore(new PgExecutor(pool), {
    vectors: { m: config.TRAITLENS_HNSW_M, efConstruction: config.TRAITLENS_HNSW_EF_CONSTRUCTION, efSearch: config.TRAITLENS_HNSW_EF },
  });
}
