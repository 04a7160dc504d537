import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { traitOpSchema } from '../../src/core/traits.ts';
import { BUILT_IN_CATALOGUE, describeCatalogue, isValidValue, loadCatalogue } from '../../src/traits/catalogue.ts';

const dir = mkdtempSync(join(tmpdir(), 'traitlens-catalogue-'));
function file(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

describe('catalogue', () => {
  it('has the required built-in keys with consistent definitions', () => {
    for (const key of [
      'interest',
      'occupation',
      'pet',
      'family_status',
      'diet',
      'location_region',
      'language',
      'price_sensitivity',
      'preferred_channel',
      'life_event',
      'brand_sentiment',
      'support_issue',
      'skill_level',
    ]) {
      const def = BUILT_IN_CATALOGUE.get(key);
      expect(def, key).toBeDefined();
      expect(def?.description.length).toBeGreaterThan(10);
      if (def?.cardinality === 'multi') expect(def.merge).toBe('union');
    }
    expect(BUILT_IN_CATALOGUE.get('interest')?.cardinality).toBe('multi');
    expect(BUILT_IN_CATALOGUE.get('price_sensitivity')?.allowed).toEqual(['low', 'medium', 'high']);
    expect(BUILT_IN_CATALOGUE.get('skill_level')?.allowed).toEqual(['beginner', 'intermediate', 'expert']);
  });

  it('validates values by type and vocabulary', () => {
    expect(isValidValue(BUILT_IN_CATALOGUE, 'diet', 'vegan')).toBe(true);
    expect(isValidValue(BUILT_IN_CATALOGUE, 'diet', 'carnivorous')).toBe(false);
    expect(isValidValue(BUILT_IN_CATALOGUE, 'interest', 'anything goes')).toBe(true);
    expect(isValidValue(BUILT_IN_CATALOGUE, 'children_count', 2)).toBe(true);
    expect(isValidValue(BUILT_IN_CATALOGUE, 'children_count', '2')).toBe(false);
    expect(isValidValue(BUILT_IN_CATALOGUE, 'no_such_key', 'x')).toBe(false);
  });

  it('is extended by a JSON file: new keys, overrides and removals', () => {
    const p = file(
      'ok.json',
      JSON.stringify({
        traits: [
          { key: 'favourite_team', valueType: 'string', cardinality: 'single', merge: 'latest', description: 'Football team the user supports' },
          { key: 'price_sensitivity', valueType: 'string', cardinality: 'single', merge: 'latest', allowed: ['low', 'high'], description: 'Two levels only here' },
        ],
        remove: ['skill_level'],
      }),
    );
    const cat = loadCatalogue(p);
    expect(cat.get('favourite_team')?.description).toContain('Football');
    expect(cat.get('price_sensitivity')?.allowed).toEqual(['low', 'high']);
    expect(cat.has('skill_level')).toBe(false);
    expect(cat.has('interest')).toBe(true);
    // the built-in catalogue is not mutated
    expect(BUILT_IN_CATALOGUE.has('skill_level')).toBe(true);
    expect(describeCatalogue(cat)).toContain('- favourite_team (string, single)');
  });

  it('accepts an object as well as a path', () => {
    const cat = loadCatalogue({
      traits: [{ key: 'vip_tier', valueType: 'string', cardinality: 'single', merge: 'highest_confidence', allowed: ['gold', 'silver'], description: 'tier' }],
    });
    expect(isValidValue(cat, 'vip_tier', 'gold')).toBe(true);
  });

  it.each([
    ['bad-json.json', '{ "traits": [ ', /not valid JSON/],
    [
      'bad-key.json',
      JSON.stringify({ traits: [{ key: 'Bad Key', valueType: 'string', cardinality: 'single', merge: 'latest', description: 'x' }] }),
      /traits\[0\]\.key: keys are snake_case/,
    ],
    ['bad-type.json', JSON.stringify({ traits: [{ key: 'x', valueType: 'date', cardinality: 'single', merge: 'latest', description: 'x' }] }), /traits\[0\]\.valueType/],
    ['missing.json', JSON.stringify({ traits: [{ key: 'x', valueType: 'string', cardinality: 'single', merge: 'latest' }] }), /traits\[0\]\.description/],
    ['unknown-field.json', JSON.stringify({ traits: [], extra: 1 }), /extra|unrecognized/i],
    [
      'multi-latest.json',
      JSON.stringify({ traits: [{ key: 'x', valueType: 'string', cardinality: 'multi', merge: 'latest', description: 'x' }] }),
      /multi-valued trait "x" must use merge "union"/,
    ],
    [
      'dup.json',
      JSON.stringify({
        traits: [
          { key: 'x', valueType: 'string', cardinality: 'single', merge: 'latest', description: 'x' },
          { key: 'x', valueType: 'string', cardinality: 'single', merge: 'latest', description: 'x' },
        ],
      }),
      /defines "x" twice/,
    ],
  ])('rejects %s with a clear error', (name, content, message) => {
    const p = file(name, content);
    expect(() => loadCatalogue(p)).toThrow(ConfigError);
    expect(() => loadCatalogue(p)).toThrow(message);
    expect(() => loadCatalogue(p)).toThrow(p);
  });

  it('names a missing file', () => {
    expect(() => loadCatalogue(join(dir, 'nope.json'))).toThrow(/cannot read trait catalogue file .*nope\.json/);
  });
});

describe('traitOpSchema', () => {
  it('accepts a well-formed op and rejects malformed ones', () => {
    const ok = { op: 'add', key: 'interest', value: 'hiking', confidence: 0.8, evidence: [{ eventId: 3, quote: 'i love hiking' }] };
    expect(traitOpSchema.parse(ok)).toEqual(ok);
    expect(traitOpSchema.safeParse({ ...ok, confidence: 1.5 }).success).toBe(false);
    expect(traitOpSchema.safeParse({ ...ok, evidence: [] }).success).toBe(false);
    expect(traitOpSchema.safeParse({ ...ok, op: 'delete' }).success).toBe(false);
    expect(traitOpSchema.safeParse({ ...ok, key: 'Interest' }).success).toBe(false);
    expect(traitOpSchema.safeParse({ ...ok, evidence: [{ eventId: 1, quote: '' }] }).success).toBe(false);
    expect(traitOpSchema.safeParse({ ...ok, extra: true }).success).toBe(false);
  });
});
