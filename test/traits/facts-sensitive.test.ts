import { describe, expect, it } from 'vitest';
import type { FactOp } from '../../src/core/traits.ts';
import { dropSensitiveFacts, factCategories, type SensitiveCategory } from '../../src/traits/sensitive.ts';

/**
 * Facts go through the same sensitive-category filter as traits: a fact is never stored when its
 * statement, topic, typed value or any quote belongs to a special category, whatever the wording.
 * Each row: what the user wrote (the quote) and the statement an extractor would make of it.
 */
const fact = (quote: string, statement: string, extra: Partial<FactOp> = {}): FactOp => ({ op: 'add', statement, confidence: 0.9, evidence: [{ eventId: 1, quote }], ...extra });

type Row = [quote: string, statement: string, extra?: Partial<FactOp>];

const SENSITIVE: Record<SensitiveCategory, Row[]> = {
  health: [
    ['i have type 2 diabetes', 'has type 2 diabetes'],
    ['i was diagnosed with cancer last year', 'was diagnosed with cancer last year'],
    ['i take insulin twice a day', 'takes insulin twice a day'],
    ['i suffer from depression', 'suffers from depression'],
    ["i've been battling anxiety for years", 'has been battling anxiety for years'],
    ["i'm a cancer survivor", 'is a cancer survivor'],
    ["i'm a recovering alcoholic", 'is a recovering alcoholic'],
    ['i have a heart condition', 'has a heart condition'],
    ['i had a stroke last spring', 'had a stroke last spring'],
    ['i had a heart attack at 50', 'had a heart attack at 50'],
    ['my blood pressure is way too high', 'has high blood pressure'],
    ['i am on dialysis three days a week', 'is on dialysis three days a week'],
    ["i'm in remission now", 'is in remission'],
    ['i see a therapist every week', 'sees a therapist every week'],
    ["i'm hiv positive", 'is hiv positive'],
    ["i'm bipolar", 'is bipolar'],
    ['i have adhd', 'has adhd'],
    ["i'm allergic to peanuts", 'is allergic to peanuts'],
    ['i have an allergy to water', 'has an allergy to water'],
    ['i am deaf in one ear', 'is deaf in one ear'],
    ["i'm in a wheelchair", 'uses a wheelchair'],
    ["i'm pregnant with my second", 'is pregnant'],
    ["i've been sober for five years", 'has been sober for five years'],
    ['i have multiple sclerosis', 'has multiple sclerosis'],
    ['i have kidney disease', 'has kidney disease'],
    ["i'm on antidepressants", 'is on antidepressants'],
    ['i have high cholesterol', 'has high cholesterol'],
    ["i'm on the autism spectrum", 'is on the autism spectrum'],
    ['i am an amputee', 'is an amputee'],
    ['i have chronic fatigue', 'has chronic fatigue syndrome'],
  ],
  religion: [
    ["i'm a christian", 'is a christian'],
    ['i go to mass every sunday', 'goes to mass every sunday'],
    ['i believe in god', 'believes in god'],
    ['i pray five times a day', 'prays five times a day'],
    ['i am a devout muslim', 'is a devout muslim'],
    ['i only eat kosher', 'only eats kosher food'],
    ['i keep the sabbath', 'keeps the sabbath'],
    ["i'm a pastor", 'is a pastor'],
    ["i'm a minister at my church", 'is a minister at a church'],
    ['jesus is my savior', 'considers jesus their savior'],
    ['i fast during lent', 'fasts during lent'],
    ["i'm an atheist", 'is an atheist'],
    ['i am born again', 'is a born again christian'],
    ['my faith is very important to me', 'finds their faith very important'],
    ['i go to temple on saturdays', 'goes to temple on saturdays', { topic: 'worship' }],
  ],
  sexual_orientation: [
    ["i'm gay", 'is gay'],
    ['i am a lesbian', 'is a lesbian'],
    ["i'm bisexual", 'is bisexual'],
    ["i'm bi", 'is bi'],
    ["i'm queer", 'is queer'],
    ['i came out last year', 'came out last year'],
    ["i'm attracted to men", 'is attracted to men'],
    ["i'm trans", 'is trans'],
    ["i'm nonbinary", 'is nonbinary'],
    ['i am homosexual', 'is homosexual'],
  ],
  ethnicity: [
    ["i'm african american", 'is african american'],
    ['i am hispanic', 'is hispanic'],
    ["i'm latina", 'is latina'],
    ["i'm black", 'is black'],
    ['i am white', 'is white'],
    ["i'm asian", 'is asian'],
    ["i'm of mexican descent", 'is of mexican descent'],
    ['my heritage is irish', 'has irish heritage'],
    ["i'm native american", 'is native american'],
    ["i'm mixed race", 'is mixed race'],
    ["i'm a person of color", 'is a person of color'],
  ],
  political_opinion: [
    ["i'm a democrat", 'is a democrat'],
    ['i vote republican', 'votes republican'],
    ['i voted for trump', 'voted for trump'],
    ["i'm a liberal", 'is a liberal'],
    ["i'm conservative", 'is conservative'],
    ['i support the labour party', 'supports the labour party'],
    ["i'm a socialist", 'is a socialist'],
    ["i'm very into politics", 'is very into politics'],
    ["i'm pro-life", 'is pro-life'],
    ['i campaigned for the senator', 'campaigned for the senator'],
    ["i'm a feminist", 'is a feminist'],
  ],
  trade_union_membership: [
    ["i'm in the union at work", 'is in the union at work'],
    ["i'm a union member", 'is a union member'],
    ['i pay union dues', 'pays union dues'],
    ["i'm a teamster", 'is a teamster'],
    ['i joined the union last year', 'joined the union last year'],
  ],
};

