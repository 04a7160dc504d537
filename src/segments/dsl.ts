/**
 * The segment filter DSL: a small JSON tree, validated node by node so a 400 names the bad part
 * (e.g. `filter.and[1].trait.minConfidence`), and compiled to one SQL condition over `users u`.
 *
 *   {"trait":     {"key": "interest", "value": "hiking", "minConfidence": 0.6, "kind": "semantic"}}
 *   {"predicted": {"key": "will_purchase", "value": true, "min": 0.7, "max": 1}}   probability range
 *   {"feature":   {"key": "purchase_count", "gte": 3}}                             computed traits
 *   {"attribute": {"key": "country", "eq": "DE"}} | {"in": [...]} | {"exists": true}
 *   {"and": [...]} | {"or": [...]} | {"not": {...}}
 */
import { z } from 'zod';
import { ValidationError, type FieldIssue } from '../core/errors.ts';

type Scalar = string | number | boolean;

export type Filter =
  | { trait: { key: string; value?: Scalar; minConfidence?: number; kind?: 'declared' | 'computed' | 'semantic' | 'predicted' } }
  | { predicted: { key: string; value?: Scalar; min?: number; max?: number } }
  | { feature: { key: string; gt?: number; gte?: number; lt?: number; lte?: number; eq?: Scalar } }
  | { attribute: { key: string; eq?: Scalar; in?: Scalar[]; exists?: boolean } }
  | { and: Filter[] }
  | { or: Filter[] }
  | { not: Filter };

const MAX_DEPTH = 8;
const MAX_NODES = 64;
const scalar = z.union([z.string().min(1).max(200), z.number().finite(), z.boolean()]);
const traitKey = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'trait keys are snake_case, at most 64 characters');
// Attribute keys become a JSON path: no quotes, dots or brackets.
const attrKey = z.string().regex(/^[A-Za-z0-9_\-]{1,100}$/, 'attribute keys are letters, digits, _ and -, at most 100 characters');
const prob = z.number().min(0).max(1);

const LEAVES = {
  trait: z.strictObject({ key: traitKey, value: scalar.optional(), minConfidence: prob.optional(), kind: z.enum(['declared', 'computed', 'semantic', 'predicted']).optional() }),
  predicted: z
    .strictObject({ key: traitKey, value: scalar.optional(), min: prob.optional(), max: prob.optional() })
    .refine((p) => p.min === undefined || p.max === undefined || p.min <= p.max, { message: 'min must not exceed max', path: ['min'] }),
  feature: z
    .strictObject({ key: traitKey, gt: z.number().finite().optional(), gte: z.number().finite().optional(), lt: z.number().finite().optional(), lte: z.number().finite().optional(), eq: scalar.optional() })
    .refine((f) => ['gt', 'gte', 'lt', 'lte', 'eq'].some((k) => k in f), { message: 'give at least one of gt, gte, lt, lte, eq' }),
  attribute: z
    .strictObject({ key: attrKey, eq: scalar.optional(), in: z.array(scalar).min(1).max(100).optional(), exists: z.boolean().optional() })
    .refine((a) => ['eq', 'in', 'exists'].filter((k) => k in a).length === 1, { message: 'give exactly one of eq, in, exists' }),
} as const;
const OPERATORS = ['trait', 'predicted', 'feature', 'attribute', 'and', 'or', 'not'] as const;

/** Validates a filter tree; throws a ValidationError whose details list every issue with its path. */
export function parseFilter(raw: unknown, root = 'filter'): Filter {
  const issues: FieldIssue[] = [];
  let nodes = 0;
  const walk = (v: unknown, path: string, depth: number): Filter | null => {
    if (++nodes > MAX_NODES) {
      if (nodes === MAX_NODES + 1) issues.push({ field: path, message: `a filter has at most ${MAX_NODES} nodes` });
      return null;
    }
    if (depth > MAX_DEPTH) {
      issues.push({ field: path, message: `filters nest at most ${MAX_DEPTH} levels` });
      return null;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      issues.push({ field: path, message: `expected an object with one of ${OPERATORS.join(', ')}` });
      return null;
    }
    const keys = Object.keys(v);
    if (keys.length !== 1 || !(OPERATORS as readonly string[]).includes(keys[0] as string)) {
      issues.push({ field: path, message: `expected exactly one of ${OPERATORS.join(', ')}; got ${keys.length ? keys.map((k) => JSON.stringify(k)).join(', ') : 'none'}` });
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
      const kids = body.map((b, i) => walk(b, `${here}[${i}]`, depth + 1));
      return kids.every((k) => k !== null) ? ({ [op]: kids as Filter[] } as Filter) : null;
    }
    if (op === 'not') {
      const kid = walk(body, here, depth + 1);
      return kid ? { not: kid } : null;
    }
    const r = LEAVES[op].safeParse(body);
    if (!r.success) {
      for (const i of r.error.issues) issues.push({ field: [here, ...i.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))].join('.').replace(/\.\[/g, '['), message: i.message });
      return null;
    }
    return { [op]: r.data } as Filter;
  };
  const out = walk(raw, root, 1);
  if (!out || issues.length) {
    const first = issues[0];
    throw new ValidationError(`invalid segment filter: ${first ? `${first.field}: ${first.message}` : 'not a filter'}`, issues, 'invalid_filter');
  }
  return out;
}

