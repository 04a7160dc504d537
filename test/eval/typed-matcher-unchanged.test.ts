/**
 * The typed matcher must not move while the rule for facts is revised (issue #15 item 5: "with the
 * matcher unchanged for typed traits"). test/fixtures/fact-handcheck-typed-golden.jsonl holds 400
 * (trait, persona line) pairs of the tune split (200 the typed matcher matched, 200 it did not, seeded
 * draw from a `--pairs-out` run) with what the matcher of commit 2a408c2 said: the lexical route's
 * verdict and reason, the sentence the embedding route embeds, and the embedding route's gate. The
 * embedding route itself is the frozen SIF model and MATCH_COSINE_THRESHOLD, checked here too.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { TraitValue } from '../../src/core/traits.ts';
import { lexicalMatch, MATCH_COSINE_THRESHOLD, semanticGate, traitPhrase } from '../../src/eval/traits-matcher.ts';

interface Golden {
  key: string;
  value: TraitValue;
  fact: string;
  lexical: boolean;
  reason: string;
  phrase: string;
  gate: string | null;
}
const rows = readFileSync(new URL('../fixtures/fact-handcheck-typed-golden.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Golden);

describe('typed matcher unchanged', () => {
  it('has both matched and unmatched pairs to compare', () => {
    expect(rows.length).toBe(400);
    expect(rows.filter((r) => r.lexical).length).toBeGreaterThan(100);
    expect(rows.filter((r) => !r.lexical).length).toBeGreaterThan(100);
  });
  it('gives every golden pair the same lexical verdict, phrase and gate', () => {
    const diff = rows
      .map((r) => {
        const lex = lexicalMatch(r.key, r.value, r.fact);
        const now = { lexical: lex.match, reason: lex.reason, phrase: traitPhrase(r.key, r.value), gate: semanticGate(r.key, r.value, r.fact) };
        const was = { lexical: r.lexical, reason: r.reason, phrase: r.phrase, gate: r.gate };
        return JSON.stringify(now) === JSON.stringify(was) ? null : `${r.key}=${String(r.value)} ~ ${r.fact}: was ${JSON.stringify(was)}, now ${JSON.stringify(now)}`;
      })
      .filter(Boolean);
    expect(diff).toEqual([]);
  });
  it('keeps the frozen cosine threshold', () => {
    expect(MATCH_COSINE_THRESHOLD).toBe(0.64);
  });
});
