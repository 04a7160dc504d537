/**
 * Fits the paraphrase route of the rule for facts (revision 7 since the same-clause route; src/eval/fact-paraphrase.ts), on the
 * judged **tune** pairs of the hand checks, and estimates its hand-check agreement by k-fold
 * cross-validation (docs/eval-traits.md, "revision 6" and "revision 7"):
 *
 *   node --import tsx bench/fact-rule-fit.ts [--cache-dir /tmp/traitlens-wink-cache] [--folds 10] [--seed 2033] [--l2 1]
 *     [--judged FILE ...]   (default: the tune fixtures below; a held-out fixture is refused)
 *
 * Model: logistic regression (Newton steps, L2 penalty on the coefficients, not the intercept) of the
 * person's verdict on the features of factFeatures(). The decision is score ≥ 0 (probability ≥ ½) and
 * the lexical rule's gates. The CV figure is what the hand check measures: agreement on the pairs the
 * rule matches and on those it rejects, each weighted ½ (the hand check draws 25 + 25). The judged pairs
 * were seen while the earlier revisions were made, so this estimates; it is not a blind check.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { mulberry32 } from '../src/core/random.ts';
import { FACT_FEATURES, FACT_PARAPHRASE_MODEL, type FactFeatures, factFeatures } from '../src/eval/fact-paraphrase.ts';
import { factGate } from '../src/eval/traits-matcher.ts';
import { OfflineEmbedder } from '../src/providers/offline-embedder.ts';

const TUNE_FIXTURES = [
  'test/fixtures/fact-handcheck.jsonl',
  'test/fixtures/fact-handcheck-2029.jsonl',
  'test/fixtures/fact-handcheck-2030.jsonl',
  'test/fixtures/fact-handcheck-2031.jsonl',
  'test/fixtures/fact-handcheck-round4-verdicts.jsonl',
  'test/fixtures/fact-handcheck-tune-3001.jsonl',
];

const { values } = parseArgs({
  options: {
    judged: { type: 'string', multiple: true },
    'cache-dir': { type: 'string', default: '/tmp/traitlens-wink-cache' },
    folds: { type: 'string', default: '10' },
    seed: { type: 'string', default: '2033' },
    l2: { type: 'string', default: '1' },
    repeats: { type: 'string', default: '20' },
    shifts: { type: 'string', default: '0,0.25,0.5,0.75,1,1.5' },
    // a shift chosen by a reason outside this table (docs/eval-traits.md, revision 7): its coefficients are printed
    shift: { type: 'string' },
    sample: { type: 'string', default: 'test/fixtures/fact-handcheck-tune-3001.jsonl' },
  },
});
const files = values.judged?.length ? values.judged : TUNE_FIXTURES;
for (const f of files) if (/held-?out/i.test(f)) throw new Error(`${f} is a held-out fixture: the rule is fitted on tune pairs only`);

interface Row {
  file: string;
  /** the rule's verdict recorded when the pair was drawn */
  wasRule?: boolean;
  statement: string;
  line: string;
  human: boolean;
  x: number[];
  lexical: boolean;
  gated: boolean;
  nearMissLike: boolean;
}
const sif = await new OfflineEmbedder({ cacheDir: values['cache-dir'] as string }).model();
const seen = new Set<string>();
const rows: Row[] = [];
for (const f of files)
  for (const l of readFileSync(f, 'utf8').split('\n').filter(Boolean)) {
    const j = JSON.parse(l) as { statement: string; line: string; human: boolean | null; rule?: boolean };
    if (typeof j.human !== 'boolean') throw new Error(`${f}: an unjudged pair`);
    const k = `${j.statement}\u0000${j.line}`;
    if (seen.has(k)) continue;
    seen.add(k);
    const { features, lexical, cosine } = factFeatures(j.statement, j.line, sif);
    const gated = !lexical.match && factGate(j.statement, j.line, lexical.shared) !== null;
    rows.push({
      file: f,
      wasRule: j.rule,
      statement: j.statement,
      line: j.line,
      human: j.human,
      x: FACT_FEATURES.map((n) => features[n]),
      lexical: lexical.match,
      gated,
      nearMissLike: lexical.shared.length > 0 || gated || cosine >= 0.6,
    });
  }
const d = FACT_FEATURES.length;

