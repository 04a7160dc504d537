import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileFilter, MAX_FILTER_NODES, parseFilter, type Filter } from '../../src/db/filters.ts';
import { postgresDialect, sqliteDialect } from '../../src/db/sql/dialect.ts';
import { loadWordVectors } from '../../src/providers/word-vectors.ts';
import { canonicalFilter, compileWords, defaultWordsVocab, tokenize } from '../../src/segments/words.ts';
import { offlineWordsVocab } from '../../src/segments/words-vocab.ts';
import { loadCatalogue } from '../../src/traits/catalogue.ts';

interface Case {
  id: string;
  text: string;
  expected: Filter | null;
  heldOut?: boolean;
  notUnderstood?: string[];
}
const cases = (JSON.parse(readFileSync(new URL('../fixtures/segment-phrases.json', import.meta.url), 'utf8')) as { cases: Case[] }).cases;
const vocab = defaultWordsVocab();

const nodes = (f: Filter): number => {
  if ('and' in f) return 1 + f.and.reduce((s, k) => s + nodes(k), 0);
  if ('or' in f) return 1 + f.or.reduce((s, k) => s + nodes(k), 0);
  if ('not' in f) return 1 + nodes(f.not);
  return 1;
};

/** What every answer must satisfy, whatever the text: a filter the DSL parser accepts, built from the listed conditions. */
function checkWellFormed(text: string, r: ReturnType<typeof compileWords>) {
  const norm = tokenize(text).join(' ');
  if (r.filter === null) {
    expect(r.conditions).toEqual([]);
    return;
  }
  expect(parseFilter(r.filter)).toEqual(r.filter);
  expect(nodes(r.filter)).toBeLessThanOrEqual(MAX_FILTER_NODES);
  for (const d of [sqliteDialect, postgresDialect]) expect(() => compileFilter(r.filter as Filter, d)).not.toThrow();
  const parts = 'and' in r.filter && r.conditions.length > 1 ? r.filter.and : [r.filter];
  expect(parts).toEqual(r.conditions.map((c) => c.condition));
  for (const c of r.conditions) expect(norm).toContain(c.phrase);
}

describe('compileWords: the hand-written cases', () => {
  it('has at least 40 cases, 10 of them held out, each expected filter valid', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    expect(cases.filter((c) => c.heldOut).length).toBe(10);
    for (const c of cases) if (c.expected !== null) expect(() => parseFilter(c.expected)).not.toThrow();
  });

  for (const c of cases.filter((x) => !x.heldOut)) {
    it(`${c.id}: "${c.text}"`, () => {
      const r = compileWords(c.text, vocab);
      checkWellFormed(c.text, r);
      expect(canonicalFilter(r.filter)).toEqual(canonicalFilter(c.expected));
      for (const w of c.notUnderstood ?? []) expect(r.notUnderstood.join(' ')).toContain(w);
      // Fully understood cases leave nothing over.
      if (!c.notUnderstood) expect(r.notUnderstood).toEqual([]);
    });
  }

  // Held-out cases are scored by bench/segment-words.ts, not asserted (they must not steer tuning);
  // what is asserted is that the answer is well formed.
  it('held-out cases compile to well-formed answers', () => {
    for (const c of cases.filter((x) => x.heldOut)) checkWellFormed(c.text, compileWords(c.text, vocab));
  });
});

describe('compileWords: what is reported', () => {
  it('names the phrase each condition came from', () => {
    const r = compileWords('Vegetarians in Germany on the pro plan', vocab);
    expect(r.conditions.map((c) => c.phrase)).toEqual(['vegetarians', 'germany', 'pro plan']);
    expect(r.conditions[1]?.condition).toEqual({ attribute: { key: 'country', eq: 'DE' } });
  });

  it('reports words it did not understand, and returns no filter when it understood nothing', () => {
    const none = compileWords('purple unicorns', vocab);
    expect(none).toEqual({ filter: null, conditions: [], notUnderstood: ['purple unicorns'] });
    const some = compileWords('dog owners who drive a tesla and like hiking', vocab);
    expect(canonicalFilter(some.filter)).toEqual(canonicalFilter({ and: [{ trait: { key: 'pet', value: 'dog' } }, { trait: { key: 'interest', value: 'hiking' } }] }));
    expect(some.notUnderstood).toEqual(['drive tesla']);
    expect(compileWords('', vocab)).toEqual({ filter: null, conditions: [], notUnderstood: [] });
  });

  it('says so when a phrase is understood but has no stored feature', () => {
    const r = compileWords('inactive for 60 days', vocab);
    expect(r.filter).toBeNull();
    expect(r.notUnderstood).toEqual(['inactive for 60 days (activity is kept as a 30-day count only)']);
    expect(compileWords('no activity in the last month', vocab).filter).toEqual({ feature: { key: 'events_30d', eq: 0 } });
  });

  it('never compiles a sensitive value (halal/kosher diets are religious signals)', () => {
    const r = compileWords('halal vegans', vocab);
    expect(r.filter).toEqual({ trait: { key: 'diet', value: 'vegan' } });
    expect(r.notUnderstood).toEqual(['halal']);
  });
});

