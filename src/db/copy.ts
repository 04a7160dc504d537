import { createHash } from 'node:crypto';
import { getTableConfig, type SQLiteTable } from 'drizzle-orm/sqlite-core';
import * as schema from './schema.ts';
import type { Executor, Queryable } from './sql/executor.ts';

/**
 * Copies every table from one store's database to another's (SQLite → PostgreSQL to move up, or any
 * pair of executors), then verifies row counts and a per-table checksum. Safe to re-run: rows are
 * inserted with `ON CONFLICT DO NOTHING`, so a second run adds only what is missing, and the
 * verification says whether the two sides now hold the same rows. The two schemas have the same
 * tables and columns (test/db/schema-parity.test.ts), so one column list serves both.
 */

export interface TableSpec {
  name: string;
  columns: string[];
  /** the primary key columns, in order: pages and checksums walk the table in this order */
  key: string[];
  /** tables this one references, copied first */
  references: string[];
}

export interface TableReport {
  table: string;
  source: number;
  target: number;
  copied: number;
  sourceChecksum: string;
  targetChecksum: string;
  ok: boolean;
}

/**
 * Columns that belong to one database and are neither copied nor compared: `users.data_version` is
 * a cache token the target's triggers keep (copying identities and traits bumps it there).
 */
const LOCAL_COLUMNS: Record<string, readonly string[]> = { users: ['data_version'] };

/** Every table of the schema, parents before children (foreign keys). */
export function tableSpecs(): TableSpec[] {
  const specs = new Map<string, TableSpec>();
  for (const value of Object.values(schema)) {
    if (!isTable(value)) continue;
    const c = getTableConfig(value);
    const pk = c.columns.filter((col) => col.primary).map((col) => col.name);
    const composite = c.primaryKeys[0]?.columns.map((col) => col.name) ?? [];
    const key = pk.length ? pk : composite.length ? composite : c.columns.map((col) => col.name);
    const references = [...new Set(c.foreignKeys.map((fk) => getTableConfig(fk.reference().foreignTable).name).filter((n) => n !== c.name))];
    const local = LOCAL_COLUMNS[c.name] ?? [];
    const columns = c.columns.map((col) => col.name).filter((n) => !local.includes(n));
    specs.set(c.name, { name: c.name, columns, key, references });
  }
  const ordered: TableSpec[] = [];
  const seen = new Set<string>();
  const visit = (s: TableSpec) => {
    if (seen.has(s.name)) return;
    seen.add(s.name);
    for (const r of s.references) {
      const parent = specs.get(r);
      if (parent) visit(parent);
    }
    ordered.push(s);
  };
  for (const s of [...specs.values()].sort((a, b) => a.name.localeCompare(b.name))) visit(s);
  return ordered;
}

function isTable(v: unknown): v is SQLiteTable {
  try {
    return typeof v === 'object' && v !== null && typeof getTableConfig(v as SQLiteTable).name === 'string';
  } catch {
    return false;
  }
}

const q = (ident: string) => `"${ident}"`;
const PAGE = 2000;

/** Rows of a table in key order, a page at a time (keyset on the key columns). */
async function* pages(x: Queryable, t: TableSpec): AsyncGenerator<Record<string, unknown>[]> {
  const cols = t.columns.map(q).join(', ');
  const order = t.key.map(q).join(', ');
  let after: unknown[] | null = null;
  for (;;) {
    // Row-value comparison (a, b) > (?, ?) works on SQLite ≥ 3.15 and PostgreSQL.
    const where: string = after ? `WHERE (${t.key.map(q).join(', ')}) > (${t.key.map(() => '?').join(', ')})` : '';
    const rows: Record<string, unknown>[] = await x.all(`SELECT ${cols} FROM ${q(t.name)} ${where} ORDER BY ${order} LIMIT ${PAGE}`, after ?? []);
    if (!rows.length) return;
    yield rows;
    if (rows.length < PAGE) return;
    const last = rows[rows.length - 1]!;
    after = t.key.map((k) => last[k]);
  }
}

/** A value as checksummed: the same row reads the same from either driver. */
function canonical(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `x${Buffer.from(v).toString('hex')}`;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(15);
  return String(v);
}

async function tableDigest(x: Queryable, t: TableSpec): Promise<{ rows: number; checksum: string }> {
  const h = createHash('sha256');
  let rows = 0;
  for await (const page of pages(x, t)) {
    for (const r of page) h.update(`${t.columns.map((c) => canonical(r[c])).join('\t')}\n`);
    rows += page.length;
  }
  return { rows, checksum: h.digest('hex').slice(0, 16) };
}

async function insertPage(x: Queryable, t: TableSpec, rows: Record<string, unknown>[]): Promise<number> {
  // Both drivers cap bound parameters (SQLite 32766, PostgreSQL 65535): stay well under.
  const per = Math.max(1, Math.floor(8000 / t.columns.length));
  let copied = 0;
  for (let i = 0; i < rows.length; i += per) {
    const chunk = rows.slice(i, i + per);
    const values = chunk.map(() => `(${t.columns.map(() => '?').join(', ')})`).join(', ');
    const params = chunk.flatMap((r) => t.columns.map((c) => r[c] ?? null));
    copied += (await x.run(`INSERT INTO ${q(t.name)} (${t.columns.map(q).join(', ')}) VALUES ${values} ON CONFLICT DO NOTHING`, params)).changes;
  }
  return copied;
}

/** After explicit ids were inserted, PostgreSQL's identity sequences must move past them. */
async function resetSequences(x: Executor, t: TableSpec): Promise<void> {
  if (x.dialect !== 'postgres' || t.key.length !== 1) return;
  const seq = await x.get<{ seq: string | null }>('SELECT pg_get_serial_sequence(?, ?) AS seq', [t.name, t.key[0]]);
  if (!seq?.seq) return;
  await x.run(`SELECT setval(?::regclass, coalesce((SELECT max(${q(t.key[0]!)}) FROM ${q(t.name)}), 0) + 1, false)`, [seq.seq]);
}

export interface CopyOptions {
  onTable?: (r: TableReport) => void;
}

/** Copies then verifies every table; `ok` is true when every table's count and checksum match. */
export async function copyStore(from: Executor, to: Executor, opts: CopyOptions = {}): Promise<{ ok: boolean; tables: TableReport[] }> {
  const tables: TableReport[] = [];
  for (const t of tableSpecs()) {
    let copied = 0;
    for await (const page of pages(from, t)) copied += await to.tx((tx) => insertPage(tx, t, page));
    await resetSequences(to, t);
    const [s, d] = await Promise.all([tableDigest(from, t), tableDigest(to, t)]);
    const report = {
      table: t.name,
      source: s.rows,
      target: d.rows,
      copied,
      sourceChecksum: s.checksum,
      targetChecksum: d.checksum,
      ok: s.rows === d.rows && s.checksum === d.checksum,
    };
    opts.onTable?.(report);
    tables.push(report);
  }
  return { ok: tables.every((t) => t.ok), tables };
}