const HARMLESS: [string, string][] = [
  ['i read twenty books a year', 'reads about 20 books a year'],
  ['i was raised by my grandfather', 'was raised by their grandfather'],
  ['i never broke a bone', 'has never broken a bone'],
  ['i work at a hospital as a nurse', 'works at a hospital as a nurse'],
  ['i drive a black pickup truck', 'drives a black pickup truck'],
  ['my favorite color is white', 'favorite color is white'],
  ['i love white water rafting', 'loves white water rafting'],
  ['i go to the gym every day', 'goes to the gym every day'],
  ['i had a party for my birthday', 'had a birthday party'],
  ['i moved to lisbon last month', 'moved to lisbon last month'],
  ['i have two dogs', 'has two dogs'],
  ["i'm a therapist", 'is a therapist'],
  ['i play in a band', 'plays in a band'],
  ['i like asian food', 'likes asian food'],
  ['i watch the news every night', 'watches the news every night'],
  ['i work in a bakery', 'works in a bakery'],
  ["i'm a straight a student", 'is a straight a student'],
  ['i am a stay at home dad', 'is a stay at home dad'],
];

describe('the sensitive-category filter on facts', () => {
  for (const [category, rows] of Object.entries(SENSITIVE) as [SensitiveCategory, Row[]][]) {
    it(`drops ${category} facts whatever the wording (${rows.length} wordings), judged on the statement and the quote separately`, () => {
      for (const [quote, statement, extra] of rows) {
        expect(factCategories(fact(quote, statement, extra)), `${quote} / ${statement}`).toContain(category);
        // Each piece alone is enough: a harmless quote does not launder a sensitive statement, nor the reverse.
        expect(factCategories(fact('i said something', statement)), `statement: ${statement}`).toContain(category);
        expect(factCategories(fact(quote, 'said something')), `quote: ${quote}`).toContain(category);
      }
      const r = dropSensitiveFacts(rows.map(([q, s, x]) => fact(q, s, x)));
      expect(r.kept).toEqual([]);
      expect(r.droppedTotal).toBe(rows.length);
    });
  }

  it('keeps everyday facts, including ones that share a word with a category', () => {
    const r = dropSensitiveFacts(HARMLESS.map(([q, s]) => fact(q, s)));
    expect(r.kept.map((f) => f.statement)).toEqual(HARMLESS.map(([, s]) => s));
    expect(r.droppedTotal).toBe(0);
  });

  it('judges the topic and the typed key/value too, and honours an explicit allow like traits', () => {
    expect(factCategories(fact('i go there on fridays', 'goes there on fridays', { topic: 'religion' }))).toEqual(['religion']);
    expect(factCategories(fact('that is my thing', 'has a thing', { typed: { key: 'diet', value: 'halal' } }))).toEqual(['religion']);
    const facts = [fact('i take insulin', 'takes insulin'), fact('i pray for my insulin to work', 'prays daily')];
    const r = dropSensitiveFacts(facts, { allow: ['health'] });
    expect(r.kept.map((f) => f.statement)).toEqual(['takes insulin']);
    expect(r.dropped.religion).toBe(1);
  });
});