describe('compileWords: numbers, negation, or', () => {
  it.each([
    ['spent over $1,000', { feature: { key: 'monetary_total', gt: 1000 } }],
    ['spent 2k or more', { feature: { key: 'monetary_total', gte: 2000 } }],
    ['5+ orders', { feature: { key: 'purchase_count', gte: 5 } }],
    ['bought more than 3 times', { feature: { key: 'purchase_count', gt: 3 } }],
    ['no purchases', { feature: { key: 'purchase_count', eq: 0 } }],
    ['repeat customers', { feature: { key: 'purchase_count', gte: 2 } }],
    ['not in Germany or Austria', { not: { attribute: { key: 'country', in: ['DE', 'AT'] } } }],
    ['very likely to churn', { predicted: { key: 'churn_risk_30d', min: 0.8 } }],
    ['unlikely to churn', { predicted: { key: 'churn_risk_30d', max: 0.5 } }],
    ['churn risk above 70%', { predicted: { key: 'churn_risk_30d', min: 0.7 } }],
    ['probability of buying below 0.2', { predicted: { key: 'will_purchase_30d', max: 0.2 } }],
    ['at risk customers', { predicted: { key: 'churn_risk_30d', min: 0.5 } }],
    ['plan:enterprise', { attribute: { key: 'plan', eq: 'enterprise' } }],
    ['vegans with country:DE', { and: [{ trait: { key: 'diet', value: 'vegan' } }, { attribute: { key: 'country', eq: 'DE' } }] }],
  ] as [string, Filter][])('%s', (text, expected) => {
    const r = compileWords(text, vocab);
    checkWellFormed(text, r);
    expect(canonicalFilter(r.filter)).toEqual(canonicalFilter(expected));
  });

  it('keeps negation inside its clause', () => {
    const r = compileWords('not vegetarian but likes cooking', vocab);
    expect(r.filter).toEqual({ and: [{ not: { trait: { key: 'diet', value: 'vegetarian' } } }, { trait: { key: 'interest', value: 'cooking' } }] });
  });
});

describe('compileWords: never an invalid filter', () => {
  it('drops conditions past the node cap into notUnderstood instead of answering a filter the parser refuses', () => {
    const text = Array.from({ length: 80 }, (_, i) => `spent over ${i + 1}`).join(' and ');
    const r = compileWords(text, vocab);
    checkWellFormed(text, r);
    expect(r.conditions.length).toBe(MAX_FILTER_NODES - 1);
    expect(r.notUnderstood.length).toBe(80 - (MAX_FILTER_NODES - 1));
    expect(r.notUnderstood[0]).toMatch(/exceed 64 nodes/);
  });

  it('refuses an attribute value the DSL would refuse (over 200 characters) and reports it', () => {
    const r = compileWords(`plan:${'x'.repeat(250)} vegans`, vocab);
    expect(r.filter).toEqual({ trait: { key: 'diet', value: 'vegan' } });
    expect(r.notUnderstood).toHaveLength(1);
  });

  it('stays valid on word salad from its own vocabulary', () => {
    // A fixed pseudo-random sequence: deterministic, but far from any hand-written phrase.
    const words = [
      'not',
      'no',
      'or',
      'and',
      'but',
      'dog',
      'vegan',
      'germany',
      'spent',
      'over',
      'between',
      '5',
      'and',
      '3',
      'orders',
      'likely',
      'to',
      'churn',
      'inactive',
      'for',
      'days',
      'pro',
      'plan',
      'complained',
      'about',
      'delivery',
      'kids',
      'without',
      'at',
      'night',
      'in',
      'france',
      'a:b',
      'fashion',
      'never',
      'purchased',
      ':',
      '-',
      '$',
      '1,0',
      'k',
      '+',
    ];
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    for (let n = 0; n < 150; n++) {
      const text = Array.from({ length: 1 + (next() % 30) }, () => words[next() % words.length]).join(' ');
      checkWellFormed(text, compileWords(text, vocab));
    }
  });

  it('is pure: the same text and vocabulary give the same answer', () => {
    const t = 'dog or cat owners who are not likely to churn and spent between 100 and 500';
    expect(compileWords(t, vocab)).toEqual(compileWords(t, vocab));
  });
});

