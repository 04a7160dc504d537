/**
 * Fact dedupe: how well a statement-similarity function tells "two phrasings of one fact" from
 * "two facts", on hand-labelled PersonaChat tune-split pairs (test/fixtures/fact-pairs.json).
 *   node --import tsx bench/fact-dedupe.ts [--cache data/cache]
 *
 * Rows: the merge step's token similarity (factSimilarity: Dice over content tokens) and, for
 * comparison, the cosine of the offline sentence embedder (SIF over wink word vectors), at
 * several thresholds: how many "same" pairs would merge (want all) and how many "different" pairs
 * would wrongly merge (want none).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { OfflineEmbedder } from '../src/providers/offline-embedder.ts';
import { FACT_DEDUPE_THRESHOLD, factSimilarity } from '../src/traits/merge.ts';

const { values } = parseArgs({ options: { cache: { type: 'string', default: 'data/cache' } } });
const fx = JSON.parse(readFileSync(new URL('../test/fixtures/fact-pairs.json', import.meta.url), 'utf8')) as { same: [string, string][]; different: [string, string][] };
const model = await new OfflineEmbedder({ cacheDir: values.cache }).model();
const cosine = (a: string, b: string) => {
  const x = model.embed(a);
  const y = model.embed(b);
  let d = 0;
  for (let i = 0; i < x.length; i++) d += x[i]! * y[i]!;
  return d;
};
const fns: [string, (a: string, b: string) => number][] = [
  ['tokens (factSimilarity)', factSimilarity],
  ['SIF cosine (offline embedder)', cosine],
];
console.log(`pairs: ${fx.same.length} same, ${fx.different.length} different; merge threshold in use: tokens ≥ ${FACT_DEDUPE_THRESHOLD}`);
console.log('| similarity | threshold | same merged | different merged (wrong) | accuracy |');
console.log('|---|---|---|---|---|');
for (const [name, f] of fns) {
  const s = fx.same.map(([a, b]) => f(a, b));
  const d = fx.different.map(([a, b]) => f(a, b));
  for (const t of [0.5, 0.6, 0.7, 0.8, 0.9]) {
    const tp = s.filter((x) => x >= t).length;
    const fp = d.filter((x) => x >= t).length;
    const acc = (tp + d.length - fp) / (s.length + d.length);
    console.log(`| ${name} | ${t} | ${tp}/${s.length} | ${fp}/${d.length} | ${(acc * 100).toFixed(1)} % |`);
  }
}
