import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The real PostgreSQL for tests: TRAITLENS_TEST_PG_URL names a database the role may create
 * databases and schemas from (`../shared/scripts/postgres-up.sh` prints one). Each test gets its own
 * database or schema and drops it afterwards.
 */

const HOW = 'run `sudo ../shared/scripts/postgres-up.sh` and set TRAITLENS_TEST_PG_URL=<url>';
const PG_SKIP_MESSAGE = `PostgreSQL tests skipped: ${HOW}`;
const PG_CI_MESSAGE = `PostgreSQL tests must run in CI but TRAITLENS_TEST_PG_URL is not set: ${HOW} (.ci/run does)`;

export function pgTestUrl(): string | undefined {
  const url = process.env.TRAITLENS_TEST_PG_URL?.trim();
  return url ? url : undefined;
}

let warned = false;

/**
 * True when PostgreSQL tests can run. Without TRAITLENS_TEST_PG_URL they are skipped with one
 * message, except in CI (env CI set), where that is an error: CI must run them.
 */
export function pgAvailable(): boolean {
  if (pgTestUrl()) return true;
  if (process.env.CI) throw new Error(PG_CI_MESSAGE);
  if (!warned) {
    warned = true;
    console.warn(PG_SKIP_MESSAGE);
  }
  return false;
}

function requireUrl(): string {
  const url = pgTestUrl();
  if (!url) throw new Error(PG_SKIP_MESSAGE);
  return url;
}

let admin: pg.Pool | undefined;
/** One small pool per test process on the URL's own database, for CREATE/DROP DATABASE and SCHEMA. */
function adminPool(): pg.Pool {
  if (!admin) {
    admin = new pg.Pool({ connectionString: requireUrl(), max: 2, idleTimeoutMillis: 1000, allowExitOnIdle: true });
    admin.on('error', () => {});
  }
  return admin;
}

const tempName = (prefix: string) => `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;

export interface TempPg {
  /** connection URL of the fresh database (or of the base database with search_path on a fresh schema) */
  url: string;
  /** the database or schema name */
  name: string;
  drop(): Promise<void>;
}

/** A fresh, empty database (random name), created through the test URL's database. */
export async function createTempPgDatabase(): Promise<TempPg> {
  const base = new URL(requireUrl());
  const name = tempName('traitlens_t');
  await adminPool().query(`CREATE DATABASE "${name}"`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      // FORCE: a pool the test forgot to close must not keep the database alive.
      await adminPool().query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/**
 * A fresh, empty schema in the test URL's database, and a URL whose connections put it first on
 * search_path (`public` after it, where the database's extensions such as pgvector live). Cheaper
 * than a database, and it sees extensions the test role could not create itself.
 */
export async function createTempPgSchema(): Promise<TempPg> {
  const base = new URL(requireUrl());
  const name = tempName('t');
  await adminPool().query(`CREATE SCHEMA "${name}"`);
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${name},public`);
  return {
    url: url.toString(),
    name,
    drop: async () => {
      await adminPool().query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
    },
  };
}

const STALE_MS = 6 * 3600_000;
let swept = false;

/** Drops test databases and schemas a crashed run left behind (their names carry their creation time). */
async function sweepStale(): Promise<void> {
  if (swept) return;
  swept = true;
  const old = (name: string) => {
    const t = parseInt(name.split('_').at(-2) ?? '', 36);
    return Number.isFinite(t) && Date.now() - t > STALE_MS;
  };
  const schemas = await adminPool().query<{ name: string }>(`SELECT nspname AS name FROM pg_namespace WHERE nspname ~ '^t_[0-9a-z]+_[0-9a-f]{8}$'`);
  for (const { name } of schemas.rows)
    if (old(name))
      await adminPool()
        .query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`)
        .catch(() => {});
  const dbs = await adminPool().query<{ name: string }>(`SELECT datname AS name FROM pg_database WHERE datname ~ '^traitlens_t_[0-9a-z]+_[0-9a-f]{8}$'`);
  for (const { name } of dbs.rows)
    if (old(name))
      await adminPool()
        .query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
        .catch(() => {});
}

/** A migrated schema that tests take turns on, emptied between them. */
export interface MigratedSchema extends TempPg {
  /** deletes every row and restarts the id sequences: the schema is as fresh as after migrating */
  wipe(): Promise<void>;
}

const idle: MigratedSchema[] = [];

/**
 * A migrated, empty schema for one test. Creating and migrating a schema costs about a second on
 * a busy machine, emptying one tens of milliseconds (see the report in test/support/backends.ts),
 * so schemas are reused within a test process: `releaseMigratedSchema` empties one and puts it
 * back, `dropIdleSchemas` drops them when a suite ends.
 */
export async function acquireMigratedSchema(migrate: (url: string) => Promise<void>): Promise<MigratedSchema> {
  const reused = idle.pop();
  if (reused) return reused;
  await sweepStale();
  const tmp = await createTempPgSchema();
  await migrate(tmp.url);
  const q = (s: string) => `"${tmp.name}"."${s}"`;
  const tables = await adminPool().query<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = $1 AND tablename <> '__drizzle_migrations'`, [tmp.name]);
  const seqs = await adminPool().query<{ name: string }>(`SELECT sequencename AS name FROM pg_sequences WHERE schemaname = $1 AND sequencename <> '__drizzle_migrations_id_seq'`, [
    tmp.name,
  ]);
  // DELETE, not TRUNCATE: on small tables it is ten times faster (TRUNCATE makes new files).
  // Every foreign key cascades or sets null, so the order does not matter.
  const wipeSql = [...tables.rows.map((t) => `DELETE FROM ${q(t.name)}`), ...seqs.rows.map((s) => `ALTER SEQUENCE ${q(s.name)} RESTART`)].join(';\n');
  return { ...tmp, wipe: async () => void (await adminPool().query(wipeSql)) };
}

export async function releaseMigratedSchema(s: MigratedSchema): Promise<void> {
  try {
    await s.wipe();
    idle.push(s);
  } catch {
    await s.drop();
  }
}

export async function dropIdleSchemas(): Promise<void> {
  for (const s of idle.splice(0)) await s.drop();
}
