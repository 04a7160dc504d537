import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.ts';
import { compileFilter, parseFilter, parseFilterParam } from '../../src/segments/dsl.ts';

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
    const c = compileFilter(f);
    expect(c.where).not.toMatch(/hiking|DE|free/);
    expect(c.params).toContain('"hiking"');
    expect(c.params).toContain('DE');
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
});
