/**
 * Trait extraction on real chat text (PersonaChat / ConvAI2 validation speakers): each speaker's
 * utterances go through the normal ingest path into a temp SQLite file, the pipeline's trait stage
 * runs per user, and the current semantic traits are scored against the speaker's persona facts
 * with the matcher in traits-matcher.ts. Method and caveats: docs/eval-traits.md.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../core/config.ts';
import { ValidationError } from '../core/errors.ts';
import type { FactOp, Signal, TraitOp } from '../core/traits.ts';
import { openDb, type Db } from '../db/connection.ts';
import { sqliteStore } from '../db/store.ts';
import type { FeatureStore } from '../db/stores/features.ts';
import { ingestBatch } from '../ingest/ingest.ts';
import { assembleRuntime } from '../runtime/runtime.ts';
import { OfflineEmbedder } from '../providers/offline-embedder.ts';
import { extractOffline } from '../traits/offline-extractor.ts';
import { redactPii } from '../traits/redact.ts';
import { FactRule } from './fact-paraphrase.ts';
import { contentStems, factMentioned, MATCH_COSINE_THRESHOLD, semanticGate, TraitFactMatcher, traitPhrase, type MatchDecision } from './traits-matcher.ts';

export interface Speaker {
  user_id: string;
  dialog_id: number;
  role: string;
  persona: string[];
  utterances: string[];
}

export type TraitsEvalMode = 'offline' | 'llm-test-server';

export interface TraitsEvalOptions {
  /** speakers-dev.jsonl */
  data: string;
  /** first N speakers (after `offset`) */
  limit?: number;
  offset?: number;
  mode?: TraitsEvalMode;
  /** word-vector cache for the matcher's embedder (default TRAITLENS_CACHE_DIR or ./data/cache) */
  cacheDir?: string;
  /** speakers with an index below this are the tuning split, the rest held out (default 600) */
  splitAt?: number;
  /** TRAITLENS_EXTRACT_BATCH_TOKENS for the run */
  batchTokens?: number;
  /** keep every scored (trait, fact) pair in the report (for the hand check) */
  collectPairs?: boolean;
  keep?: boolean;
  onProgress?: (p: { phase: 'import' | 'extract' | 'score'; done: number; total: number }) => void;
}

export interface Figures {
  users: number;
  /** persona lines (the ground truth; "facts" in the PersonaChat sense) */
  facts: number;
  facts_mentioned: number;
  traits: number;
  recall: number;
  recall_mentioned: number;
  precision: number;
  traits_per_user: number;
  users_with_traits: number;
  /** typed traits and free-form facts (kind 'fact') together; the fields above are typed-only */
  with_facts: WithFactsFigures;
}

/** Typed traits plus extracted facts: a persona line is recovered when a trait or a fact matches it. */
export interface WithFactsFigures {
  /** extracted fact rows (kind 'fact') */
  extracted_facts: number;
  facts_per_user: number;
  /** extracted facts that match some persona line of their speaker (the rule for facts) */
  fact_precision: number;
  recall: number;
  recall_mentioned: number;
  /** (matched traits + matched facts) / (traits + facts) */
  precision: number;
}

export interface KeyFigures {
  extracted: number;
  matched: number;
  precision: number;
}

export interface ScoredPair {
  speaker: string;
  index: number;
  /** a fact pair has key 'fact' and the statement as value; its route is 'fact' */
  key: string;
  value: string | number | boolean;
  phrase: string;
  fact: string;
  match: boolean;
  route: MatchDecision['route'] | 'fact';
  cosine: number | null;
  reason: string;
  /** a fact pair's evidence quotes (what the speaker wrote) */
  quotes?: string[];
}

export interface TraitsEvalReport extends Figures {
  mode: TraitsEvalMode;
  data: string;
  matcher: { cosine_threshold: number; embedder: string };
  /** import (ingest) and extraction are timed separately */
  signals: number;
  import_seconds: number;
  extract_seconds: number;
  signals_per_second: number;
  per_key: Record<string, KeyFigures>;
  routes: { lexical: number; semantic: number };
  /** the same figures with each speaker's traits scored against another dialogue's speaker: the matcher's chance level */
  chance: { recall: number; precision: number; fact_recall: number; fact_precision: number };
  splits: { tune?: Figures; held_out?: Figures };
  split_at: number;
  /** calibration speakers (index < 100): 97.5th percentile of the best embedding-route cosine of a trait against another speaker's facts */
  calibration: { speakers: number; null_cosine_p975: number | null };
  llm?: LlmRunFigures;
  pairs?: ScoredPair[];
  work_dir: string | null;
}

