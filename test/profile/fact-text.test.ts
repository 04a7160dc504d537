import { describe, expect, it } from 'vitest';
import type { Trait } from '../../src/core/types.ts';
import { factStatements, withFacts } from '../../src/profile/fact-text.ts';

const row = (kind: Trait['kind'], value: string, confidence = 1): Trait => ({
  id: 1,
  key: kind === 'fact' ? 'fact:x' : 'interest',
  value,
  kind,
  confidence,
  evidence: [],
  producer: 'p',
  version: '1',
  validFrom: 0,
  validTo: null,
  supersededBy: null,
});
const v = (...xs: number[]) => Float32Array.from(xs);
const close = (a: Float32Array | null, b: number[]) => expect(Array.from(a ?? []).map((x) => Math.round(x * 1000) / 1000)).toEqual(b);

describe('facts in the text block', () => {
  const vectors = new Map([
    ['reads books', v(0, 1)],
    ['hiking', v(1, 0)],
  ]);
  it('adds the unit fact direction at weight 0.5 beside the unit text; only facts count', () => {
    const traits = [row('fact', 'reads books'), row('semantic', 'hiking')];
    expect(factStatements(traits)).toEqual(['reads books']);
    close(withFacts(v(2, 0), traits, vectors), [1, 0.5]);
  });
  it('confidence-weights several facts; a user with facts and no text gets the facts alone', () => {
    const traits = [row('fact', 'reads books', 0.5), row('fact', 'hiking', 0.5)];
    // (0.5·(0,1) + 0.5·(1,0)) made unit, at weight 0.5.
    close(withFacts(null, traits, vectors), [0.354, 0.354]);
  });
  it('without facts, with weight 0, or with vectors of another width, the text block is unchanged', () => {
    const text = v(2, 0);
    expect(withFacts(text, [row('semantic', 'hiking')], vectors)).toBe(text);
    expect(withFacts(text, [row('fact', 'reads books')], vectors, 0)).toBe(text);
    expect(withFacts(text, [row('fact', 'reads books')], new Map([['reads books', v(1, 2, 3)]]))).toBe(text);
    expect(withFacts(null, [], vectors)).toBeNull();
  });
});
