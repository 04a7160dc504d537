/**
 * The hand check of the rule for facts (issue #15): draws a seeded sample of (fact statement,
 * persona line) pairs from the tune split (or, with --split held-out, the held-out split) for a person
 * to judge, and scores the judged sample.
 *
 *   # 1. the pairs of a run (tune split only is enough: --limit 600)
 *   node --import tsx bench/eval-traits.ts --data …/speakers-dev.jsonl --limit 600 --pairs-out /tmp/pairs.jsonl
 *   # 2. draw: 25 pairs the rule matches + 25 near misses it rejects, seeded; pairs already judged in
 *   #    the files given with --exclude are left out
 *   node --import tsx bench/fact-handcheck.ts --pairs /tmp/pairs.jsonl --seed 2028 --out sample.jsonl
 *   #    --split held-out draws from speakers --split-at (600) and on (the pairs' "index", the line number
 *   #    in speakers-dev.jsonl; "speaker" is "<dialogue>-self|partner") instead of speakers before it; the
 *   #    pairs file must then come from a run without --limit
 *   #    when fewer than --per near misses are left (a looser rule leaves few), --fill-cosine C fills the
 *   #    stratum with rejects that share no informative word but whose SIF sentence cosine is at least C
 *   #    (paraphrase candidates; needs the word vectors, --cache-dir), drawn with the same generator
 *   #    --blind FILE also writes the pairs for a separate judge: shuffled (same seeded generator) under
 *   #    neutral ids P01…, only blind_id, statement, quotes and line (no rule verdict, reason, score,
 *   #    speaker or stratum); the --out file is then the key (each row gains its blind_id; not for the judge)
 *   # 3. a person fills in "human" (true/false) and "note" on every line, then:
 *   node --import tsx bench/fact-handcheck.ts --judged test/fixtures/fact-handcheck.jsonl
 *   #    or, for a blind judge's file (rows {blind_id, human, note?, ambiguous?}), join it to the key first:
 *   node --import tsx bench/fact-handcheck.ts --join verdicts.jsonl --key key.jsonl --out test/fixtures/….jsonl
 *   # (--rescore re-runs the current rule on the judged pairs instead of the recorded verdict: after a
 *   #  rule change this is development data, not a blind check)
 *
 * The rule is the one of this checkout (revision 7: src/eval/fact-paraphrase.ts, the lexical rule with its
 * same-clause route plus the calibrated paraphrase route over the word vectors of --cache-dir), as
 * recorded in the --pairs file.
 *
 * Near misses are rejects that share at least one informative stem with the line or were stopped
 * by a gate (polarity, a line about someone else): a random reject shares nothing and would be
 * trivially right, so a uniform sample would say little about the rule.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { mulberry32 as rng } from '../src/core/random.ts';
import { FactRule } from '../src/eval/fact-paraphrase.ts';
import { OfflineEmbedder } from '../src/providers/offline-embedder.ts';

interface Pair {
  speaker: string;
  index: number;
  key: string;
  value: string;
  fact: string;
  match: boolean;
  reason: string;
  quotes?: string[];
}
interface Judged {
  id: string;
  speaker: string;
  statement: string;
  quotes: string[];
  line: string;
  rule: boolean;
  reason: string;
  human: boolean | null;
  note?: string;
  /** set on paraphrase candidates (--fill-cosine): the SIF cosine of statement and line */
  cosine?: number;
  /** the neutral id the blind judge saw (--blind) */
  blind_id?: string;
  /** the judge found the pair genuinely ambiguous */
  ambiguous?: boolean;
}
/** One verdict of a blind judge (--join). */
interface Verdict {
  blind_id: string;
  human: boolean;
  note?: string;
  ambiguous?: boolean;
}

function draw<T>(xs: readonly T[], n: number, next: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a.slice(0, n);
}

/** The SIF cosine of a paraphrase candidate; the eval's own pairs carry `cosine: null` for facts. */
const cosineOf = (p: Pair): { cosine?: number } => {
  const c: unknown = (p as unknown as { cosine?: unknown }).cosine;
  return typeof c === 'number' ? { cosine: c } : {};
};
// revision 6: a lexical match the calibrated score turns down ("vetoed by score …") is a near miss too
const nearMiss = (p: Pair) =>
  !p.match && (/^shares [1-9]/.test(p.reason) || /^vetoed by score/.test(p.reason) || p.reason === 'polarity differs' || p.reason === 'line is about someone else');