/**
 * The shorthand of `?filter=` on similar users: `key:value[,key:value...]`, each matching a
 * declared attribute or a current trait with that value. A value starting with `{` is the JSON DSL.
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
  const parts = t.split(',').map((p) => p.trim()).filter(Boolean);
  if (!parts.length) throw new ValidationError('invalid filter: empty', [{ field: 'filter', message: 'empty' }], 'invalid_filter');
  const clauses = parts.map((p, i): Filter => {
    const at = p.indexOf(':');
    const key = p.slice(0, at).trim();
    const value = p.slice(at + 1).trim();
    if (at <= 0 || !value) throw new ValidationError(`invalid filter: "${p}" is not key:value`, [{ field: `filter[${i}]`, message: 'expected key:value' }], 'invalid_filter');
    const either: unknown[] = [{ attribute: { key, eq: value } }];
    if (/^[a-z][a-z0-9_]{0,63}$/.test(key)) either.push({ trait: { key, value } });
    return parseFilter({ or: either }, `filter[${i}]`);
  });
  return clauses.length === 1 ? (clauses[0] as Filter) : { and: clauses };
}

export interface Compiled {
  where: string;
  params: unknown[];
}

const bindable = (v: Scalar): string | number => (typeof v === 'boolean' ? (v ? 1 : 0) : v);
const PROB = `CASE t.value WHEN 'true' THEN t.confidence WHEN 'false' THEN 1 - t.confidence ELSE t.confidence END`;

/** One SQL condition over `users u` (parameters in order). Values are always bound, never spliced. */
export function compileFilter(f: Filter): Compiled {
  const params: unknown[] = [];
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
      return `EXISTS (SELECT 1 FROM traits t WHERE t.user_id = u.id AND t.valid_to IS NULL AND ${conds.join(' AND ')})`;
    }
    if ('predicted' in n) {
      const c = n.predicted;
      const conds = [`t.kind = 'predicted'`, 't.key = ?'];
      params.push(c.key);
      if (c.value !== undefined) conds.push('lower(t.value) = lower(?)'), params.push(JSON.stringify(c.value));
      if (c.min !== undefined) conds.push(`${PROB} >= ?`), params.push(c.min);
      if (c.max !== undefined) conds.push(`${PROB} <= ?`), params.push(c.max);
      return `EXISTS (SELECT 1 FROM traits t WHERE t.user_id = u.id AND t.valid_to IS NULL AND ${conds.join(' AND ')})`;
    }
    if ('feature' in n) {
      const c = n.feature;
      const conds = [`t.kind = 'computed'`, 't.key = ?'];
      params.push(c.key);
      const ops = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
      for (const [k, sqlOp] of Object.entries(ops)) {
        const v = c[k as keyof typeof ops];
        if (v !== undefined) conds.push(`CAST(t.value AS REAL) ${sqlOp} ?`), params.push(v);
      }
      if (c.eq !== undefined) {
        if (typeof c.eq === 'number') conds.push('CAST(t.value AS REAL) = ?'), params.push(c.eq);
        else conds.push('lower(t.value) = lower(?)'), params.push(JSON.stringify(c.eq));
      }
      return `EXISTS (SELECT 1 FROM traits t WHERE t.user_id = u.id AND t.valid_to IS NULL AND ${conds.join(' AND ')})`;
    }
    const c = n.attribute;
    const path = `$."${c.key}"`;
    if (c.exists !== undefined) {
      params.push(path);
      return c.exists ? 'json_type(u.attributes, ?) IS NOT NULL' : 'json_type(u.attributes, ?) IS NULL';
    }
    if (c.in) {
      params.push(path, ...c.in.map(bindable));
      return `json_extract(u.attributes, ?) IN (${c.in.map(() => '?').join(', ')})`;
    }
    params.push(path, bindable(c.eq as Scalar));
    return 'json_extract(u.attributes, ?) = ?';
  };
  return { where: go(f), params };
}

/** SQL condition: the user's effective consent has `flag` (stored flag, else the configured default). */
export function consentCondition(flag: 'marketing' | 'profiling' | 'llm_processing', def: boolean): Compiled {
  return { where: `coalesce(json_extract(u.consent, '$.${flag}'), ?) = 1`, params: [def ? 1 : 0] };
}

/** JSON Schema-ish description of the DSL for the LLM prompt and docs. */
export const FILTER_GRAMMAR = `A filter is one JSON object with exactly one of these keys:
  {"trait": {"key": K, "value"?: V, "minConfidence"?: 0..1, "kind"?: "semantic"|"declared"|"computed"|"predicted"}}
  {"predicted": {"key": K, "value"?: V, "min"?: 0..1, "max"?: 0..1}}     (probability range of a model prediction)
  {"feature": {"key": K, "gt"|"gte"|"lt"|"lte"|"eq": number}}            (computed behavioural traits)
  {"attribute": {"key": A, "eq": V} | {"key": A, "in": [V, ...]} | {"key": A, "exists": true|false}}
  {"and": [filter, ...]}, {"or": [filter, ...]}, {"not": filter}
K: a snake_case trait key. A: a declared attribute name. V: a string, number or boolean.`;
