/**
 * `runTraitsEval` end to end on a tiny PersonaChat-shaped file: real ingest into a temp SQLite file,
 * the real trait stage (typed traits and facts stored as kind 'fact'), the real matchers. Checks that
 * the typed-only and typed-plus-facts figures are reported apart and add up.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runTraitsEval, traitsEvalMain } from '../../src/eval/traits.ts';

const dir = mkdtempSync(join(tmpdir(), 'traitlens-eval-facts-'));
/** the word-vector cache the other tests share (built once from the installed wink package) */
const CACHE = './data/cache';
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const speakers = [
  // a typed trait and a fact, both in the persona
  { persona: ['i am a nurse.', 'i dye my hair every three months.'], utterances: ['hi , i am a nurse .', 'i dye my hair every three months lol'] },
  // a fact only
  { persona: ['i drive a nissan pathfinder.', 'i like pizza.'], utterances: ['hello .', 'i drive a nissan pathfinder .'] },
  // a fact that is true but not listed: counts against precision
  { persona: ['i have two cats.'], utterances: ['i have cats .', 'i spend my extra money on hats .'] },
  // nothing said about the persona
  { persona: ['i love to ski.'], utterances: ['i am fine , thanks .', 'how are you ?'] },
].map((s, i) => ({ user_id: `${i}-self`, dialog_id: i, role: 'self', ...s }));
const data = join(dir, 'speakers.jsonl');
writeFileSync(data, `${speakers.map((s) => JSON.stringify(s)).join('\n')}\n`);

describe('runTraitsEval with facts', () => {
  it('reports typed-only and typed-plus-facts figures apart, per split', async () => {
    const r = await runTraitsEval({ data, cacheDir: CACHE, splitAt: 2, collectPairs: true });
    // typed: occupation=nurse, pet=cat; both match their speaker's line
    expect(r.traits).toBe(2);
    expect(r.precision).toBe(1);
    expect(r.recall).toBeCloseTo(2 / 6, 4);
    // facts: hair, pathfinder, hats (the hats one is true but not a persona line)
    const f = r.with_facts;
    expect(f.extracted_facts).toBe(3);
    expect(f.fact_precision).toBeCloseTo(2 / 3, 4);
    expect(f.recall).toBeCloseTo(4 / 6, 4);
    expect(f.precision).toBeCloseTo(4 / 5, 4);
    expect(f.facts_per_user).toBeCloseTo(3 / 4, 4);
    expect(r.splits.tune?.with_facts.extracted_facts).toBe(2);
    expect(r.splits.held_out?.with_facts.extracted_facts).toBe(1);
    expect(r.splits.held_out?.with_facts.precision).toBeCloseTo(1 / 2, 4);
    const factPairs = r.pairs?.filter((p) => p.key === 'fact') ?? [];
    expect(factPairs.some((p) => p.match && p.value === 'drives a nissan pathfinder')).toBe(true);
  });

  it('--pairs-out writes the scored pairs as JSON lines', async () => {
    const out = join(dir, 'pairs.jsonl');
    const lines: string[] = [];
    const code = await traitsEvalMain(['--data', data, '--cache-dir', CACHE, '--json', '--pairs-out', out], { out: (s) => lines.push(s), err: () => {} });
    expect(code).toBe(0);
    const pairs = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { key: string });
    expect(pairs.filter((p) => p.key === 'fact').length).toBeGreaterThan(0);
    expect(JSON.parse(lines.join('')).pairs).toBeUndefined();
  });
});
