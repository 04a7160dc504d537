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
  /**
   * a top-level JSON key's value as JSON types it (number, string, boolean; JSON null and a missing
   * key are NULL on SQLite, null on PostgreSQL where the driver parses the jsonb). SQLite gives
   * booleans as 1/0 and objects as JSON text: callers normalise PostgreSQL's values to match.
   */
  jsonValue(column: string, key: string): string;
  /** the same with the key (any string) bound as a parameter (`?`) */
  jsonValueParam(column: string): string;
  /**
   * the JSON text of a top-level key's value, the key bound as a parameter (`?`): `"DE"`, `5`,
   * `true`, `null` (JSON null), SQL NULL when the key is missing. Compare with JSON.stringify(v).
   */
  jsonLiteralParam(column: string): string;
  /** a text expression as a number (PostgreSQL: NULL when it is not one, where a cast would throw; SQLite: 0) */
  numberOrNull(expr: string): string;
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
  jsonValue: (column, key) => `json_extract(${column}, '$.${quoteKey(key)}')`,
  jsonValueParam: (column) => `json_extract(${column}, '$."' || ? || '"')`,
  jsonLiteralParam: (column) => `(${column} -> ?)`,
  // SQLite's cast never throws (text that is no number reads as 0, as before).
  numberOrNull: (e) => `CAST(${e} AS REAL)`,
  greatest: (a, b) => `max(${a}, ${b})`,
  least: (a, b) => `min(${a}, ${b})`,
  flag: (c) => `(CASE WHEN ${c} THEN 1 ELSE 0 END)`,
  groupConcat: (expr, sep) => `group_concat(${expr}, '${sep.replace(/'/g, "''")}')`,
};

export const postgresDialect: Dialect = {
  name: 'postgres',
  jsonText: (column, key) => `((${column})::jsonb ->> '${quoteKey(key)}')`,
  jsonTextParam: (column) => `((${column})::jsonb ->> ?)`,
  jsonValue: (column, key) => `((${column})::jsonb -> '${quoteKey(key)}')`,
  jsonValueParam: (column) => `((${column})::jsonb -> CAST(? AS text))`,
  jsonLiteralParam: (column) => `(((${column})::jsonb -> CAST(? AS text))::text)`,
  numberOrNull: (e) => `(CASE WHEN (${e}) ~ '^\\s*-{0,1}[0-9]+(\\.[0-9]+){0,1}([eE][-+]{0,1}[0-9]+){0,1}\\s*$' THEN CAST(${e} AS double precision) END)`,
  greatest: (a, b) => `greatest(${a}, ${b})`,
  least: (a, b) => `least(${a}, ${b})`,
  flag: (c) => `(CASE WHEN ${c} THEN 1 ELSE 0 END)`,
  groupConcat: (expr, sep) => `string_agg(${expr}, '${sep.replace(/'/g, "''")}')`,
};

export const dialectOf = (name: DialectName): Dialect => (name === 'sqlite' ? sqliteDialect : postgresDialect);
