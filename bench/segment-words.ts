/**
 * Accuracy of the offline words → filter compiler (src/segments/words.ts) on the hand-written cases
 * of test/fixtures/segment-phrases.json: exact filter match after canonicalisation (order of and/or
 * children and of `in` values ignored, nested ands flattened), tuning and held-out cases apart.
 * With word vectors when the cache (TRAITLENS_CACHE_DIR, default ./data/cache) can be built.
 *
 *   npx tsx bench/segment-words.ts [--no-vectors] [--verbose]
 */
import { readFileSync } from 'node:fs';
import { canonicalFilter, compileWords, defaultWordsVocab } from '../src/segments/words.ts';
import { loadWordVectors } from '../src/providers/word-vectors.ts';

interface Case { id: string; text: string; expected: unknown; heldOut?: boolean; notUnderstood?: string[] }
const cases = (JSON.parse(readFileSync(new URL('../test/fixtures/segment-phrases.json', import.meta.url), 'utf8')) as { cases: Case[] }).cases;
const args = new Set(process.argv.slice(2));
const vectors = args.has('--no-vectors') ? null : await loadWordVectors(process.env.TRAITLENS_CACHE_DIR ?? './data/cache');
const vocab = defaultWordsVocab({ vectors });

const tally = { tuning: { n: 0, ok: 0 }, heldOut: { n: 0, ok: 0 } };
for (const c of cases) {
  const r = compileWords(c.text, vocab);
  const ok = JSON.stringify(canonicalFilter(r.filter)) === JSON.stringify(canonicalFilter(c.expected as never));
  const t = c.heldOut ? tally.heldOut : tally.tuning;
  t.n++;
  if (ok) t.ok++;
  if (!ok || args.has('--verbose'))
    console.log(`${ok ? 'ok  ' : 'MISS'} ${c.heldOut ? '[held-out] ' : ''}${c.id}: "${c.text}"\n     got      ${JSON.stringify(r.filter)}${r.notUnderstood.length ? `  notUnderstood=${JSON.stringify(r.notUnderstood)}` : ''}${r.conditions.some((x) => x.via) ? `  via=${r.conditions.map((x) => x.via).filter(Boolean).join('; ')}` : ''}\n     expected ${JSON.stringify(c.expected)}`);
}
const pct = (t: { n: number; ok: number }) => `${t.ok}/${t.n} (${((100 * t.ok) / t.n).toFixed(0)} %)`;
console.log(`\nexact filter match (word vectors ${vectors ? 'on' : 'off'}): tuning ${pct(tally.tuning)}, held-out ${pct(tally.heldOut)}`);
