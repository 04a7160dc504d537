import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.ts';
import { compileFilter, MAX_FILTER_NODES, MAX_SHORTHAND_CLAUSES, parseFilter, parseFilterParam } from '../../src/db/filters.ts';
import { postgresDialect, sqliteDialect } from '../../src/db/sql/dialect.ts';

const issues = (raw: unknown): { field: string; message: string }[] => {
  try {
    parseFilter(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).details as { field: string; message: string }[];
  }
  throw new Error('expected a validation error');
};

describe('segment filter DSL', () => {
  it('accepts every operator and compiles to bound parameters only', () => {
    const f = parseFilter({
      and: [
        { trait: { key: 'interest', value: 'hiking', minConfidence: 0.6 } },
        { predicted: { key: 'will_purchase', value: true, min: 0.7 } },
        { feature: { key: 'purchase_count', gte: 3 } },
        { or: [{ attribute: { key: 'country', in: ['DE', 'AT'] } }, { not: { attribute: { key: 'plan', eq: 'free' } } }] },
      ],
    });
    for (const d of [sqliteDialect, postgresDialect]) {
      const c = compileFilter(f, d);
      expect(c.where).not.toMatch(/hiking|DE|free|country|plan/);
      expect(c.params).toContain('"hiking"');
      // attribute values compare as JSON text, keys are bound too
      expect(c.params).toEqual(expect.arrayContaining(['country', '"DE"', '"AT"', 'plan', '"free"']));
      expect(c.where.split('?').length - 1).toBe(c.params.length);
    }
  });

  it('names the bad part of the tree', () => {
    expect(issues({ and: [{ trait: { key: 'interest' } }, { trait: { key: 'interest', minConfidence: 1.5 } }] })[0]?.field).toBe('filter.and[1].trait.minConfidence');
    expect(issues({ trait: { key: 'Interest' } })[0]).toMatchObject({ field: 'filter.trait.key', message: expect.stringContaining('snake_case') });
    expect(issues({ feature: { key: 'purchase_count' } })[0]).toMatchObject({ field: 'filter.feature', message: expect.stringContaining('gt, gte') });
    expect(issues({ attribute: { key: 'country', eq: 'DE', exists: true } })[0]?.message).toContain('exactly one of eq, in, exists');
    expect(issues({ attribute: { key: 'a"b', eq: 1 } })[0]?.field).toBe('filter.attribute.key');
    expect(issues({ predicted: { key: 'churn', min: 0.9, max: 0.1 } })[0]?.message).toContain('min must not exceed max');
    expect(issues({ trait: { key: 'x', colour: 'red' } })[0]?.field).toBe('filter.trait');
    expect(issues({ or: [] })[0]).toMatchObject({ field: 'filter.or', message: expect.stringContaining('non-empty') });
    expect(issues({ xor: [] })[0]?.message).toContain('expected exactly one of trait');
    expect(issues({ trait: { key: 'a' }, not: {} })[0]?.field).toBe('filter');
    expect(issues('country = DE')[0]?.field).toBe('filter');
    let deep: unknown = { trait: { key: 'a' } };
    for (let i = 0; i < 10; i++) deep = { not: deep };
    expect(issues(deep)[0]?.message).toContain('nest at most');
  });

  it('parses the key:value shorthand into attribute-or-trait clauses', () => {
    expect(parseFilterParam('country:DE')).toEqual({ or: [{ attribute: { key: 'country', eq: 'DE' } }, { trait: { key: 'country', value: 'DE' } }] });
    expect(parseFilterParam('country:DE, plan:pro')).toHaveProperty('and');
    expect(() => parseFilterParam('{oops')).toThrow(/not valid JSON/);
  });

  it('one size cap for both ways of writing a filter, a 400 that says so', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        return { code: (err as ValidationError).code, message: (err as ValidationError).message };
      }
      return null;
    };
    const leaf = (i: number) => ({ attribute: { key: `k${i}`, eq: 'v' } });
    expect(code(() => parseFilter({ and: Array.from({ length: MAX_FILTER_NODES - 1 }, (_, i) => leaf(i)) }))).toBeNull();
    expect(code(() => parseFilter({ and: Array.from({ length: MAX_FILTER_NODES }, (_, i) => leaf(i)) }))).toMatchObject({
      code: 'filter_too_large',
      message: expect.stringContaining(`${MAX_FILTER_NODES} nodes`),
    });
    const clauses = (n: number) => Array.from({ length: n }, (_, i) => `k${i}:v`).join(',');
    expect(code(() => parseFilterParam(clauses(MAX_SHORTHAND_CLAUSES)))).toBeNull();
    expect(code(() => parseFilterParam(clauses(MAX_SHORTHAND_CLAUSES + 1)))).toMatchObject({ code: 'filter_too_large', message: expect.stringContaining('clauses') });
    expect(code(() => parseFilterParam(clauses(999)))).toMatchObject({ code: 'filter_too_large' });
    // the shorthand's tree counts like the JSON one
    const f = parseFilterParam(clauses(MAX_SHORTHAND_CLAUSES));
    const count = (n: unknown): number =>
      Array.isArray(n)
        ? n.reduce((t: number, x) => t + count(x), 0)
        : n && typeof n === 'object'
          ? 'and' in n || 'or' in n
            ? 1 + count(Object.values(n)[0])
            : 'not' in n
              ? 1 + count((n as { not: unknown }).not)
              : 1
          : 0;
    expect(count(f)).toBeLessThanOrEqual(MAX_FILTER_NODES);
    // a huge array is refused without walking it
    expect(code(() => parseFilter({ or: Array.from({ length: 100_000 }, (_, i) => leaf(i)) }))).toMatchObject({ code: 'filter_too_large' });
  });
});