export interface LlmRunFigures {
  note: string;
  calls: number;
  ok_calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  traits: number;
  rejected: Record<string, number>;
  /** every current trait's quotes found verbatim in the (redacted) text of the event it cites */
  all_traits_verified: boolean;
  unverified_traits: number;
  /** the same check for the current facts (kind 'fact') */
  facts: number;
  all_facts_verified: boolean;
  unverified_facts: number;
}

export function loadSpeakers(path: string): Speaker[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ValidationError(`cannot read ${path}: ${(err as Error).message}`);
  }
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      const s = JSON.parse(l) as Speaker;
      if (!Array.isArray(s.persona) || !Array.isArray(s.utterances) || typeof s.user_id !== 'string') throw new ValidationError(`${path}:${i + 1}: not a PersonaChat speaker line`);
      return s;
    });
}

const T0 = Date.UTC(2024, 0, 1);
const ratio = (a: number, b: number) => (b === 0 ? 0 : Math.round((a / b) * 10000) / 10000);

/** Events for one speaker: chat messages one minute apart, the speaker's block after the previous one. */
function speakerEvents(s: Speaker, index: number): unknown[] {
  return s.utterances.map((text, i) => ({
    userId: `pc-${s.user_id}`,
    type: 'chat_message',
    text,
    timestamp: T0 + index * 3_600_000 + i * 60_000,
    eventId: `pc-${s.user_id}-${i}`,
  }));
}

/**
 * The echo oracle for the LLM path: answers each request by running the offline extractor on the
 * signals it finds in the prompt, as one structured answer (prompt v2: trait operations and facts).
 */
export function echoOracleAnswer(prompt: string): { operations: TraitOp[]; facts: FactOp[] } {
  const signals: Signal[] = [];
  for (const m of prompt.matchAll(/^- id (\d+) \(([^)]*)\): (".*")$/gm)) {
    const text = JSON.parse(m[3] as string) as string;
    signals.push({ eventId: Number(m[1]), type: m[2] as string, text, ts: signals.length });
  }
  const r = extractOffline(signals, []);
  return { operations: r.ops, facts: r.facts };
}

interface UserResult {
  index: number;
  speaker: Speaker;
  traits: { key: string; value: string | number | boolean }[];
  /** statements of the user's current facts (kind 'fact') */
  facts: string[];
  /** their evidence, for the LLM run's quote check */
  factEvidence: { eventId: number; quote: string }[][];
}

