/**
 * Offline extractor 1.1.0: the phrasings it learned (elided "i", statement + trailing question,
 * narrower negation scope, "for a living", curated interest vocabulary...) and the false positives
 * it stopped producing. Each row is one sentence; PersonaChat-style lower-cased tokenised text is
 * included on purpose ("i am a nurse . i love to go hiking with my dogs .").
 */
import { describe, expect, it } from 'vitest';
import type { Signal, TraitOp } from '../../src/core/traits.ts';
import { generatePopulation } from '../../src/demo/population.ts';
import { extractOffline, OFFLINE_EXTRACTOR_VERSION } from '../../src/traits/offline-extractor.ts';

let nextId = 1;
const sig = (text: string, type = 'chat_message'): Signal => ({ eventId: nextId++, type, text, ts: nextId });
const adds = (ops: TraitOp[]) => ops.filter((o) => o.op !== 'retract').map((o) => `${o.key}=${String(o.value)}`);

/** [text, pairs that must be present, pairs that must be absent] */
const NEW_PHRASINGS: [string, string[], string[]][] = [
  // elided "i" after "and" / "but", and at the start of a message
  ['i am a nurse and love hiking', ['occupation=nurse', 'interest=hiking'], []],
  ['i am a nurse . i love to go hiking with my dogs .', ['occupation=nurse', 'interest=hiking', 'pet=dog'], []],
  ['i have two dogs and love to go fishing .', ['pet=dog', 'interest=fishing'], []],
  ["i'm retired and have a cat named tom", ['occupation=retired', 'pet=cat'], []],
  ['i hate dogs but love to knit', ['interest=knitting'], ['pet=dog', 'interest=dog']],
  ["i don't have a dog and love cats", ['interest=cat'], ['pet=dog']],
  ['love to dance !', ['interest=dancing'], []],
  // a statement followed by a question in the same sentence
  ['i love to dance , what do you do for fun ?', ['interest=dancing'], []],
  ["i'm a nurse , how about you ?", ['occupation=nurse'], []],
  ['i like to read , do you ?', ['interest=reading'], []],
  // negation scope: the statement before the negated part stands
  ['i love hiking , not running', ['interest=hiking'], ['interest=running']],
  ["i am a nurse so i don't have much free time", ['occupation=nurse'], []],
  // occupations in other shapes
  ['i sing for a living', ['occupation=musician'], []],
  ['i walk dogs for a living .', ['occupation=dog walker'], ['pet=dog']],
  ['my day job is wrestling', ['occupation=athlete'], []],
  ['i work in construction , started when i was 16 .', ['occupation=construction worker'], []],
  ['i work at a bank downtown', ['occupation=banker'], []],
  ['i major in economics', ['occupation=student'], []],
  ['i coach swimming at the pool near my house .', ['occupation=coach'], []],
  // pets, children
  ['my only pet is a cow', ['pet=cow'], []],
  ["i've a dog .", ['pet=dog'], []],
  ['my fourth son wants a car', ['has_children=true'], []],
  // interests: curated vocabulary, instruments, genres, places people go
  ['i love papaya', ['interest=papaya'], []],
  ['i like to play the violin', ['interest=violin'], []],
  ['i play the guitar', ['interest=guitar'], []],
  ['i like classic country .', ['interest=country music'], []],
  ['i love bunnies !', ['interest=bunny'], []],
  ['i play a lot of role playing games', ['interest=gaming'], []],
  ['i go to the gym a lot', ['interest=fitness'], []],
  ["i like the killers , they're my favorite band", ['interest=music'], []],
  ['i enjoy long walks', ['interest=long walk'], []],
  ['i love the country life', [], ['interest=country music']],
  ['my favorite food is garlic bread', ['interest=garlic bread'], []],
];

describe('extractOffline 1.1: new phrasings', () => {
  it.each(NEW_PHRASINGS)('%s', (text, present, absent) => {
    const s = sig(text);
    const r = extractOffline([s]);
    const got = adds(r.ops);
    expect(got).toEqual(expect.arrayContaining(present));
    for (const a of absent) expect(got).not.toContain(a);
    for (const o of r.ops) for (const e of o.evidence) expect(s.text).toContain(e.quote);
  });
});

/** [text, pairs that must NOT be produced ('*' = nothing at all)] */
const FALSE_POSITIVES: [string, string[]][] = [
  // junk open interest values: not in the curated vocabulary
  ['i love that count', ['*']],
  ['i like the view from up here', ['*']],
  ['i love fallout', ['*']],
  ['i love mickey mouse', ['*']],
  ['i like grey vans', ['*']],
  ['i love the explosion scenes', ['*']],
  // location from chatter
  ['i live on coffee in the day .', ['*']],
  ['he just had an accident here in california .', ['*']],
  ['it is cloudy and cool here in boston .', ['*']],
  ["i'm from far away .", ['*']],
  // has_children from "my family"
  ['i love my family', ['has_children=true']],
  ['my family and i love hiking', ['has_children=true']],
  ['i spend time with my family on weekends', ['has_children=true']],
  // skill level / price / channel out of chatter
  ["i'm a professional dog walker .", ['skill_level=expert']],
  ['i am new to the united states .', ['skill_level=beginner']],
  ['i eat under 1800 cals a day .', ['price_sensitivity=high']],
  ['my colleague works as a graphic designer', ['*']],
  ['i talk to the squirrels who call me a nut', ['preferred_channel=phone']],
  // the elided-"i" rule must not promote someone else's predicate
  ['my sister is a nurse and loves hiking', ['*']],
  ['i have a son who is a nurse and loves hiking', ['occupation=nurse', 'interest=hiking']],
  ['my wife works and i stay at home', ['occupation=homemaker']],
  ["i'd love to travel and have a dog", ['*']],
  ['if i had a dog and lived in paris', ['*']],
  // the question tail does not turn a question into a statement
  ['do you like hiking , or running ?', ['*']],
  ['what do you do , are you a nurse ?', ['*']],
];

describe('extractOffline 1.1: false positives fixed', () => {
  it.each(FALSE_POSITIVES)('%s', (text, banned) => {
    const got = adds(extractOffline([sig(text)]).ops);
    if (banned.includes('*')) expect(got).toEqual([]);
    else for (const b of banned) expect(got).not.toContain(b);
  });

  it('names the new version', () => {
    expect(OFFLINE_EXTRACTOR_VERSION).toBe('1.4.2');
  });
});

describe('extractOffline 1.1: demo distractors stay distractors', () => {
  // The demo population plants third-person facts, negations, questions, hypotheticals and
  // injections (src/demo/text.ts); none may become a trait of the user who wrote it.
  const pop = generatePopulation({ users: 300, seed: 11 });
  const distractors = pop.truth.flatMap((t) => t.distractors);

  it('has every kind of distractor', () => {
    expect(new Set(distractors.map((d) => d.kind))).toEqual(new Set(['third_person', 'negation', 'question', 'hypothetical', 'injection']));
  });

  it('no distractor yields a positive trait (except "no kids", which is a fact)', () => {
    const bad: string[] = [];
    for (const d of distractors) {
      const got = adds(extractOffline([sig(d.quote)]).ops).filter((p) => p !== 'has_children=false');
      if (got.length) bad.push(`${d.kind} "${d.quote}" → ${got.join(', ')}`);
    }
    expect(bad).toEqual([]);
  });
});