const pairKey = (statement: string, line: string) => `${statement}\u0000${line}`;

const { values } = parseArgs({
  options: {
    pairs: { type: 'string' },
    seed: { type: 'string', default: '2028' },
    out: { type: 'string' },
    exclude: { type: 'string', multiple: true, default: [] },
    judged: { type: 'string' },
    'split-at': { type: 'string', default: '600' },
    split: { type: 'string', default: 'tune' },
    per: { type: 'string', default: '25' },
    'fill-cosine': { type: 'string' },
    rescore: { type: 'boolean', default: false },
    'cache-dir': { type: 'string', default: '/tmp/traitlens-wink-cache' },
    blind: { type: 'string' },
    join: { type: 'string' },
    key: { type: 'string' },
  },
});
const readJsonl = <T>(f: string): T[] =>
  readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);

if (values.join) {
  // a blind judge's verdicts joined to the key by blind_id: every key row judged exactly once
  if (!values.key || !values.out) throw new Error('--join VERDICTS needs --key KEY --out FIXTURE');
  const key = readJsonl<Judged>(values.key);
  const verdicts = readJsonl<Verdict>(values.join);
  const byId = new Map<string, Verdict>();
  for (const v of verdicts) {
    if (typeof v.blind_id !== 'string' || typeof v.human !== 'boolean') throw new Error(`a verdict needs blind_id and human true/false: ${JSON.stringify(v)}`);
    if (byId.has(v.blind_id)) throw new Error(`${v.blind_id} is judged twice`);
    byId.set(v.blind_id, v);
  }
  const ids = new Set(key.map((k) => k.blind_id));
  const extra = [...byId.keys()].filter((id) => !ids.has(id));
  const missing = key.filter((k) => !k.blind_id || !byId.has(k.blind_id)).map((k) => k.blind_id ?? k.id);
  if (extra.length || missing.length) throw new Error(`verdicts and key differ: not in the key ${extra.join(', ') || '-'}; not judged ${missing.join(', ') || '-'}`);
  const joined = key.map((k) => {
    const v = byId.get(k.blind_id as string) as Verdict;
    return { ...k, human: v.human, ...(v.note ? { note: v.note } : {}), ...(v.ambiguous ? { ambiguous: true } : {}) };
  });
  writeFileSync(values.out, `${joined.map((o) => JSON.stringify(o)).join('\n')}\n`);
  console.log(`joined ${joined.length} verdicts to ${values.key} → ${values.out}; score it with --judged ${values.out}`);
} else if (values.judged) {
  const rescore = values.rescore ? new FactRule(await new OfflineEmbedder({ cacheDir: values['cache-dir'] as string }).model()) : null;
  const rows = readFileSync(values.judged, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Judged)
    // --rescore: the rule of this checkout instead of the one recorded when the sample was drawn (not blind)
    .map((r) => (rescore ? { ...r, rule: rescore.match(r.statement, r.line).match } : r));
  if (values.rescore) console.log(`rescored with the current rule (${values.judged}): not a blind check\n`);
  const open = rows.filter((r) => r.human === null);
  if (open.length) throw new Error(`${open.length} pairs are not judged yet (human: null): ${open.map((r) => r.id).join(', ')}`);
  const part = (rule: boolean) => {
    const xs = rows.filter((r) => r.rule === rule);
    return { n: xs.length, agree: xs.filter((r) => r.human === r.rule).length };
  };
  const m = part(true);
  const n = part(false);
  console.log('| stratum | pairs | rule and person agree |');
  console.log('|---|---|---|');
  console.log(`| rule says match | ${m.n} | ${m.agree} (${((100 * m.agree) / m.n).toFixed(0)} %) |`);
  console.log(`| near misses the rule rejects | ${n.n} | ${n.agree} (${((100 * n.agree) / n.n).toFixed(0)} %) |`);
  console.log(`| **all** | ${rows.length} | **${m.agree + n.agree} (${((100 * (m.agree + n.agree)) / rows.length).toFixed(0)} %)** |`);
  console.log('\ndisagreements:');
  for (const r of rows.filter((x) => x.human !== x.rule))
    console.log(`  ${r.id} rule ${r.rule ? 'match' : 'no'} / person ${r.human ? 'yes' : 'no'}: "${r.statement}" ~ "${r.line}"${r.note ? ` (${r.note})` : ''}`);
} else {
  if (!values.pairs || !values.out) throw new Error('give --pairs FILE --out FILE (draw) or --judged FILE (score)');
  const splitAt = Number(values['split-at']);
  const split = values.split;
  if (split !== 'tune' && split !== 'held-out') throw new Error(`--split is tune or held-out, not ${split}`);
  const inSplit = (p: Pair) => (split === 'tune' ? p.index < splitAt : p.index >= splitAt);
  const per = Number(values.per);
  const seen = new Set<string>();
  for (const f of values.exclude ?? [])
    for (const l of readFileSync(f, 'utf8').split('\n').filter(Boolean)) {
      const j = JSON.parse(l) as Judged;
      seen.add(pairKey(j.statement, j.line));
    }
  const pool = readFileSync(values.pairs, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Pair)
    .filter((p) => p.key === 'fact' && inSplit(p) && !seen.has(pairKey(p.value, p.fact)));
  if (!pool.length) throw new Error(`no fact pairs of the ${split} split in ${values.pairs} (index ${split === 'tune' ? '<' : '≥'} ${splitAt})`);
  const next = rng(Number(values.seed));
  const matches = draw(
    pool.filter((p) => p.match),
    per,
    next,
  );
  const misses: (Pair & { cosine?: number })[] = draw(pool.filter(nearMiss), per, next);
  let candidates = 0;
  if (values['fill-cosine'] && misses.length < per) {
    const min = Number(values['fill-cosine']);
    const sif = await new OfflineEmbedder({ cacheDir: values['cache-dir'] as string }).model();
    const cos = (a: string, b: string) => {
      const x = sif.embed(a);
      const y = sif.embed(b);
      let d = 0;
      for (let i = 0; i < x.length; i++) d += (x[i] as number) * (y[i] as number);
      return d;
    };
    const fill = pool
      .filter((p) => !p.match && !nearMiss(p))
      .map((p) => ({ ...p, cosine: Math.round(cos(p.value, p.fact) * 1000) / 1000 }))
      .filter((p) => p.cosine >= min);
    candidates = fill.length;
    misses.push(...draw(fill, per - misses.length, next));
  }
  const out: Judged[] = [...matches.map((p, i) => ({ p, id: `M${i + 1}` })), ...misses.map((p, i) => ({ p, id: `N${i + 1}` }))].map(({ p, id }) => ({
    id,
    speaker: p.speaker,
    statement: p.value,
    quotes: p.quotes ?? [],
    line: p.fact,
    rule: p.match,
    reason: p.reason,
    human: null,
    ...cosineOf(p),
  }));
  if (values.blind) {
    // shuffled with the same generator, under neutral ids; only what the judge needs
    const order = draw(
      out.map((_, i) => i),
      out.length,
      next,
    );
    const width = Math.max(2, String(out.length).length);
    order.forEach((i, k) => {
      (out[i] as Judged).blind_id = `P${String(k + 1).padStart(width, '0')}`;
    });
    const blind = order.map((i) => {
      const o = out[i] as Judged;
      return { blind_id: o.blind_id, statement: o.statement, quotes: o.quotes, line: o.line };
    });
    writeFileSync(values.blind, `${blind.map((o) => JSON.stringify(o)).join('\n')}\n`);
  }
  writeFileSync(values.out, `${out.map((o) => JSON.stringify(o)).join('\n')}\n`);
  if (values.blind) console.log(`blind file for the judge (${out.length} pairs, shuffled, ids P01…): ${values.blind}; the key is ${values.out}`);
  console.log(
    `pool (${split} split, index ${split === 'tune' ? '<' : '≥'} ${splitAt}): ${pool.filter((p) => p.match).length} matched pairs, ${pool.filter(nearMiss).length} near misses${values['fill-cosine'] ? `, ${candidates} paraphrase candidates (cosine ≥ ${values['fill-cosine']})` : ''}; drew ${matches.length} + ${misses.length} with seed ${values.seed} → ${values.out}`,
  );
}
