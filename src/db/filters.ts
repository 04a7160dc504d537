/**
 * The user filter DSL (segments, similar users, lookalikes): a small JSON tree, validated node by
 * node so a 400 names the bad part (e.g. `filter.and[1].trait.minConfidence`), and compiled to one
 * portable SQL condition over `users u`. It lives in db because it is SQL: segments and similar
 * both use it, neither imports the other.
 *
 *   {"trait":     {"key": "interest", "value": "hiking", "minConfidence": 0.6, "kind": "semantic"}}
 *   {"predicted": {"key": "will_purchase", "value": true, "min": 0.7, "max": 1}}   probability range
 *   {"feature":   {"key": "purchase_count", "gte": 3}}                             computed traits
 *   {"attribute": {"key": "country", "eq": "DE"}} | {"in": [...]} | {"exists": true}
 *   {"fact":      {"text": "reads books", "topic": "reading", "minConfidence": 0.5}}       free-form facts
 *   {"and": [...]} | {"or": [...]} | {"not": {...}}
 *
 * One size cap for every way of writing a filter (the JSON tree, the `key:value` shorthand): a
 * filter has at most MAX_FILTER_NODES nodes, counted on the parsed tree. Beyond it: a 400 with
 * code `filter_too_large`, never a database error ("Expression tree is too large").
 */
import { z } from 'zod';
import { ValidationError, type FieldIssue } from '../core/errors.ts';
import type { ConsentFlag } from '../core/types.ts';
import type { Dialect } from './sql/dialect.ts';
import { consentSql } from './stores/users.ts';

type Scalar = string | number | boolean;

export type Filter =
  | { trait: { key: string; value?: Scalar; minConfidence?: number; kind?: 'declared' | 'computed' | 'semantic' | 'predicted' } }
  | { predicted: { key: string; value?: Scalar; min?: number; max?: number } }
  | { feature: { key: string; gt?: number; gte?: number; lt?: number; lte?: number; eq?: Scalar } }
  | { attribute: { key: string; eq?: Scalar; in?: Scalar[]; exists?: boolean } }
  | { fact: { text?: string; topic?: string; minConfidence?: number } }
  | { and: Filter[] }
  | { or: Filter[] }
  | { not: Filter };

export const MAX_FILTER_DEPTH = 8;
/** Nodes (operators and conditions) in one filter, however it was written. */
export const MAX_FILTER_NODES = 64;
/** A `key:value` clause is 3 nodes ({or: [attribute, trait]}); the `and` joining them is one more. */
export const SHORTHAND_NODES_PER_CLAUSE = 3;
export const MAX_SHORTHAND_CLAUSES = Math.floor((MAX_FILTER_NODES - 1) / SHORTHAND_NODES_PER_CLAUSE);
/** Values inside `attribute.in`. */
export const MAX_IN_VALUES = 100;