export async function runTraitsEval(opts: TraitsEvalOptions): Promise<TraitsEvalReport> {
  const mode = opts.mode ?? 'offline';
  const splitAt = opts.splitAt ?? 600;
  const all = loadSpeakers(opts.data);
  const offset = opts.offset ?? 0;
  const speakers = all.slice(offset, opts.limit !== undefined ? offset + opts.limit : undefined);
  const dir = mkdtempSync(join(tmpdir(), 'traitlens-eval-traits-'));
  const db: Db = openDb(join(dir, 'eval.db'));
  type Server = Awaited<ReturnType<typeof import('../../test/support/openai-server.ts').startOpenAIServer>>;
  let server: Server | null = null;
  try {
    const env: Record<string, string> = { TRAITLENS_DB: join(dir, 'eval.db'), TRAITLENS_EMBEDDER: 'offline', TRAITLENS_WORKER: 'false' };
    if (opts.batchTokens) env.TRAITLENS_EXTRACT_BATCH_TOKENS = String(opts.batchTokens);
    if (mode === 'llm-test-server') {
      // The loopback server lives with the tests; loaded only for this mode so the CLI does not need it otherwise.
      const { startOpenAIServer } = await import('../../test/support/openai-server.ts');
      server = await startOpenAIServer({
        chatHandler: (body) => {
          const prompt = (body.messages ?? []).map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content))).join('\n');
          return { type: 'answer', data: echoOracleAnswer(prompt) };
        },
      });
      Object.assign(env, { OPENAI_BASE_URL: server.baseURL, OPENAI_CHAT_MODEL: 'test-model', OPENAI_TIMEOUT_MS: '10000' });
    }
    const config = loadConfig(env);
    const { pipeline } = assembleRuntime(sqliteStore(db), config, { embeddings: false });

    // Import through the normal ingest path, a few speakers per batch.
    const events = sqliteStore(db).events;
    const tImport = performance.now();
    let batch: unknown[] = [];
    for (const [i, s] of speakers.entries()) {
      batch.push(...speakerEvents(s, offset + i));
      if (batch.length >= 500 || i === speakers.length - 1) {
        const r = await ingestBatch(events, batch, { now: Date.now() });
        if (r.rejected > 0) throw new ValidationError(`ingest rejected ${r.rejected} PersonaChat events`);
        batch = [];
        opts.onProgress?.({ phase: 'import', done: i + 1, total: speakers.length });
      }
    }
    const importSeconds = (performance.now() - tImport) / 1000;

    // The trait stage per user, timed on its own.
    const results: UserResult[] = [];
    let extractMs = 0;
    let signals = 0;
    const rejected: Record<string, number> = {};
    for (const [i, s] of speakers.entries()) {
      const user = await sqliteStore(db).users.find(`pc-${s.user_id}`);
      if (!user) throw new ValidationError(`speaker ${s.user_id} was not imported`);
      const t = performance.now();
      const r = await pipeline.refreshUser(user.id);
      extractMs += performance.now() - t;
      signals += r.traits.signals;
      for (const [k, n] of Object.entries(r.traits.rejected)) rejected[k] = (rejected[k] ?? 0) + n;
      const traits = (await sqliteStore(db).traits.current(user.id, { kind: 'semantic' })).map((x) => ({ key: x.key, value: x.value as string | number | boolean }));
      const factRows = await sqliteStore(db).traits.current(user.id, { kind: 'fact' });
      const facts = factRows.map((x) => String(x.value));
      const factEvidence = factRows.map((x) => x.evidence.map((e) => ({ eventId: e.eventId, quote: e.quote })));
      results.push({ index: offset + i, speaker: s, traits, facts, factEvidence });
      if ((i + 1) % 50 === 0 || i === speakers.length - 1) opts.onProgress?.({ phase: 'extract', done: i + 1, total: speakers.length });
    }

    // Score.
    const embedder = new OfflineEmbedder({ cacheDir: opts.cacheDir ?? config.TRAITLENS_CACHE_DIR });
    const sif = await embedder.model();
    const matcher = new TraitFactMatcher((t) => sif.embed(t));
    // the rule for facts (revision 6: lexical routes + the calibrated paraphrase route over the same word vectors)
    const factRule = new FactRule(sif);
    const pairs: ScoredPair[] = [];
    const perKey: Record<string, KeyFigures> = {};
    const routes = { lexical: 0, semantic: 0 };
    const scored = results.map((u, n) => {
      const utt = new Set(u.speaker.utterances.flatMap((x) => contentStems(x)));
      const factHit = u.speaker.persona.map(() => false);
      const mentioned = u.speaker.persona.map((f) => factMentioned(f, utt));
      let traitsMatched = 0;
      for (const t of u.traits) {
        let any = false;
        for (const [fi, fact] of u.speaker.persona.entries()) {
          const d = matcher.match(t.key, t.value, fact);
          if (d.match) {
            factHit[fi] = true;
            if (!any && d.route) routes[d.route]++;
            any = true;
          }
          if (opts.collectPairs)
            pairs.push({
              speaker: u.speaker.user_id,
              index: u.index,
              key: t.key,
              value: t.value,
              phrase: traitPhrase(t.key, t.value),
              fact,
              match: d.match,
              route: d.route,
              cosine: d.cosine === null ? null : Math.round(d.cosine * 1000) / 1000,
              reason: d.reason,
            });
        }
        if (any) traitsMatched++;
        const k = (perKey[t.key] ??= { extracted: 0, matched: 0, precision: 0 });
        k.extracted++;
        if (any) k.matched++;
      }
      // Facts, by the rule for facts; a persona line is recovered by a trait or a fact.
      const anyHit = [...factHit];
      let factsMatched = 0;
      for (const [si, st] of u.facts.entries()) {
        let any = false;
        for (const [fi, fact] of u.speaker.persona.entries()) {
          const d = factRule.match(st, fact);
          if (d.match) {
            anyHit[fi] = true;
            any = true;
          }
          if (opts.collectPairs)
            pairs.push({
              speaker: u.speaker.user_id,
              index: u.index,
              key: 'fact',
              value: st,
              phrase: st,
              fact,
              match: d.match,
              route: d.match ? 'fact' : null,
              cosine: null,
              reason: d.reason,
              quotes: (u.factEvidence[si] ?? []).map((e) => e.quote),
            });
        }
        if (any) factsMatched++;
      }
      if ((n + 1) % 200 === 0) opts.onProgress?.({ phase: 'score', done: n + 1, total: results.length });
      return {
        index: u.index,
        facts: factHit.length,
        hit: factHit.filter(Boolean).length,
        mentioned: mentioned.filter(Boolean).length,
        hitMentioned: factHit.filter((h, i) => h && mentioned[i]).length,
        traits: u.traits.length,
        traitsMatched,
        extractedFacts: u.facts.length,
        factsMatched,
        hitAny: anyHit.filter(Boolean).length,
        hitAnyMentioned: anyHit.filter((h, i) => h && mentioned[i]).length,
      };
    });
    for (const k of Object.values(perKey)) k.precision = ratio(k.matched, k.extracted);

    const figures = (rows: typeof scored): Figures => {
      const sum = (f: (r: (typeof scored)[number]) => number) => rows.reduce((a, r) => a + f(r), 0);
      const facts = sum((r) => r.facts);
      const traits = sum((r) => r.traits);
      return {
        users: rows.length,
        facts,
        facts_mentioned: sum((r) => r.mentioned),
        traits,
        recall: ratio(
          sum((r) => r.hit),
          facts,
        ),
        recall_mentioned: ratio(
          sum((r) => r.hitMentioned),
          sum((r) => r.mentioned),
        ),
        precision: ratio(
          sum((r) => r.traitsMatched),
          traits,
        ),
        traits_per_user: ratio(traits, rows.length),
        users_with_traits: rows.filter((r) => r.traits > 0).length,
        with_facts: {
          extracted_facts: sum((r) => r.extractedFacts),
          facts_per_user: ratio(
            sum((r) => r.extractedFacts),
            rows.length,
          ),
          fact_precision: ratio(
            sum((r) => r.factsMatched),
            sum((r) => r.extractedFacts),
          ),
          recall: ratio(
            sum((r) => r.hitAny),
            facts,
          ),
          recall_mentioned: ratio(
            sum((r) => r.hitAnyMentioned),
            sum((r) => r.mentioned),
          ),
          precision: ratio(
            sum((r) => r.traitsMatched + r.factsMatched),
            traits + sum((r) => r.extractedFacts),
          ),
        },
      };
    };

    // Chance level: speaker i's traits against the facts of speaker i+10 (another dialogue).
    const SHIFT = 10;
    let chanceFacts = 0;
    let chanceHit = 0;
    let chanceTraits = 0;
    let chanceMatched = 0;
    const nullCos: number[] = [];
    let chanceFactItems = 0;
    let chanceFactMatched = 0;
    let chanceFactHit = 0;
    if (results.length > SHIFT) {
      for (const [n, u] of results.entries()) {
        const other = (results[(n + SHIFT) % results.length] as UserResult).speaker.persona;
        const hit = other.map(() => false);
        const factHitOther = other.map(() => false);
        for (const st of u.facts) {
          let any = false;
          for (const [fi, fact] of other.entries())
            if (factRule.match(st, fact).match) {
              factHitOther[fi] = true;
              any = true;
            }
          chanceFactItems++;
          if (any) chanceFactMatched++;
        }
        chanceFactHit += factHitOther.filter(Boolean).length;
        for (const t of u.traits) {
          let any = false;
          let best = -1;
          for (const [fi, fact] of other.entries()) {
            if (matcher.match(t.key, t.value, fact).match) {
              hit[fi] = true;
              any = true;
            }
            const c = matcher.similarity(t.key, t.value, fact) ?? -1;
            if (!semanticGate(t.key, t.value, fact)) best = Math.max(best, c);
          }
          chanceTraits++;
          if (any) chanceMatched++;
          if (u.index < 100) nullCos.push(best);
        }
        chanceFacts += other.length;
        chanceHit += hit.filter(Boolean).length;
      }
    }
    nullCos.sort((a, b) => a - b);
    const p975 = nullCos.length ? (nullCos[Math.min(nullCos.length - 1, Math.floor(nullCos.length * 0.975))] as number) : null;

    const tune = scored.filter((r) => r.index < splitAt);
    const held = scored.filter((r) => r.index >= splitAt);
    const report: TraitsEvalReport = {
      mode,
      data: opts.data,
      ...figures(scored),
      matcher: { cosine_threshold: MATCH_COSINE_THRESHOLD, embedder: embedder.id },
      signals,
      import_seconds: Math.round(importSeconds * 100) / 100,
      extract_seconds: Math.round(extractMs / 10) / 100,
      signals_per_second: Math.round(signals / (extractMs / 1000)),
      per_key: Object.fromEntries(Object.entries(perKey).sort((a, b) => b[1].extracted - a[1].extracted)),
      routes,
      chance: {
        recall: ratio(chanceHit, chanceFacts),
        precision: ratio(chanceMatched, chanceTraits),
        fact_recall: ratio(chanceFactHit, chanceFacts),
        fact_precision: ratio(chanceFactMatched, chanceFactItems),
      },
      splits: { ...(tune.length ? { tune: figures(tune) } : {}), ...(held.length ? { held_out: figures(held) } : {}) },
      split_at: splitAt,
      calibration: { speakers: results.filter((u) => u.index < 100).length, null_cosine_p975: p975 === null ? null : Math.round(p975 * 1000) / 1000 },
      work_dir: opts.keep ? dir : null,
      ...(opts.collectPairs ? { pairs } : {}),
    };
    if (mode === 'llm-test-server')
      report.llm = await llmFigures(
        sqliteStore(db).features,
        results.reduce((a, u) => a + u.traits.length, 0),
        rejected,
        results.flatMap((u) => u.factEvidence),
      );
    return report;
  } finally {
    await server?.close();
    db.close();
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
}

