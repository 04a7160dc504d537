import { describe, expect, it } from 'vitest';
import { factMentioned, lexicalMatch, contentStems, stem, TraitFactMatcher, traitPhrase } from '../../src/eval/traits-matcher.ts';

// Hand-made (trait, fact, expected) pairs; no dataset, no word vectors.
const PAIRS: [string, string | number | boolean, string, boolean][] = [
  ['pet', 'dog', 'i have two dogs.', true],
  ['pet', 'dog', 'my dog is named spot.', true],
  ['pet', 'dog', 'i walk dogs for a living.', false],
  ['pet', 'dog', 'i am afraid of dogs.', false],
  ['pet', 'cat', 'i love cats and have two cats.', true],
  ['pet', 'turtle', 'i have a pet turtle.', true],
  ['interest', 'hiking', 'i enjoy going on hikes in the mountains.', true],
  ['interest', 'reading', 'i read twenty books a year.', true],
  ['interest', 'reading', 'i hate reading.', false],
  ['interest', 'cooking', 'my mom loves cooking.', false],
  ['interest', 'music', 'i only listen to country music.', true],
  ['interest', 'volunteering', 'in my spare time i do volunteer work.', true],
  ['interest', 'dancing', 'i love to drink wine and dance in the moonlight.', true],
  ['interest', 'gaming', 'i like football games.', false],
  ['occupation', 'nurse', "i'm a baby delivery nurse.", true],
  ['occupation', 'nurse', 'my mother is a nurse.', false],
  ['occupation', 'veterinarian', 'i went to school to be a veterinarian but hated it.', false],
  ['occupation', 'actor', "i'm a stunt double as my second job.", true],
  ['occupation', 'teacher', 'i work as a school teacher.', true],
  ['occupation', 'chef', 'hey my name is larry and i am a chef.', true],
  ['occupation', 'software engineer', "i'm studying to be a computer programmer.", false],
  ['occupation', 'retired', 'i have been retired for a years.', true],
  ['family_status', 'married', "i'm married with two kids.", true],
  ['family_status', 'single', 'i was raised in a single parent household.', false],
  ['has_children', true, "i'm married with two kids.", true],
  ['has_children', true, 'my parents have three kids.', false],
  ['has_children', false, "i don't have any children.", true],
  ['has_children', true, 'my daughter is a child prodigy.', true],
  ['location_region', 'rural', 'i grew up on a farm in the country.', true],
  ['interest', 'reading', 'i have a big library at home.', true],
  ['children_count', 2, "i'm married with two kids.", true],
  ['children_count', 3, "i'm married with two kids.", false],
  ['diet', 'vegetarian', "i don't eat meat.", true],
  ['diet', 'raw', 'i eat a raw diet.', true],
  ['diet', 'kosher', 'i only eat kosher.', true],
  ['location_region', 'rural', 'i drive a big truck and live in country.', true],
  ['location_region', 'texas', 'i grew up in texas.', true],
  ['location_region', 'texas', 'i like texas barbecue.', false],
  ['language', 'spanish', 'i speak fluent spanish.', true],
];

describe('trait ↔ fact matcher (lexical route)', () => {
  it.each(PAIRS)('%s=%s vs %j → %s', (key, value, fact, expected) => {
    expect(new TraitFactMatcher(null).match(key, value, fact).match).toBe(expected);
  });

  it('stems inflections to one form', () => {
    expect(stem('dogs')).toBe(stem('dog'));
    expect(stem('hiking')).toBe(stem('hike'));
    expect(stem('hikes')).toBe(stem('hike'));
    expect(stem('running')).toBe(stem('run'));
    expect(stem('married')).toBe(stem('marry'));
    expect(stem('teacher')).toBe(stem('teach'));
    expect(stem('children')).toBe(stem('child'));
    expect(contentStems('i love to go hiking with my dogs')).toEqual([stem('hiking'), stem('dog')]);
  });

  it('says why it rejects', () => {
    expect(lexicalMatch('occupation', 'nurse', 'my mother is a nurse.').reason).toBe('about someone else');
    expect(lexicalMatch('pet', 'dog', 'i walk dogs for a living.').reason).toBe('pet without possession');
    expect(lexicalMatch('interest', 'reading', 'i hate reading.').reason).toBe('negated or aversion');
  });

  it('renders traits as first-person phrases', () => {
    expect(traitPhrase('pet', 'dog')).toBe('i have a dog');
    expect(traitPhrase('occupation', 'nurse')).toBe('i work as a nurse');
    expect(traitPhrase('occupation', 'engineer')).toBe('i work as an engineer');
    expect(traitPhrase('interest', 'hiking')).toBe('i like hiking');
  });
});

describe('semantic route (with a stand-in embedder)', () => {
  // A toy bag-of-topics embedder: enough to exercise threshold and gates without the word vectors.
  const axes = ['dog', 'cat', 'job', 'music'];
  const embed = (t: string) => {
    const v = new Float32Array(axes.length);
    for (const [i, a] of axes.entries()) if (t.includes(a) || (a === 'dog' && /puppy|pooch/.test(t)) || (a === 'music' && /rock/.test(t))) v[i] = 1;
    return v;
  };
  const m = new TraitFactMatcher(embed, 0.8);
  it('matches a paraphrase above the threshold', () => {
    const d = m.match('interest', 'music', 'rock is the best.');
    expect(d).toMatchObject({ match: true, route: 'semantic' });
  });
  it('the polarity gate holds on the semantic route too', () => {
    expect(m.match('interest', 'music', "i can't stand rock.").match).toBe(false);
  });
  it('below the threshold is no match', () => {
    expect(m.match('interest', 'music', 'my cat is grey and i love my job.').match).toBe(false);
  });
});

describe('mentioned facts', () => {
  const utt = new Set(contentStems("i rather read , i've read about 20 books this year . i only have one parent so now i help out my mom . she raised me right"));
  it('half of the content words present counts as mentioned', () => {
    expect(factMentioned('i read twenty books a year.', utt)).toBe(true);
    expect(factMentioned('i was raised in a single parent household.', utt)).toBe(true);
    expect(factMentioned('i only eat kosher.', utt)).toBe(false);
  });
});