const scalar = z.union([z.string().min(1).max(200), z.number().finite(), z.boolean()]);
const traitKey = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'trait keys are snake_case, at most 64 characters');
// Attribute keys are bound as a JSON key; kept to a plain alphabet all the same (logs, docs, paths).
const attrKey = z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'attribute keys are letters, digits, _ and -, at most 100 characters');
const prob = z.number().min(0).max(1);
/** Words of a fact text filter: letters, digits, ' and -, lower case (matched as word prefixes). */
const MAX_FACT_WORDS = 8;
export function factWords(text: string): string[] {
  return (
    text
      .toLowerCase()
      .normalize('NFC')
      .match(/[\p{L}\p{N}][\p{L}\p{N}'-]*/gu) ?? []
  );
}
const factText = z
  .string()
  .max(200)
  .refine((t) => factWords(t).length > 0, { message: 'give at least one word' })
  .refine((t) => factWords(t).length <= MAX_FACT_WORDS, { message: `at most ${MAX_FACT_WORDS} words` });

const LEAVES = {
  trait: z.strictObject({ key: traitKey, value: scalar.optional(), minConfidence: prob.optional(), kind: z.enum(['declared', 'computed', 'semantic', 'predicted']).optional() }),
  predicted: z
    .strictObject({ key: traitKey, value: scalar.optional(), min: prob.optional(), max: prob.optional() })
    .refine((p) => p.min === undefined || p.max === undefined || p.min <= p.max, { message: 'min must not exceed max', path: ['min'] }),
  feature: z
    .strictObject({
      key: traitKey,
      gt: z.number().finite().optional(),
      gte: z.number().finite().optional(),
      lt: z.number().finite().optional(),
      lte: z.number().finite().optional(),
      eq: scalar.optional(),
    })
    .refine((f) => ['gt', 'gte', 'lt', 'lte', 'eq'].some((k) => k in f), { message: 'give at least one of gt, gte, lt, lte, eq' }),
  attribute: z
    .strictObject({ key: attrKey, eq: scalar.optional(), in: z.array(scalar).min(1).max(MAX_IN_VALUES).optional(), exists: z.boolean().optional() })
    .refine((a) => ['eq', 'in', 'exists'].filter((k) => k in a).length === 1, { message: 'give exactly one of eq, in, exists' }),
  // A current free-form fact (kind 'fact', key 'fact:<topic>') whose statement holds every word of
  // `text` as a word or the start of one ("read books" finds "reads about 20 books a year").
  fact: z
    .strictObject({ text: factText.optional(), topic: traitKey.optional(), minConfidence: prob.optional() })
    .refine((f) => f.text !== undefined || f.topic !== undefined, { message: 'give text, topic or both' }),
} as const;
const OPERATORS = ['trait', 'predicted', 'feature', 'attribute', 'fact', 'and', 'or', 'not'] as const;

const tooLarge = (field: string, message: string) => new ValidationError(`filter too large: ${message}`, [{ field, message }], 'filter_too_large');

/** Validates a filter tree; throws a ValidationError whose details list every issue with its path. */
export function parseFilter(raw: unknown, root = 'filter'): Filter {
  const issues: FieldIssue[] = [];
  let nodes = 0;
  let overflow: string | null = null;
  const walk = (v: unknown, path: string, depth: number): Filter | null => {
    if (overflow) return null;
    if (++nodes > MAX_FILTER_NODES) {
      overflow = path;
      return null;
    }
    if (depth > MAX_FILTER_DEPTH) {
      issues.push({ field: path, message: `filters nest at most ${MAX_FILTER_DEPTH} levels` });
      return null;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      issues.push({ field: path, message: `expected an object with one of ${OPERATORS.join(', ')}` });
      return null;
    }
    const keys = Object.keys(v);
    if (keys.length !== 1 || !(OPERATORS as readonly string[]).includes(keys[0] as string)) {
      const shown = keys.slice(0, 5).map((k) => JSON.stringify(k.slice(0, 40)));
      issues.push({ field: path, message: `expected exactly one of ${OPERATORS.join(', ')}; got ${keys.length ? `${shown.join(', ')}${keys.length > 5 ? ', …' : ''}` : 'none'}` });
      return null;
    }
    const op = keys[0] as (typeof OPERATORS)[number];
    const body = (v as Record<string, unknown>)[op];
    const here = `${path}.${op}`;
    if (op === 'and' || op === 'or') {
      if (!Array.isArray(body) || body.length === 0) {
        issues.push({ field: here, message: 'expected a non-empty array of filters' });
        return null;
      }
      // Checked before walking: a 100,000-element array is refused without visiting it.
      if (nodes + body.length > MAX_FILTER_NODES) {
        overflow = here;
        return null;
      }
      const kids = body.map((b, i) => walk(b, `${here}[${i}]`, depth + 1));
      return kids.every((k) => k !== null) ? ({ [op]: kids as Filter[] } as Filter) : null;
    }
    if (op === 'not') {
      const kid = walk(body, here, depth + 1);
      return kid ? { not: kid } : null;
    }
    const r = LEAVES[op].safeParse(body);
    if (!r.success) {
      for (const i of r.error.issues)
        issues.push({ field: [here, ...i.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))].join('.').replace(/\.\[/g, '['), message: i.message });
      return null;
    }
    return { [op]: r.data } as Filter;
  };
  const out = walk(raw, root, 1);
  if (overflow) throw tooLarge(overflow, `a filter has at most ${MAX_FILTER_NODES} nodes (operators and conditions)`);
  if (!out || issues.length) {
    const first = issues[0];
    throw new ValidationError(`invalid segment filter: ${first ? `${first.field}: ${first.message}` : 'not a filter'}`, issues.slice(0, 20), 'invalid_filter');
  }
  return out;
}

/**
 * The shorthand of `?filter=` on similar users: `key:value[,key:value...]`, each matching a
 * declared attribute or a current trait with that value. A value starting with `{` is the JSON DSL.
 * Both forms end in the same tree and the same node cap.
 */
export function parseFilterParam(s: string): Filter {
  const t = s.trim();
  if (t.startsWith('{')) {
    let raw: unknown;
    try {
      raw = JSON.parse(t);
    } catch {
      throw new ValidationError('invalid filter: not valid JSON', [{ field: 'filter', message: 'not valid JSON' }], 'invalid_filter');
    }
    return parseFilter(raw, 'filter');
  }
  const parts = t
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (!parts.length) throw new ValidationError('invalid filter: empty', [{ field: 'filter', message: 'empty' }], 'invalid_filter');
  if (parts.length > MAX_SHORTHAND_CLAUSES)
    throw tooLarge(
      'filter',
      `a filter has at most ${MAX_FILTER_NODES} nodes; a key:value clause takes ${SHORTHAND_NODES_PER_CLAUSE}, so at most ${MAX_SHORTHAND_CLAUSES} clauses (got ${parts.length})`,
    );
  const clauses = parts.map((p, i): Filter => {
    // fact~words or fact~"words": a current fact holding those words
    const fm = /^fact\s*~\s*(.*)$/s.exec(p);
    if (fm) {
      const text = (fm[1] as string).trim().replace(/^"(.*)"$/s, '$1');
      return parseFilter({ fact: { text } }, `filter[${i}]`);
    }
    const at = p.indexOf(':');
    const key = p.slice(0, at).trim();
    const value = p.slice(at + 1).trim();
    if (at <= 0 || !value)
      throw new ValidationError(`invalid filter: "${p.slice(0, 100)}" is not key:value`, [{ field: `filter[${i}]`, message: 'expected key:value' }], 'invalid_filter');
    const either: unknown[] = [{ attribute: { key, eq: value } }];
    if (/^[a-z][a-z0-9_]{0,63}$/.test(key)) either.push({ trait: { key, value } });
    return parseFilter({ or: either }, `filter[${i}]`);
  });
  return clauses.length === 1 ? (clauses[0] as Filter) : { and: clauses };
}

/** A SQL condition over `users u` and its parameters, in order. */
export interface Compiled {
  where: string;
  params: unknown[];
}

const CURRENT = 't.user_id = u.id AND t.valid_to IS NULL';
const exists = (conds: string[]) => `EXISTS (SELECT 1 FROM traits t WHERE ${CURRENT} AND ${conds.join(' AND ')})`;
const PROB = `(CASE t.value WHEN 'true' THEN t.confidence WHEN 'false' THEN 1 - t.confidence ELSE t.confidence END)`;

/**
 * One SQL condition over `users u` (parameters in order). Values are always bound, never spliced;
 * the SQL text depends only on the tree's shape, so equal shapes share one prepared statement.
 * Attribute values compare as JSON text (`"DE"`, `5`, `true`), the same on SQLite and PostgreSQL.
 */
export function compileFilter(f: Filter, d: Dialect): Compiled {
  const params: unknown[] = [];
  const attr = d.jsonLiteralParam('u.attributes');
  const go = (n: Filter): string => {
    if ('and' in n) return `(${n.and.map(go).join(' AND ')})`;
    if ('or' in n) return `(${n.or.map(go).join(' OR ')})`;
    if ('not' in n) return `(NOT ${go(n.not)})`;
    if ('trait' in n) {
      const c = n.trait;
      const conds = ['t.key = ?'];
      params.push(c.key);
      if (c.kind) conds.push('t.kind = ?'), params.push(c.kind);
      if (c.value !== undefined) conds.push('lower(t.value) = lower(?)'), params.push(JSON.stringify(c.value));
      if (c.minConfidence !== undefined) conds.push('t.confidence >= ?'), params.push(c.minConfidence);
      return exists(conds);
    }
    if ('fact' in n) {
      const c = n.fact;
      const conds = [`t.kind = 'fact'`];
      if (c.topic !== undefined) conds.push('t.key = ?'), params.push(`fact:${c.topic}`);
      // The value is the statement as JSON text ("\"reads about 20 books a year\""): a word starts
      // after a space or the opening quote. Words hold no LIKE wildcards (factWords), so no escaping.
      for (const w of factWords(c.text ?? '')) conds.push(`(lower(t.value) LIKE ? OR lower(t.value) LIKE ?)`), params.push(`% ${w}%`, `"${w}%`);
      if (c.minConfidence !== undefined) conds.push('t.confidence >= ?'), params.push(c.minConfidence);
      return exists(conds);
    }
    if ('predicted' in n) {
      const c = n.predicted;
      const conds = [`t.kind = 'predicted'`, 't.key = ?'];
      params.push(c.key);
      if (c.value !== undefined) conds.push('lower(t.value) = lower(?)'), params.push(JSON.stringify(c.value));
      if (c.min !== undefined) conds.push(`${PROB} >= ?`), params.push(c.min);
      if (c.max !== undefined) conds.push(`${PROB} <= ?`), params.push(c.max);
      return exists(conds);
    }
    if ('feature' in n) {
      const c = n.feature;
      const conds = [`t.kind = 'computed'`, 't.key = ?'];
      params.push(c.key);
      const num = d.numberOrNull('t.value');
      const ops = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
      for (const [k, sqlOp] of Object.entries(ops)) {
        const v = c[k as keyof typeof ops];
        if (v !== undefined) conds.push(`${num} ${sqlOp} ?`), params.push(v);
      }
      if (c.eq !== undefined) {
        if (typeof c.eq === 'number') conds.push(`${num} = ?`), params.push(c.eq);
        else conds.push('lower(t.value) = lower(?)'), params.push(JSON.stringify(c.eq));
      }
      return exists(conds);
    }
    const c = n.attribute;
    if (c.exists !== undefined) {
      params.push(c.key);
      return c.exists ? `${attr} IS NOT NULL` : `${attr} IS NULL`;
    }
    if (c.in) {
      params.push(c.key, ...c.in.map((v) => JSON.stringify(v)));
      return `${attr} IN (${c.in.map(() => '?').join(', ')})`;
    }
    params.push(c.key, JSON.stringify(c.eq));
    return `${attr} = ?`;
  };
  return { where: go(f), params };
}

/** SQL condition over `users u`: the user's effective consent has `flag` (stored flag, else the configured default). */
export function consentCondition(flag: ConsentFlag, defaults: readonly ConsentFlag[], d: Dialect): Compiled {
  return { where: consentSql(d, 'u', flag, defaults), params: [] };
}

/** The conjunction of conditions (null when there are none). */
export function allOf(parts: readonly Compiled[]): Compiled | null {
  if (!parts.length) return null;
  return { where: parts.map((p) => `(${p.where})`).join(' AND '), params: parts.flatMap((p) => p.params) };
}
