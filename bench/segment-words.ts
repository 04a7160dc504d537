/**
 * Accuracy of the offline words → filter compiler (src/segments/words.ts) on the hand-written cases
 * of test/fixtures/segment-phrases.json: exact filter match after canonicalisation (order of and/or
 * children and of `in` values ignored, nested ands flattened), tuning and held-out cases apart.
 * With word vectors when the cache (TRAITLENS_CACHE_DIR, default ./data/cache) can be built.
 *
 * With `--demo N`: also builds the demo population of N users (src/demo, seed 42, in a temp dir;
 * minutes) and prints, per case, the users the compiled filter matches vs the expected filter.
 *
 * With `--llm`: the LLM path (prompts/segment-filter.v1.md, the configured OPENAI_* chat model) on
 * the same cases, scored the same way; a proposal the DSL refuses counts as a miss.
 *
 *   npx tsx bench/segment-words.ts [--no-vectors] [--verbose] [--demo 300] [--llm]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalFilter, compileWords, defaultWordsVocab } from '../src/segments/words.ts';
import { loadWordVectors } from '../src/providers/word-vectors.ts';

interface Case {
  id: string;
  text: string;
  expected: unknown;
  heldOut?: boolean;
  notUnderstood?: string[];
}
const cases = (JSON.parse(readFileSync(new URL('../test/fixtures/segment-phrases.json', import.meta.url), 'utf8')) as { cases: Case[] }).cases;
const args = new Set(process.argv.slice(2));
const vectors = args.has('--no-vectors') ? null : await loadWordVectors(process.env.TRAITLENS_CACHE_DIR ?? './data/cache');
const vocab = defaultWordsVocab({ vectors });

const results: { c: Case; got: unknown }[] = [];
const tally = { tuning: { n: 0, ok: 0 }, heldOut: { n: 0, ok: 0 } };
for (const c of cases) {
  const r = compileWords(c.text, vocab);
  const ok = JSON.stringify(canonicalFilter(r.filter)) === JSON.stringify(canonicalFilter(c.expected as never));
  results.push({ c, got: r.filter });
  const t = c.heldOut ? tally.heldOut : tally.tuning;
  t.n++;
  if (ok) t.ok++;
  if (!ok || args.has('--verbose'))
    console.log(
      `${ok ? 'ok  ' : 'MISS'} ${c.heldOut ? '[held-out] ' : ''}${c.id}: "${c.text}"\n     got      ${JSON.stringify(r.filter)}${r.notUnderstood.length ? `  notUnderstood=${JSON.stringify(r.notUnderstood)}` : ''}${
        r.conditions.some((x) => x.via)
          ? `  via=${r.conditions
              .map((x) => x.via)
              .filter(Boolean)
              .join('; ')}`
          : ''
      }\n     expected ${JSON.stringify(c.expected)}`,
    );
}
const pct = (t: { n: number; ok: number }) => `${t.ok}/${t.n} (${((100 * t.ok) / t.n).toFixed(0)} %)`;
console.log(`\nexact filter match (word vectors ${vectors ? 'on' : 'off'}): tuning ${pct(tally.tuning)}, held-out ${pct(tally.heldOut)}`);

const demoAt = process.argv.indexOf('--demo');
if (demoAt > 0) {
  const users = Number(process.argv[demoAt + 1] ?? 300);
  const { loadConfig } = await import('../src/core/config.ts');
  const { runDemo } = await import('../src/demo/run-demo.ts');
  const { sqliteStore } = await import('../src/db/store.ts');
  const { compileFilter } = await import('../src/db/filters.ts');
  const dir = mkdtempSync(join(tmpdir(), 'traitlens-words-demo-'));
  try {
    const t0 = performance.now();
    const demo = await runDemo(loadConfig({ ...process.env, TRAITLENS_DATA_DIR: dir }), { dbPath: join(dir, 'traitlens.db'), users, seed: 42 });
    const store = sqliteStore(demo.db);
    console.log(`\ndemo population: ${users} users built in ${((performance.now() - t0) / 1000).toFixed(0)} s; users matched: compiled vs expected`);
    let same = 0;
    for (const { c, got } of results) {
      const count = async (f: unknown) => (f ? store.segments.count(compileFilter(f as never, store.dialect)) : null);
      const [a, b] = [await count(got), await count(c.expected)];
      if (a === b) same++;
      console.log(`${a === b ? '=' : '≠'} ${String(a ?? '-').padStart(5)} ${String(b ?? '-').padStart(5)}  ${c.heldOut ? '[held-out] ' : ''}${c.text}`);
    }
    console.log(`same count on ${same}/${results.length} cases`);
    demo.db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (args.has('--llm')) {
  const { loadConfig } = await import('../src/core/config.ts');
  const { createProviders } = await import('../src/providers/index.ts');
  const { loadPrompt } = await import('../src/traits/prompts.ts');
  const { describeCatalogue, BUILT_IN_CATALOGUE } = await import('../src/traits/catalogue.ts');
  const { FILTER_GRAMMAR } = await import('../src/segments/dsl.ts');
  const { compileAnswerSchema } = await import('../src/segments/segments.ts');
  const { parseFilter } = await import('../src/db/filters.ts');
  const { chat } = createProviders(loadConfig());
  if (!chat) console.log('\n--llm: no LLM is configured (OPENAI_BASE_URL or OPENAI_API_KEY)');
  else {
    // The same prompt as compileDescription (src/segments/segments.ts).
    const prompt = loadPrompt('segment-filter', 'v1');
    const system = await prompt.system.format({ grammar: FILTER_GRAMMAR, catalogue: describeCatalogue(BUILT_IN_CATALOGUE) });
    const llm = { tuning: { n: 0, ok: 0 }, heldOut: { n: 0, ok: 0 } };
    for (const c of cases) {
      let got: unknown = null;
      try {
        const r = await chat.extractStructured({ system, user: await prompt.user.format({ description: c.text }), schema: compileAnswerSchema, schemaName: 'segment_filter' });
        got = parseFilter(r.data.filter);
      } catch (err) {
        got = `error: ${(err as Error).message.slice(0, 120)}`;
      }
      const ok = typeof got !== 'string' && JSON.stringify(canonicalFilter(got as never)) === JSON.stringify(canonicalFilter(c.expected as never));
      const t = c.heldOut ? llm.heldOut : llm.tuning;
      t.n++;
      if (ok) t.ok++;
      if (!ok || args.has('--verbose'))
        console.log(`${ok ? 'ok  ' : 'MISS'} llm ${c.id}: "${c.text}"\n     got      ${JSON.stringify(got)}\n     expected ${JSON.stringify(c.expected)}`);
    }
    console.log(`\nLLM (${chat.id}) exact filter match: tuning ${pct(llm.tuning)}, held-out ${pct(llm.heldOut)}`);
  }
}
