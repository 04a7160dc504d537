/**
 * The rule for facts, revision 6 (issue #15, docs/eval-traits.md "revision 6"): the lexical rule plus
 * a calibrated paraphrase route (src/eval/fact-paraphrase.ts: a fixed-coefficient logistic score over
 * shared stems, SIF sentence cosine and word alignment on the offline word vectors, fitted on judged
 * tune pairs by bench/fact-rule-fit.ts), and three polarity fixes. Every pair is a tune pair
 * (test/fixtures/fact-handcheck-tune-3001.jsonl and the tune run's pairs) with the person's verdict;
 * every YES pair was rejected by revision 5 (the fixture's `reason`), so these tests fail without
 * revision 6.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { FACT_FEATURES, FACT_PARAPHRASE_MODEL, FACT_RULE_REVISION, FactRule, factFeatures, factScore } from '../../src/eval/fact-paraphrase.ts';
import { factMatch } from '../../src/eval/traits-matcher.ts';
import { OfflineEmbedder, type OfflineSifModel } from '../../src/providers/offline-embedder.ts';

/** the word-vector cache the other tests share (built once from the installed wink package) */
const CACHE = './data/cache';
let sif: OfflineSifModel;
let rule: FactRule;
beforeAll(async () => {
  sif = await new OfflineEmbedder({ cacheDir: CACHE }).model();
  rule = new FactRule(sif);
}, 120_000);

interface Judged {
  id: string;
  statement: string;
  line: string;
  rule: boolean;
  reason: string;
  human: boolean;
}
const judged = readFileSync(new URL('../fixtures/fact-handcheck-tune-3001.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Judged);
const pair = (id: string) => {
  const j = judged.find((x) => x.id === id);
  if (!j) throw new Error(`no ${id} in the fixture`);
  return j;
};

describe('rule for facts, revision 6: the paraphrase route', () => {
  // judged yes by the person, rejected by revision 5 sharing one informative word of three or four
  for (const id of ['N2', 'N3', 'N6', 'N10', 'N14', 'N15', 'N37', 'N39'])
    it(`matches a paraphrase the lexical rule rejects (${id})`, () => {
      const j = pair(id);
      expect(j.human).toBe(true);
      expect(j.rule).toBe(false);
      expect(j.reason).toMatch(/^shares 1\//);
      expect(factMatch(j.statement, j.line).match).toBe(false);
      const d = rule.match(j.statement, j.line);
      expect(d.route, `${j.statement} ~ ${j.line}`).toBe('paraphrase');
      expect(d.match).toBe(true);
      expect(d.score).toBeGreaterThanOrEqual(0);
    });

  // judged no by the person, rejected by revision 5, still rejected
  for (const id of ['N19', 'N21', 'N23', 'N24', 'N31', 'N34', 'N41'])
    it(`still rejects a near miss the person rejects (${id})`, () => {
      const j = pair(id);
      expect(j.human).toBe(false);
      const d = rule.match(j.statement, j.line);
      expect(d.match, `${j.statement} ~ ${j.line}`).toBe(false);
      expect(d.score).toBeLessThan(0);
    });

  it('keeps the gates on the paraphrase route: a line about someone else, a negated line', () => {
    // tune lines: "my parents were also teachers." / "i do not drink soda."
    expect(rule.match('teaches 4th grade', 'my parents were also teachers.').match).toBe(false);
    expect(rule.match('loves sodas with their burgers and fries', 'i do not drink soda.').match).toBe(false);
  });

  it('is deterministic and uses the fitted model', () => {
    expect(FACT_RULE_REVISION).toBe(7); // revision 7 keeps these and adds the same-clause route (fact-rule-revision7.test.ts)
    const j = pair('N6');
    const a = factFeatures(j.statement, j.line, sif);
    const b = factFeatures(j.statement, j.line, sif);
    expect(a.features).toEqual(b.features);
    expect(Object.keys(a.features).sort()).toEqual([...FACT_FEATURES].sort());
    expect(factScore(a.features)).toBeCloseTo(rule.match(j.statement, j.line).score, 12);
    // a model with no coefficients leaves nothing but the intercept: the route depends on the fit
    const zero = { intercept: FACT_PARAPHRASE_MODEL.intercept, coefficients: Object.fromEntries(FACT_FEATURES.map((k) => [k, 0])) as typeof FACT_PARAPHRASE_MODEL.coefficients };
    expect(factScore(a.features, zero)).toBeLessThan(0);
  });
});

describe('rule for facts, revision 6: polarity', () => {
  // judged yes, rejected by revision 5 with "polarity differs"
  const YES: [string, string][] = [
    ['N30', 'a condition is not a negation: "if i\'m not cooking in the kitchen then i\'m on the water"'],
    ['N35', 'a negated relative clause: "two grown children who never visit"'],
    ['N40', '"except" is a negation: "loves bbq except chicken" / "i don\'t like chicken"'],
  ];
  for (const [id, why] of YES)
    it(`${why} (${id})`, () => {
      const j = pair(id);
      expect(j.human).toBe(true);
      expect(j.reason).toBe('polarity differs');
      expect(factMatch(j.statement, j.line).match).toBe(true);
      expect(rule.match(j.statement, j.line).match).toBe(true);
    });

  it('the someone-else gate accepts the person named by another word of its class (tune line, round 4)', () => {
    expect(factMatch('their dad worked for home depot', 'my father used to work for home depot.').match).toBe(true);
    expect(factMatch('worked for home depot', 'my father used to work for home depot.').reason).toBe('line is about someone else');
  });

  it('still reads an aversion or a negation inside the relative clause that holds the shared word (tune pairs)', () => {
    expect(factMatch('is an older woman who is afraid of dying', 'i am scared of dying.').match).toBe(true);
    expect(factMatch('is an older woman who loves dying her hair', 'i am scared of dying.').match).toBe(false);
    expect(factMatch('hates their grey dog barnaby and scorpions', 'i am terrified of scorpions.').match).toBe(true);
  });
});
