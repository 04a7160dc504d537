/**
 * Offline facts (issue #15 item 2, offline half): self-disclosures that no catalogue key covers
 * become FactOps with a normalised subjectless statement and a verbatim quote; questions,
 * hypotheticals, statements about someone else and chit-chat do not. The PersonaChat sentences are
 * from the tune split (speakers 0–599; speaker index in the comment).
 */
import { describe, expect, it } from 'vitest';
import { factOpSchema, type Signal } from '../../src/core/traits.ts';
import { factFromClause, thirdPerson } from '../../src/traits/offline-facts.ts';
import { extractOffline } from '../../src/traits/offline-extractor.ts';

let nextId = 1;
const sig = (text: string): Signal => ({ eventId: nextId++, type: 'chat_message', text, ts: nextId });
const facts = (text: string) => extractOffline([sig(text)]).facts.map((f) => f.statement);

describe('offline facts: detection and normalisation', () => {
  const KEPT: [string, string][] = [
    ["i've read about 20 books this year .", 'has read about 20 books this year'], // speaker 0
    ['i was raised by my grandfather .', 'was raised by their grandfather'],
    ['i never broke a bone in my body', 'never broke a bone in their body'],
    ['i dye my hair every three months', 'dyes their hair every three months'],
    ['my favorite color is blue .', 'their favorite color is blue'],
    ['i drive a nissan pathfinder .', 'drives a nissan pathfinder'],
    ["i am 60 years old , i've visited spain a few times", 'is 60 years old'],
    ['i grew up in the entertainment industry .', 'grew up in the entertainment industry'], // speaker 178
    ['i spend my extra money on hats .', 'spends their extra money on hats'], // speaker 57
    ['i do not drink soda .', 'does not drink soda'],
    ['i watch a lot of war documentaries', 'watches a lot of war documentaries'],
    // 1.3.0 (tune split): the answer to "what is your favorite …", the favourite named first, "in" a
    // place or a group, past forms ending in -shed, "hardly ever"
    ['what is your favorite season ? mine is winter !', 'their favorite season is winter'],
    ['red is my absolute favorite color .', 'their favorite color is red'],
    ["i'm in the army", 'is in the army'],
    ['i finished in 1995 .', 'finished in 1995'],
    ['i hardly ever read .', 'hardly ever reads'],
  ];
  for (const [text, want] of KEPT)
    it(`keeps: ${text}`, () => {
      expect(facts(text)).toContain(want);
    });

  const DROPPED: [string, string][] = [
    ['i am fine , thanks .', 'chit-chat'],
    ["i'm doing well", 'chit-chat'],
    ['i am so sorry to hear that .', 'chit-chat'],
    ['i think so too', 'chit-chat'],
    ['i know right', 'chit-chat'],
    ['i love that !', 'no content'],
    ['i just got home from work .', 'transient'],
    ["i'm going to the store today", 'transient'],
    ['do you read a lot ?', 'question'],
    ['i would love to visit spain one day', 'hypothetical'],
    ['if i had a boat i would sail', 'hypothetical'],
    ['my mom is a nurse .', 'about someone else'],
    ['my father used to work for home depot .', 'about someone else'],
    ["i've never seen that", 'negated reply'],
    ['i have never been there .', 'context-bound'],
    ["hi , i'm billy", 'a name'],
    ['my name is george', 'a name'],
    // 1.3.0 (tune split false positives)
    ['i like hats too !', 'mirrors the partner'],
    ['i like working with electronics myself .', 'mirrors the partner'],
    ['i have three', 'a count of nothing'],
    ['i play several', 'a count of nothing'],
    ['i prefer solo stuff .', 'a comparative reply'],
    ['i am more into sushi', 'a comparative reply'],
    ['i used to run .', 'no longer true'],
    ['i try to eat healthy', 'an attempt'],
    ['i love purple', 'a bare one-word like'],
    ["i'm a girl .", 'a bare is-a'],
    ['i do not like crowds .', 'a negated reply'],
    ["i'm sara who are you", 'a question run in'],
    ['i football is the best .', 'no verb'],
    ["i'm thanks so much !", 'chit-chat'],
  ];
  for (const [text, why] of DROPPED)
    it(`drops (${why}): ${text}`, () => {
      expect(facts(text)).toEqual([]);
    });

  it('a clause a catalogue key covers is a typed trait, not a fact', () => {
    const r = extractOffline([sig('i am a nurse .'), sig('i have a dog .'), sig('i live in ohio .'), sig('i love reading')]);
    expect(r.ops.map((o) => o.key).sort()).toEqual(['interest', 'location_region', 'occupation', 'pet']);
    expect(r.facts).toEqual([]);
  });

  it('facts carry a verbatim quote, a confidence and pass the FactOp schema', () => {
    const s = sig('well , i dye my hair every three months lol');
    const r = extractOffline([s]);
    expect(r.facts).toHaveLength(1);
    const f = r.facts[0]!;
    expect(f.statement).toBe('dyes their hair every three months');
    expect(f.op).toBe('add');
    expect(s.text).toContain(f.evidence[0]!.quote);
    expect(f.evidence[0]!.eventId).toBe(s.eventId);
    expect(factOpSchema.safeParse(f).success).toBe(true);
  });

  it('the same statement twice is one fact with both quotes', () => {
    const r = extractOffline([sig('i drive a nissan pathfinder .'), sig('yes , i drive a nissan pathfinder')]);
    expect(r.facts).toHaveLength(1);
    expect(r.facts[0]!.evidence).toHaveLength(2);
    expect(r.facts[0]!.confidence).toBeGreaterThan(0.7);
  });

  it('sensitive statements are never facts', () => {
    expect(facts('i attend church every sunday with my wife')).toEqual([]);
    expect(facts('i have been taking insulin since i was 12')).toEqual([]);
    expect(extractOffline([sig('i attend church every sunday')], [], { sensitive: { allow: ['religion'] } }).facts).toHaveLength(1);
  });

  it('a role said in passing ("as a bee farmer") is read as "i am a bee farmer"; "as a kid" is not a role', () => {
    const r = extractOffline([sig('i do enjoy it , as a bee farmer')]);
    expect(r.ops.map((o) => [o.key, o.value, o.evidence[0]!.quote])).toEqual([['occupation', 'farmer', 'as a bee farmer']]);
    expect(facts('well , as a night owl , i pull tons of all nighters')).toContain('is a night owl');
    expect(facts('as a kid , i loved it')).toEqual([]);
  });

  it('facts: false turns them off', () => {
    expect(extractOffline([sig('i dye my hair every three months')], [], { facts: false }).facts).toEqual([]);
  });

  it('conjugates to the third person', () => {
    expect(['go', 'watch', 'try', 'have', 'play', 'fix', 'do'].map(thirdPerson)).toEqual(['goes', 'watches', 'tries', 'has', 'plays', 'fixes', 'does']);
    expect(factFromClause('i am fine')).toEqual({ skip: 'chit_chat' });
    expect(factFromClause('my sister is a pole dancer')).toEqual({ skip: 'about_someone_else' });
  });
});