async function llmFigures(features: FeatureStore, traits: number, rejected: Record<string, number>, factEvidence: { eventId: number; quote: string }[][]): Promise<LlmRunFigures> {
  const u = await features.llmCallTotals();
  // Re-check every current trait's and fact's evidence ourselves, independently of merge.
  const rows = (await features.semanticEvidence()).map((e) => JSON.parse(e) as { eventId: number; quote: string }[]);
  const texts = await features.eventTexts([...rows, ...factEvidence].flatMap((ev) => ev.map((e) => e.eventId)));
  const verified = (ev: { eventId: number; quote: string }[]) =>
    ev.length > 0 &&
    ev.every((e) => {
      const t = texts.get(e.eventId);
      return t !== undefined && redactPii(t).text.includes(e.quote);
    });
  const unverified = rows.filter((ev) => !verified(ev)).length;
  const unverifiedFacts = factEvidence.filter((ev) => !verified(ev)).length;
  return {
    note: 'echo oracle: the loopback server answers with the offline extractor run on the signals in the prompt. This proves the client, prompt, structured output, verification and merge end to end; it is not a measure of any model’s quality.',
    calls: u.calls,
    ok_calls: u.ok,
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    traits,
    rejected,
    all_traits_verified: unverified === 0 && rows.length === traits,
    unverified_traits: unverified,
    facts: factEvidence.length,
    all_facts_verified: unverifiedFacts === 0,
    unverified_facts: unverifiedFacts,
  };
}

