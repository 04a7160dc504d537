import { describe, expect, it } from 'vitest';
import type { TraitOp } from '../../src/core/traits.ts';
import { dropSensitive, sensitiveCategoryOf } from '../../src/traits/sensitive.ts';

const op = (key: string, value: TraitOp['value'], quote = `about ${String(value)}`): TraitOp => ({ op: 'add', key, value, confidence: 0.8, evidence: [{ eventId: 1, quote }] });

describe('dropSensitive', () => {
  it('drops sensitive keys, values and quotes, and counts them by category', () => {
    const ops = [
      op('health', 'asthma'),
      op('religion', 'catholic'),
      op('interest', 'church choir', 'i sing in the church choir'),
      op('diet', 'halal', 'i only eat halal'),
      op('diet', 'kosher', 'i only eat kosher'),
      op('interest', 'pride parade', 'as a gay man i love the pride parade'),
      op('political_opinion', 'left'),
      op('interest', 'hiking', 'i voted for the greens and love hiking'),
      op('interest', 'hiking', 'since my diabetes diagnosis i hike daily'),
      op('occupation', 'nurse', 'i take insulin every day'),
      op('interest', 'rallies', 'i am a proud union member'),
      op('location_region', 'texas', 'as a hispanic woman in texas'),
      // kept
      op('diet', 'vegan', "i'm vegan"),
      op('diet', 'gluten_free', 'i eat gluten free'),
      op('interest', 'hiking', 'i love hiking'),
      op('occupation', 'psychologist', "i'm a therapist"),
    ];
    const r = dropSensitive(ops);
    expect(r.kept.map((o) => o.value)).toEqual(['vegan', 'gluten_free', 'hiking', 'psychologist']);
    expect(r.dropped).toEqual({ health: 3, religion: 4, sexual_orientation: 1, ethnicity: 1, political_opinion: 2, trade_union_membership: 1 });
    expect(r.droppedTotal).toBe(12);
  });

  it('keeps an explicitly allowed category, but not one that also touches another', () => {
    const ops = [op('health', 'asthma'), op('interest', 'yoga', 'yoga helps my asthma'), op('interest', 'church', 'i pray for my asthma')];
    const r = dropSensitive(ops, { allow: ['health'] });
    expect(r.kept.map((o) => o.value)).toEqual(['asthma', 'yoga']);
    expect(r.dropped.religion).toBe(1);
  });

  it('matches whole words only', () => {
    expect(sensitiveCategoryOf('i love spare ribs')).toBeNull(); // not "ibs"
    expect(sensitiveCategoryOf('my hearing aids')).toBe('health');
    expect(sensitiveCategoryOf('i played a gayle song')).toBeNull();
    expect(sensitiveCategoryOf('diagnosed with crohns')).toBe('health');
    expect(sensitiveCategoryOf('the republican candidate')).toBe('political_opinion');
    expect(sensitiveCategoryOf('i love car racing')).toBeNull();
  });
});
