import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../../src/core/errors.ts';
import { loadSpec, parseSpec } from '../../src/predict/spec.ts';

function errorOf(f: () => unknown): ValidationError {
  try {
    f();
  } catch (e) {
    return e as ValidationError;
  }
  throw new Error('expected an error');
}

describe('model specs', () => {
  it('fills defaults for a minimal spec', () => {
    const s = parseSpec({ name: 'purchase_30d', target: { kind: 'event_in_horizon', eventTypes: ['purchase'], horizonDays: 30 } });
    expect(s.architecture).toBe('mlp');
    expect(s.split.kind).toBe('time');
    expect(s.training.classWeights).toBe('balanced');
    expect(s.features.topCategories).toBe(8);
  });

  it('bad specs give clear errors naming each field', () => {
    const e = errorOf(() => parseSpec({ name: 'Bad Name', target: { kind: 'event_in_horizon', eventTypes: [], horizonDays: -1 }, architecture: 'transformer', extra: 1 }));
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.code).toBe('invalid_model_spec');
    const fields = (e.details as { field: string }[]).map((d) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['name', 'target.eventTypes', 'target.horizonDays', 'architecture']));
    expect(e.message).toMatch(/snake_case/);
    expect(errorOf(() => parseSpec({ name: 'x', target: { kind: 'guess' } })).message).toMatch(/target/);
    expect(errorOf(() => parseSpec({ name: 'x', target: { kind: 'attribute', key: 'plan' } })).message).toMatch(/split.kind "time" needs a target with a horizon/);
  });

  it('loadSpec: missing file and invalid JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'traitlens-spec-'));
    try {
      expect(() => loadSpec(join(dir, 'nope.json'))).toThrow(NotFoundError);
      writeFileSync(join(dir, 'bad.json'), '{ name: ');
      expect(() => loadSpec(join(dir, 'bad.json'))).toThrow(/not valid JSON/);
      writeFileSync(join(dir, 'ok.json'), JSON.stringify({ name: 'churn_14d', target: { kind: 'churn', horizonDays: 14 } }));
      expect(loadSpec(join(dir, 'ok.json')).target.kind).toBe('churn');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the shipped specs are valid', async () => {
    const { readdirSync } = await import('node:fs');
    const dir = join(import.meta.dirname, '../../models/specs');
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(() => loadSpec(join(dir, f))).not.toThrow();
  });

  it('features.items: good specs get defaults, bad ones name the field', () => {
    const base = { name: 'country_from_items', target: { kind: 'attribute', key: 'country', positive: 'United Kingdom' }, split: { kind: 'users' } };
    const s = parseSpec({ ...base, features: { items: {} } });
    expect(s.features.items).toEqual({ property: 'item', embedding: 'learned', dim: 16, maxItems: 2000, minUsers: 3, sequence: false, pooling: 'sqrtn' });
    expect(parseSpec({ name: 'x', target: { kind: 'churn', horizonDays: 30 } }).features.items).toBeUndefined();
    const full = parseSpec({
      ...base,
      architecture: 'gru',
      features: { items: { property: 'product_id', event: 'purchase', valueProperty: 'quantity', embedding: 'pretrained', dim: 8, maxItems: 500, minUsers: 1, sequence: true } },
    });
    expect(full.features.items).toMatchObject({ property: 'product_id', event: 'purchase', valueProperty: 'quantity', embedding: 'pretrained', sequence: true });

    const bad = errorOf(() => parseSpec({ ...base, features: { items: { property: 'Item Id', valueProperty: 3, embedding: 'glove', dim: 0, maxItems: -1, colour: 'red' } } }));
    expect(bad).toBeInstanceOf(ValidationError);
    expect(bad.code).toBe('invalid_model_spec');
    const fields = (bad.details as { field: string }[]).map((d) => d.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'features.items.property',
        'features.items.valueProperty',
        'features.items.embedding',
        'features.items.dim',
        'features.items.maxItems',
        'features.items',
      ]),
    );
    expect(bad.message).toMatch(/features\.items\.property: .*snake_case/);
    expect(errorOf(() => parseSpec({ ...base, features: { items: 'item' } })).message).toMatch(/features\.items/);
    const seq = errorOf(() => parseSpec({ ...base, features: { items: { sequence: true } } }));
    expect(seq.message).toMatch(/features\.items\.sequence needs a recurrent architecture/);
    expect((seq.details as { field: string }[])[0]?.field).toBe('features.items.sequence');
  });
});