// ---------------------------------------------------------------------------------------------
// Command line: `bench/eval-traits.ts` and `traitlens eval traits` share this.

export interface TraitsEvalArgs extends TraitsEvalOptions {
  json: boolean;
  /** write every scored (trait or fact, persona line) pair as JSON lines to this file (the hand check samples from it) */
  pairsOut?: string;
}

export function parseTraitsEvalArgs(argv: string[]): TraitsEvalArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      limit: { type: 'string' },
      offset: { type: 'string' },
      mode: { type: 'string', default: 'offline' },
      'cache-dir': { type: 'string' },
      'split-at': { type: 'string' },
      'batch-tokens': { type: 'string' },
      json: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      'pairs-out': { type: 'string' },
    },
    strict: true,
  });
  if (!values.data) throw new ValidationError('--data FILE is required (e.g. ../shared/datasets/personachat/speakers-dev.jsonl)');
  if (values.mode !== 'offline' && values.mode !== 'llm-test-server') throw new ValidationError('--mode must be offline or llm-test-server');
  const int = (name: string, v: string | undefined, min: number): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new ValidationError(`--${name} must be an integer ≥ ${min}`);
    return n;
  };
  const out: TraitsEvalArgs = { data: values.data, mode: values.mode, json: values.json ?? false, keep: values.keep ?? false };
  const limit = int('limit', values.limit, 1);
  const offset = int('offset', values.offset, 0);
  const splitAt = int('split-at', values['split-at'], 0);
  const batchTokens = int('batch-tokens', values['batch-tokens'], 100);
  if (limit !== undefined) out.limit = limit;
  if (offset !== undefined) out.offset = offset;
  if (splitAt !== undefined) out.splitAt = splitAt;
  if (batchTokens !== undefined) out.batchTokens = batchTokens;
  if (values['cache-dir']) out.cacheDir = values['cache-dir'];
  if (values['pairs-out']) {
    out.pairsOut = values['pairs-out'];
    out.collectPairs = true;
  }
  return out;
}