/** Logistic regression by Newton steps; w[0] is the intercept (not penalised). */
function fitLogistic(xs: Row[], l2: number): number[] {
  let w = new Array<number>(d + 1).fill(0);
  for (let it = 0; it < 50; it++) {
    const g = new Array<number>(d + 1).fill(0);
    const h = Array.from({ length: d + 1 }, () => new Array<number>(d + 1).fill(0));
    for (const r of xs) {
      const z = [1, ...r.x];
      const p = 1 / (1 + Math.exp(-z.reduce((s, v, i) => s + v * (w[i] as number), 0)));
      const y = r.human ? 1 : 0;
      for (let i = 0; i <= d; i++) {
        g[i] = (g[i] as number) + (p - y) * (z[i] as number);
        for (let k = 0; k <= d; k++) (h[i] as number[])[k] = ((h[i] as number[])[k] as number) + p * (1 - p) * (z[i] as number) * (z[k] as number);
      }
    }
    for (let i = 1; i <= d; i++) {
      g[i] = (g[i] as number) + l2 * (w[i] as number);
      (h[i] as number[])[i] = ((h[i] as number[])[i] as number) + l2;
    }
    const step = solve(h, g);
    w = w.map((v, i) => v - (step[i] as number));
    if (Math.max(...step.map(Math.abs)) < 1e-9) break;
  }
  return w;
}
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((r, i) => [...r, b[i] as number]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs((m[r] as number[])[c] as number) > Math.abs((m[p] as number[])[c] as number)) p = r;
    [m[c], m[p]] = [m[p] as number[], m[c] as number[]];
    const mc = m[c] as number[];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const mr = m[r] as number[];
      const f = (mr[c] as number) / (mc[c] as number);
      for (let k = c; k <= n; k++) mr[k] = (mr[k] as number) - f * (mc[k] as number);
    }
  }
  return m.map((r, i) => (r[n] as number) / (r[i] as number));
}
const score = (w: number[], r: Row) => (w[0] as number) + r.x.reduce((s, v, i) => s + v * (w[i + 1] as number), 0);
/** The rule's decision: score ≥ 0, and a gate still rejects what the lexical rule rejected through it. */
const decide = (w: number[], r: Row) => score(w, r) >= 0 && !r.gated;

/** Agreement as the hand check draws it: ½ · (right among matches) + ½ · (right among near-miss-like rejects). */
function mix(pred: boolean[], rs: Row[]) {
  let m = 0;
  let mOk = 0;
  let n = 0;
  let nOk = 0;
  rs.forEach((r, i) => {
    if (pred[i]) {
      m++;
      if (r.human) mOk++;
    } else if (r.nearMissLike) {
      n++;
      if (!r.human) nOk++;
    }
  });
  return { m, mOk, n, nOk, mix: 0.5 * (mOk / m) + 0.5 * (nOk / n) };
}
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

const l2 = Number(values.l2);
const folds = Number(values.folds);
const repeats = Number(values.repeats);
console.log(`judged tune pairs: ${rows.length} (person yes ${rows.filter((r) => r.human).length}); files: ${files.join(', ')}`);
const lexPred = rows.map((r) => r.lexical);
const lx = mix(lexPred, rows);
console.log(
  `the lexical rule alone (factMatch of this checkout) on these pairs: matches right ${lx.mOk}/${lx.m}, rejects right ${lx.nOk}/${lx.n}, 25/25 mix ${pct(lx.mix)} (development data, not blind)`,
);

// k-fold CV, repeated with seeded shuffles, for each shift of the decision threshold (score + shift ≥ 0):
// the hand check weighs matches and rejects equally, so the best threshold is not probability ½
const shifts = (values.shifts as string).split(',').map(Number);
const results: { shift: number; mean: number; matchedShare: number[] }[] = [];
for (const shift of shifts) {
  const cvMix: number[] = [];
  let sumM = 0;
  let sumMOk = 0;
  let sumN = 0;
  let sumNOk = 0;
  const next = mulberry32(Number(values.seed));
  const matchedShare = new Array<number>(rows.length).fill(0);
  for (let rep = 0; rep < repeats; rep++) {
    const order = rows.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    const pred = new Array<boolean>(rows.length).fill(false);
    for (let f = 0; f < folds; f++) {
      const test = order.filter((_, k) => k % folds === f);
      const train = order.filter((_, k) => k % folds !== f).map((i) => rows[i] as Row);
      const w = fitLogistic(train, l2);
      w[0] = (w[0] as number) + shift;
      for (const i of test) pred[i] = decide(w, rows[i] as Row);
    }
    pred.forEach((p, i) => {
      if (p) matchedShare[i] = (matchedShare[i] as number) + 1 / repeats;
    });
    const r = mix(pred, rows);
    cvMix.push(r.mix);
    sumM += r.m;
    sumMOk += r.mOk;
    sumN += r.n;
    sumNOk += r.nOk;
  }
  cvMix.sort((a, b) => a - b);
  const mean = cvMix.reduce((a, b) => a + b, 0) / cvMix.length;
  results.push({ shift, mean, matchedShare });
  console.log(
    `shift ${shift}: ${folds}-fold CV × ${repeats} (seed ${values.seed}, l2 ${l2}): 25/25 mix ${pct(mean)} (range ${pct(cvMix[0] as number)}–${pct(cvMix[cvMix.length - 1] as number)}); matches right ${pct(sumMOk / sumM)} of ${(sumM / repeats).toFixed(0)}, near-miss rejects right ${pct(sumNOk / sumN)} of ${(sumN / repeats).toFixed(0)}`,
  );
}
// the strictest shift within half a point of the best CV figure: a looser rule also matches more
// pairs by chance (eval traits' chance row), so a tie goes to the stricter rule
const top = Math.max(...results.map((r) => r.mean));
const byRule = results.filter((r) => r.mean >= top - 0.005).sort((a, b) => a.shift - b.shift)[0] as (typeof results)[number];
console.log(`shift by the rule: ${byRule.shift}: CV ${pct(byRule.mean)} (best ${pct(top)}; the strictest within 0.5 points; chosen on these CV figures, so a little optimistic)`);
const forced = values.shift === undefined ? undefined : results.find((r) => r.shift === Number(values.shift));
if (values.shift !== undefined && !forced) throw new Error(`--shift ${values.shift} is not among --shifts ${values.shifts}`);
const best = forced ?? byRule;
if (forced) console.log(`chosen shift ${best.shift} (--shift): CV ${pct(best.mean)}`);

