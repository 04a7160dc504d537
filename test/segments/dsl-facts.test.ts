import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.ts';
import { compileFilter, factWords, parseFilter, parseFilterParam } from '../../src/db/filters.ts';
import { postgresDialect, sqliteDialect } from '../../src/db/sql/dialect.ts';
import { FILTER_GRAMMAR } from '../../src/segments/dsl.ts';

const fieldsOf = (f: () => unknown): string[] => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return ((err as ValidationError).details as { field: string }[]).map((d) => d.field);
  }
  throw new Error('expected a validation error');
};

describe('facts in segment filters (issue #15)', () => {
  it('a fact leaf: words bound as word-prefix patterns, topic as the fact: key, never spliced', () => {
    const f = parseFilter({ and: [{ fact: { text: 'Reads  BOOKS', topic: 'reading', minConfidence: 0.5 } }, { trait: { key: 'interest' } }] });
    for (const d of [sqliteDialect, postgresDialect]) {
      const c = compileFilter(f, d);
      expect(c.where).toContain(`t.kind = 'fact'`);
      expect(c.where).not.toMatch(/reads|books|reading/i);
      expect(c.params.slice(0, 6)).toEqual(['fact:reading', '% reads%', '"reads%', '% books%', '"books%', 0.5]);
      expect(c.where.split('?').length - 1).toBe(c.params.length);
    }
  });

  it('the shorthand fact~words (quoted or not) is the same leaf, next to key:value clauses', () => {
    expect(parseFilterParam('fact~"reads books"')).toEqual({ fact: { text: 'reads books' } });
    expect(parseFilterParam('fact~ moved to lisbon')).toEqual({ fact: { text: 'moved to lisbon' } });
    expect(parseFilterParam('country:DE,fact~reads')).toEqual({
      and: [{ or: [{ attribute: { key: 'country', eq: 'DE' } }, { trait: { key: 'country', value: 'DE' } }] }, { fact: { text: 'reads' } }],
    });
  });

  it('bad fact filters are 400s naming the part: no words, too many words, unknown fields, neither text nor topic', () => {
    expect(fieldsOf(() => parseFilter({ fact: { text: '%%% ___' } }))).toEqual(['filter.fact.text']);
    expect(fieldsOf(() => parseFilter({ fact: { text: 'a b c d e f g h i' } }))).toEqual(['filter.fact.text']);
    expect(fieldsOf(() => parseFilter({ fact: { text: 'x', value: 'y' } }))).toEqual(['filter.fact']);
    expect(fieldsOf(() => parseFilter({ fact: {} }))).toEqual(['filter.fact']);
    expect(fieldsOf(() => parseFilter({ fact: { topic: 'Not Snake' } }))).toEqual(['filter.fact.topic']);
    expect(fieldsOf(() => parseFilterParam('fact~""'))).toEqual(['filter[0].fact.text']);
  });

  it('words are letters and digits (LIKE wildcards never reach the pattern)', () => {
    expect(factWords("Moved to Lisbon, 2 months ago; 100%_sure don't")).toEqual(['moved', 'to', 'lisbon', '2', 'months', 'ago', '100', 'sure', "don't"]);
  });

  it('the grammar the segment compiler is told names the fact leaf', () => {
    expect(FILTER_GRAMMAR).toContain('{"fact":');
  });
});
