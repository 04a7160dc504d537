/**
 * The rule for facts, revision 7 (issue #15, docs/eval-traits.md "revision 7"): the lexical rule's
 * same-clause route — a clause of a compound statement and a clause of a compound persona line whose
 * informative stems are the same set match, each clause pair gated like the whole pair — and "detention"
 * back in the jail class. Every pair is a tune pair with the person's verdict (the judged tune fixtures);
 * the YES pairs were rejected by revision 6, so those tests fail without revision 7.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { FACT_RULE_REVISION, FactRule } from '../../src/eval/fact-paraphrase.ts';
import { factClauseParts, factMatch, factStems } from '../../src/eval/traits-matcher.ts';
import { OfflineEmbedder } from '../../src/providers/offline-embedder.ts';

const CACHE = './data/cache';
let rule: FactRule;
beforeAll(async () => {
  rule = new FactRule(await new OfflineEmbedder({ cacheDir: CACHE }).model());
}, 120_000);

interface Judged {
  id: string;
  statement: string;
  line: string;
  rule: boolean;
  reason: string;
  human: boolean | null;
}
const read = (f: string) =>
  readFileSync(new URL(`../fixtures/${f}`, import.meta.url), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Judged);
/** the judged tune fixtures bench/fact-rule-fit.ts fits on (never a held-out one) */
const TUNE = [
  'fact-handcheck.jsonl',
  'fact-handcheck-2029.jsonl',
  'fact-handcheck-2030.jsonl',
  'fact-handcheck-2031.jsonl',
  'fact-handcheck-round4-verdicts.jsonl',
  'fact-handcheck-tune-3001.jsonl',
].flatMap(read);
const tune3001 = read('fact-handcheck-tune-3001.jsonl');
const pair = (id: string) => {
  const j = tune3001.find((x) => x.id === id);
  if (!j) throw new Error(`no ${id} in the fixture`);
  return j;
};

describe('rule for facts, revision 7: the same-clause route', () => {
  it('splits compound lines and statements at "and", punctuation and conjunctions', () => {
    expect(factClauseParts('i love running and preparing for marathons.')).toEqual(['i love running', 'preparing for marathons']);
    expect(factClauseParts('wears blue sweats when they run')).toEqual(['wears blue sweats', 'they run']);
    expect(factClauseParts("i'm single and with two dogs.")).toEqual(["i'm single", 'with two dogs']);
  });

  // judged yes by the person; the lexical rule of revision 6 rejected them sharing one stem of four
  const YES: [string, string][] = [
    ['N5', '"is single so …" / "i\'m single and with two dogs."'],
    ['N13', '"wears blue sweats when they run" / "i love running and preparing for marathons."'],
  ];
  for (const [id, why] of YES)
    it(`matches a clause of a compound line said by a clause of the statement: ${why} (${id})`, () => {
      const j = pair(id);
      expect(j.human).toBe(true);
      expect(j.reason).toMatch(/^shares 1\/4 stems/);
      const d = factMatch(j.statement, j.line);
      expect(d.match, `${j.statement} ~ ${j.line}`).toBe(true);
      expect(d.reason).toMatch(/^says the same clause/);
      expect(rule.match(j.statement, j.line)).toMatchObject({ match: true, route: 'lexical' });
    });

  it('keeps the whole pair gated: a clause of a line about someone else stays theirs', () => {
    // tune, judged no: "i was young" is a clause, but the line is about the mother
    const d = factMatch('was pretty young', 'my mom passed away when i was young.');
    expect(d.match).toBe(false);
    expect(d.reason).toBe('line is about someone else');
  });

  it('gates the clause pair: a negated clause does not say the affirmative one', () => {
    // N5's tune line against its statement negated: only the clause route could match it, and the
    // clause pair's polarity differs ("is not single" / "i'm single")
    const d = factMatch("is not single so they don't mind spending the money", "i'm single and with two dogs.");
    expect(d.match).toBe(false);
    expect(d.reason).toMatch(/^shares 1\/4 stems/);
  });

  it('needs the same stems on both sides, not one shared word', () => {
    // tune, judged no: one shared stem in clauses that say more ("two mustangs" / "two dogs", "grey car" / "favorite color is grey")
    expect(factMatch('works on their two old mustangs, love country music', "i've two dogs.").match).toBe(false);
    expect(factMatch('drives a grey ford taurus', 'my favorite color is grey.').match).toBe(false);
  });

  it('fires on no judged-no tune pair', () => {
    const no = TUNE.filter((j) => j.human === false);
    expect(no.length).toBeGreaterThan(90);
    const fired = no.filter((j) => factMatch(j.statement, j.line).reason.startsWith('says the same clause'));
    expect(fired.map((j) => `${j.statement} ~ ${j.line}`)).toEqual([]);
  });

  it('reads "detention" in the jail class again (the -ion step had made it "detent")', () => {
    // tune, fact-handcheck-2030.jsonl M7, judged yes; matched by revision 4, lost to revision 5's -ion step
    const j = read('fact-handcheck-2030.jsonl').find((x) => x.id === 'M7') as Judged;
    expect(j).toMatchObject({ statement: 'is in prison', line: "i'm currently in a juvenile detention center.", human: true });
    expect(factStems('detention')).toEqual(factStems('prison'));
    expect(factMatch(j.statement, j.line).match).toBe(true);
    expect(rule.match(j.statement, j.line).match).toBe(true);
    // the -ion step still holds for words outside the table
    expect(factStems('collection')).toEqual(factStems('collects'));
  });

  it('is revision 7', () => {
    expect(FACT_RULE_REVISION).toBe(7);
    expect(rule.revision).toBe(7);
  });
});
