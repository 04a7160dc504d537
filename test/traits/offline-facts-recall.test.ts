/**
 * Offline facts, round 3 (issue #15, extractor 1.4.0 to 1.4.2): general patterns behind the tune split's
 * missed persona lines and false positives. Every sentence is from a tune-split speaker (0–599) of
 * PersonaChat; none is from the held-out speakers.
 */
import { describe, expect, it } from 'vitest';
import type { Signal } from '../../src/core/traits.ts';
import { extractOffline } from '../../src/traits/offline-extractor.ts';

let nextId = 1;
const sig = (text: string): Signal => ({ eventId: nextId++, type: 'chat_message', text, ts: nextId });
const run = (text: string) => {
  const r = extractOffline([sig(text)]);
  return { typed: r.ops.map((o) => `${o.key}=${String(o.value)}`), facts: r.facts.map((f) => f.statement) };
};
const facts = (text: string) => run(text).facts;

describe('a fact beside a typed trait when the clause says more than the trait', () => {
  it('keeps the detail the catalogue value drops', () => {
    expect(run("i've a dog named trooper .")).toEqual({ typed: ['pet=dog'], facts: ['has a dog named trooper'] });
    expect(run('i like the treadmill and rowing machine .')).toEqual({ typed: ['interest=fitness'], facts: ['likes the treadmill and rowing machine'] });
    expect(run("i've a total of 5 cats")).toEqual({ typed: ['pet=cat'], facts: ['has a total of 5 cats'] });
  });
  it('adds no fact when the trait covers the clause', () => {
    for (const text of ["i'm a nurse .", 'i have a cat .', 'i live in ohio .', 'i have two kids', 'i work as a custodian .', 'i do have children', 'i love reading'])
      expect(facts(text), text).toEqual([]);
  });
});

describe('self-disclosures that were read as chit-chat or context-bound', () => {
  const KEPT: [string, string][] = [
    // "just" is an adverb, not a state: "i am just a boy …" (was chit-chat like "i'm just fine")
    ["i'm just enjoying a new coloring book after a hectic evening .", 'is just enjoying a new coloring book after a hectic evening'],
    // a context-bound tail is cut, the statement before it stays
    ['i build houses , sometimes i fix them , have my dads genes .', 'builds houses'],
    ['i own a mini van that i drive around .', 'owns a mini van'],
    ["i spend a lot of time on facebook , so you'll see a lot", 'spends a lot of time on facebook'],
    // a reaction run into the statement without a comma
    ['that is fun i live on a horse farm', 'lives on a horse farm'],
    ['that is cool i can move donuts with my mind .', 'can move donuts with their mind'],
    // "i do" + an activity, and the emphatic "do"
    ['i do meditation', 'does meditation'],
    ['i do live rpg events over the weekends .', 'does live rpg events over the weekends'],
    ['i do love a good horror movie .', 'loves a good horror movie'],
  ];
  for (const [text, want] of KEPT)
    it(`keeps: ${text}`, () => {
      expect(facts(text)).toContain(want);
    });

  const DROPPED: [string, string][] = [
    ['i am just fine', 'chit-chat'],
    ['i do too', 'agreement'],
    ['i do a lot', 'nothing named'],
    ["i'm sad to hear that you are lonely .", 'a reply, the head waits for its object'],
    ['i have read a book about that once', 'the head waits for its object'],
    ['i spend most of that on weekend clubs and raves', 'the head waits for its object'],
  ];
  for (const [text, why] of DROPPED)
    it(`drops (${why}): ${text}`, () => {
      expect(facts(text)).toEqual([]);
    });
});

describe('goals are facts, never typed traits', () => {
  const KEPT: [string, string][] = [
    ['i want to be a physical therapist when i grow up', 'wants to be a physical therapist'],
    ['i want to be a computer programmer .', 'wants to be a computer programmer'],
    ['i dream of owning a rolls royce ghost one day .', 'dreams of owning a rolls royce ghost one day'],
    ['my dream is to one day own a rolls royce ghost .', 'their dream is to one day own a rolls royce ghost'],
    ['my current goal is to run a 10k', 'their current goal is to run a 10k'],
    ['i plan to travel more .', 'plans to travel more'],
  ];
  for (const [text, want] of KEPT)
    it(`keeps: ${text}`, () => {
      const r = run(text);
      expect(r.facts).toEqual([want]);
      expect(r.typed).toEqual([]);
    });
  for (const text of [
    'i would love to visit spain one day',
    'i want to be like you some day',
    'i would like to meet you',
    'i want to play dolls',
    'if i could be anything i would be a cat',
  ])
    it(`drops other hypotheticals: ${text}`, () => {
      expect(facts(text)).toEqual([]);
    });
});

describe('1.4.1: a missing "i" at the start of a statement, and break-ups', () => {
  it('reads a statement whose "i" was left out', () => {
    expect(facts('grew up on farm')).toEqual(['grew up on farm']);
    expect(facts('was born in africa .')).toEqual(['was born in africa']);
  });
  it('a break-up is not a relationship', () => {
    expect(run('broke up with my boyfriend a few months ago .')).toEqual({ typed: [], facts: ['broke up with their boyfriend a few months ago'] });
    expect(run('i ended things with my boyfriend').typed).toEqual([]);
    expect(run('i live with my boyfriend')).toEqual({ typed: ['family_status=in_relationship'], facts: [] });
  });
});

describe('1.4.2: "i want to become …" is a goal too; goals in a sensitive category are never facts', () => {
  it('reads "want to become" as a goal, not a typed occupation', () => {
    expect(run('i want to become a nurse')).toEqual({ typed: [], facts: ['wants to become a nurse'] });
    expect(facts('i want to move to france')).toEqual([]); // other wants stay out
  });
  it('drops goals in a sensitive category whatever the wording', () => {
    for (const text of ['i want to become a pastor at my church', 'i want to run for congress as a republican', 'my goal is to beat my depression', 'i want to be a nun'])
      expect(facts(text), text).toEqual([]);
  });
});