export function formatTraitsEvalReport(r: TraitsEvalReport): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const line = (name: string, f: Figures) =>
    `${name.padEnd(9)} users ${String(f.users).padStart(5)}  typed: recall ${pct(f.recall).padStart(7)}  recall(mentioned) ${pct(f.recall_mentioned).padStart(7)}  precision ${pct(f.precision).padStart(7)}  traits/user ${f.traits_per_user.toFixed(2)}\n` +
    `${''.padEnd(21)}typed+facts: recall ${pct(f.with_facts.recall).padStart(7)}  recall(mentioned) ${pct(f.with_facts.recall_mentioned).padStart(7)}  precision ${pct(f.with_facts.precision).padStart(7)}  facts/user ${f.with_facts.facts_per_user.toFixed(2)}  fact precision ${pct(f.with_facts.fact_precision)}`;
  const out = [
    `trait evaluation (${r.mode}) on ${r.data}`,
    `facts ${r.facts}, of which mentioned in the utterances ${r.facts_mentioned}; traits ${r.traits}; users with traits ${r.users_with_traits}/${r.users}`,
    line('all', r),
    ...(r.splits.tune ? [line('tune', r.splits.tune)] : []),
    ...(r.splits.held_out ? [line('held-out', r.splits.held_out)] : []),
    `chance level (vs another dialogue's persona): traits recall ${pct(r.chance.recall)}, precision ${pct(r.chance.precision)}; facts recall ${pct(r.chance.fact_recall)}, precision ${pct(r.chance.fact_precision)}`,
    `matcher: lexical ${r.routes.lexical}, semantic ${r.routes.semantic} matched traits; cosine threshold ${r.matcher.cosine_threshold} (${r.matcher.embedder}); calibration null p97.5 ${r.calibration.null_cosine_p975 ?? 'n/a'} on ${r.calibration.speakers} speakers`,
    `throughput: ${r.signals} signals extracted in ${r.extract_seconds.toFixed(2)} s = ${r.signals_per_second} signals/s (import ${r.import_seconds.toFixed(2)} s, timed apart)`,
    'per key:        extracted  matched  precision',
    ...Object.entries(r.per_key).map(([k, v]) => `  ${k.padEnd(18)} ${String(v.extracted).padStart(6)} ${String(v.matched).padStart(8)}  ${pct(v.precision).padStart(8)}`),
  ];
  if (r.llm) {
    out.push(
      `LLM path: ${r.llm.calls} calls (${r.llm.ok_calls} ok), ${r.llm.prompt_tokens} prompt + ${r.llm.completion_tokens} completion tokens; ${r.llm.traits} traits; every trait verified: ${r.llm.all_traits_verified ? 'yes' : `NO (${r.llm.unverified_traits} not)`}; ${r.llm.facts} facts, every fact verified: ${r.llm.all_facts_verified ? 'yes' : `NO (${r.llm.unverified_facts} not)`}; rejected ${JSON.stringify(r.llm.rejected)}`,
      `NOTE: ${r.llm.note}`,
    );
  }
  return out.join('\n');
}

/** Runs the evaluation from arguments; returns the exit code. */
export async function traitsEvalMain(
  argv: string[],
  io: { out: (s: string) => void; err: (s: string) => void } = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) },
): Promise<number> {
  let args: TraitsEvalArgs;
  try {
    args = parseTraitsEvalArgs(argv);
  } catch (err) {
    io.err(`${(err as Error).message}\n`);
    return 2;
  }
  const { json, pairsOut, ...opts } = args;
  const report = await runTraitsEval({
    ...opts,
    onProgress: json ? undefined : (p) => io.err(`\r${p.phase} ${p.done}/${p.total}   `),
  });
  if (pairsOut && report.pairs) {
    writeFileSync(pairsOut, report.pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
    delete report.pairs;
  }
  if (!json) io.err('\n');
  io.out(json ? `${JSON.stringify(report)}\n` : `${formatTraitsEvalReport(report)}\n`);
  return 0;
}
