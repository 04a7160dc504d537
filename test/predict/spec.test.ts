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
});
