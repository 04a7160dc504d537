/**
 * The rule for facts (docs/eval-traits.md): a free-form fact statement matches a PersonaChat persona
 * line when half of the statement's informative stems are in the line (or half of the line's, at
 * least two, are in the statement), with the same polarity and aversion, and a line about someone
 * else only matches a statement naming them.
 */
import { describe, expect, it } from 'vitest';
import { factMatch, factStems } from '../../src/eval/traits-matcher.ts';

describe('factMatch', () => {
  const YES: [string, string][] = [
    ['reads about 20 books a year', 'i read twenty books a year.'],
    ['is only twenty four', 'i am 24 years old.'],
    ['is already 60 years old', "i'm 60years old."],
    ['was raised by their grandfather', 'my grandfather raised me and my brother.'],
    ['dyes their hair every 3 months', 'i dye my hair every three months.'],
    ['has never broken a bone', 'i never broke a bone in my body ever in my life.'],
    ['likes to listen to garth brooks when they are rock climbing at the gym', 'my favorite activity is rock climbing.'],
    ['is deathly afraid of scorpions', "i'm terrified of scorpions."],
    // added after the first hand check (docs/eval-traits.md): one-word lines, clause polarity, derivations
    ['worked as a doctor in the er for 15 years', "i'm a doctor."],
    ['owns a yacht', 'i own a yacht and i rent it out when i am not using it.'],
    ['has a gold medal from the olympics', "i'm a gold medalist olympian."],
    ['tried to go to school to be a vet', 'i went to school to be a veterinarian but hated it.'],
    // negated and aversion are one class: both deny the plain statement
    ['does not like school at all', 'i hate school.'],
    ['is drug free', 'i do not do drugs.'],
    ['reads a lot of psych journals in their free time', 'i enjoy reading journals and guides related to psychology.'],
  ];
  for (const [st, line] of YES)
    it(`matches: ${st} ~ ${line}`, () => {
      expect(factMatch(st, line).match).toBe(true);
    });

  const NO: [string, string, string][] = [
    ['loves cats', 'i am allergic to cats.', 'aversion differs'],
    ['can only sing when they drink', "i don't drink alcohol.", 'polarity differs'],
    ['goes to school', 'i hate school.', 'aversion differs'],
    ['does not drink soda', 'i drink a lot of soda.', 'polarity differs'],
    ['is a nurse', 'my mom is a nurse.', 'someone else'],
    ['has never been to california', "i've never had a steady relationship.", 'never is not a topic'],
    ['met taylor swift once', 'i met my husband at work.', 'too little in common'],
    ['drives a nissan pathfinder', 'i like to read.', 'nothing in common'],
    ['drives a grey ford taurus', 'my favorite color is grey.', 'one shared word of a two-word line'],
  ];
  for (const [st, line, why] of NO)
    it(`does not match (${why}): ${st} ~ ${line}`, () => {
      expect(factMatch(st, line).match).toBe(false);
    });

  it('informative stems drop stopwords, generic words and negators; numbers become digits', () => {
    expect(factStems('i have never been to twenty two countries')).toEqual(['22', 'countr']);
    expect(factStems('gold medalist olympian')).toEqual(factStems('a gold medal in the olympics'));
    expect(factStems('i like it a lot')).toEqual([]);
  });
});