// The random tune sample (--sample, drawn 41 + 41 from revision 5's strata by bench/fact-handcheck.ts) under the
// CV predictions of the chosen shift: how the strata of revision 5 move (expected counts over the repeats)
const sampleFile = values.sample as string;
const inSample = rows.map((r, i) => ({ r, p: best.matchedShare[i] as number })).filter((x) => x.r.file === sampleFile);
if (inSample.length) {
  const sumOf = (xs: typeof inSample, f: (x: (typeof inSample)[number]) => number) => xs.reduce((a, x) => a + f(x), 0);
  const was = (x: (typeof inSample)[number]) => x.r.wasRule === true;
  const oldM = inSample.filter(was);
  const oldN = inSample.filter((x) => !was(x));
  console.log(
    `${sampleFile} under CV predictions (expected counts): of revision 5's ${oldM.length} matches ${sumOf(oldM, (x) => x.p).toFixed(1)} stay matched, ${sumOf(oldM, (x) => x.p * (x.r.human ? 1 : 0)).toFixed(1)} of them right; of its ${oldN.length} near misses ${sumOf(oldN, (x) => x.p).toFixed(1)} become matches, ${sumOf(oldN, (x) => x.p * (x.r.human ? 1 : 0)).toFixed(1)} of them right, and ${sumOf(oldN, (x) => 1 - x.p).toFixed(1)} stay rejected, ${sumOf(oldN, (x) => (1 - x.p) * (x.r.human ? 0 : 1)).toFixed(1)} of them right`,
  );
}

// the committed model on the same pairs (in-sample: these pairs are development data)
const cur0 = [FACT_PARAPHRASE_MODEL.intercept, ...FACT_FEATURES.map((n) => FACT_PARAPHRASE_MODEL.coefficients[n])];
const committed = mix(
  rows.map((r) => decide(cur0, r)),
  rows,
);
console.log(
  `FACT_PARAPHRASE_MODEL as committed (in-sample): matches right ${committed.mOk}/${committed.m}, rejects right ${committed.nOk}/${committed.n}, mix ${pct(committed.mix)}`,
);

const w = fitLogistic(rows, l2);
w[0] = (w[0] as number) + best.shift;
const all = mix(
  rows.map((r) => decide(w, r)),
  rows,
);
console.log(`fitted on all ${rows.length} (in-sample): matches right ${all.mOk}/${all.m}, rejects right ${all.nOk}/${all.n}, mix ${pct(all.mix)}`);
const round = (x: number) => Math.round(x * 1000) / 1000;
console.log('\ncoefficients (paste into FACT_PARAPHRASE_MODEL; the intercept includes the shift):');
console.log(`  intercept: ${round(w[0] as number)},`);
console.log(`  coefficients: { ${FACT_FEATURES.map((n, i) => `${n}: ${round(w[i + 1] as number)}`).join(', ')} },`);
const cur = FACT_PARAPHRASE_MODEL;
const same = round(cur.intercept) === round(w[0] as number) && FACT_FEATURES.every((n, i) => round(cur.coefficients[n as keyof FactFeatures]) === round(w[i + 1] as number));
console.log(`\nFACT_PARAPHRASE_MODEL in src/eval/fact-paraphrase.ts ${same ? 'equals' : 'DIFFERS FROM'} this fit`);