describe('compileWords: vocabulary from the catalogue', () => {
  it('uses a company catalogue extension: a new closed key by "<key> <value>", a removed key not at all', () => {
    const catalogue = loadCatalogue({
      traits: [{ key: 'shoe_size_band', valueType: 'string', cardinality: 'single', merge: 'latest', allowed: ['small', 'large'], description: 'x' }],
      remove: ['pet'],
    });
    const v = defaultWordsVocab({ catalogue });
    expect(compileWords('large shoe size band', v).filter).toEqual({ trait: { key: 'shoe_size_band', value: 'large' } });
    const r = compileWords('pet owners', v);
    expect(r.filter).toBeNull();
  });
});

describe('compileWords with word vectors', () => {
  it('maps a near-synonym above the threshold, says how, and leaves unrelated words alone', async () => {
    const vectors = await loadWordVectors(process.env.TRAITLENS_CACHE_DIR ?? './data/cache');
    const v = defaultWordsVocab({ vectors });
    const r = compileWords('hounds', defaultWordsVocab({ vectors, similarityThreshold: 0.5 }));
    expect(r.filter).toEqual({ trait: { key: 'pet', value: 'dog' } });
    expect(r.conditions[0]?.via).toMatch(/^word vectors: "hounds" ≈ "dogs" \(0\.\d\d\)$/);
    // At the default threshold the same weak neighbour is refused.
    expect(compileWords('hounds', v).filter).toBeNull();
    expect(compileWords('anglers', v).filter).toBeNull();
    const toddlers = compileWords('toddlers', v);
    expect(toddlers.filter).toEqual({ trait: { key: 'has_children', value: true } });
    expect(compileWords('purple unicorns', v).notUnderstood).toEqual(['purple unicorns']);
  }, 60_000);
});

describe('the vocabulary of the no-LLM proposal', () => {
  it("reads 'likely' at each trained model's decision threshold; the shipped defaults when none is trained", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'traitlens-words-models-'));
    try {
      const cacheDir = process.env.TRAITLENS_CACHE_DIR ?? './data/cache';
      const catalogue = loadCatalogue();
      const none = await offlineWordsVocab(catalogue, { TRAITLENS_CACHE_DIR: cacheDir, TRAITLENS_MODELS_DIR: dir });
      expect(compileWords('likely to churn', none).filter).toEqual({ predicted: { key: 'churn_risk_30d', min: 0.5 } });
      const v1 = join(dir, 'churn_30d', '20260101T000000Z');
      mkdirSync(v1, { recursive: true });
      writeFileSync(
        join(v1, 'card.json'),
        JSON.stringify({ name: 'churn_30d', version: '20260101T000000Z', traitKey: 'churn_risk_30d', classes: ['false', 'true'], threshold: 0.3712 }),
      );
      writeFileSync(join(v1, 'artefact.json'), '{}');
      const trained = await offlineWordsVocab(catalogue, { TRAITLENS_CACHE_DIR: cacheDir, TRAITLENS_MODELS_DIR: dir });
      expect(trained).not.toBe(none);
      expect(compileWords('likely to churn', trained).filter).toEqual({ predicted: { key: 'churn_risk_30d', min: 0.371 } });
      // Only trained models are known then: no purchase model, so purchase phrases are not understood.
      expect(compileWords('likely to buy', trained).filter).toBeNull();
      expect(trained.vectors).not.toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
