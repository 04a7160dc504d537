import type { DialectName } from './executor.ts';

/**
 * The few SQL fragments that differ between SQLite and PostgreSQL. Everything else in the stores is
 * written once: `?` placeholders (the pg executor numbers them), `ON CONFLICT … DO NOTHING/UPDATE`,
 * `RETURNING`, epoch-millisecond integers, JSON kept as text.
 */
export interface Dialect {
  readonly name: DialectName;
  /** text of a top-level JSON key of a text column holding a JSON object */
  jsonText(column: string, key: string): string;
  /** text of a JSON key given as a bound parameter (`?`) */
  jsonTextParam(column: string): string;
  /** scalar max / min of two expressions (SQLite's max(a, b), PostgreSQL's greatest) */
  greatest(a: string, b: string): string;
  least(a: string, b: string): string;
  /** a boolean condition as 0/1, for sums and sort keys */
  flag(condition: string): string;
  /** aggregate concatenation */
  groupConcat(expr: string, sep: string): string;
}

const quoteKey = (key: string) => {
  if (!/^[A-Za-z0-9_]+$/.test(key)) throw new Error(`JSON key not allowed in SQL: ${key}`);
  return key;
};

export const sqliteDialect: Dialect = {
  name: 'sqlite',
  jsonText: (column, key) => `json_extract(${column}, '$.${quoteKey(key)}')`,
  jsonTextParam: (column) => `json_extract(${column}, '$.' || ?)`,
  greatest: (a, b) => `max(${a}, ${b})`,
  least: (a, b) => `min(${a}, ${b})`,
  flag: (c) => `(CASE WHEN ${c} THEN 1 ELSE 0 END)`,
  groupConcat: (expr, sep) => `group_concat(${expr}, '${sep.replace(/'/g, "''")}')`,
};

export const postgresDialect: Dialect = {
  name: 'postgres',
  jsonText: (column, key) => `((${column})::jsonb ->> '${quoteKey(key)}')`,
  jsonTextParam: (column) => `((${column})::jsonb ->> ?)`,
  greatest: (a, b) => `greatest(${a}, ${b})`,
  least: (a, b) => `least(${a}, ${b})`,
  flag: (c) => `(CASE WHEN ${c} THEN 1 ELSE 0 END)`,
  groupConcat: (expr, sep) => `string_agg(${expr}, '${sep.replace(/'/g, "''")}')`,
};

export const dialectOf = (name: DialectName): Dialect => (name === 'sqlite' ? sqliteDialect : postgresDialect);
