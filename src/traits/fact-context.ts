/**
 * How many free-form facts go into an LLM prompt (issue #15). A user can collect hundreds of facts;
 * the extractor's "current traits" context and the summary's numbered statements take a bounded
 * share of them: at most `maxFacts`, at most `maxTokens` (≈ 4 characters a token, as the signal
 * batches count), the most relevant first, then the most recent, then the most confident.
 * Relevance is the number of content words a fact shares with the text at hand (the signals being
 * read); without such a text the caller's own order is the relevance (the summary puts facts about
 * problems first for support).
 */

export interface FactContextLimits {
  maxFacts: number;
  maxTokens: number;
}

/** The extractor's context: enough for the model to see what it already knows, not the whole history. */
export const EXTRACT_FACT_LIMITS: FactContextLimits = { maxFacts: 20, maxTokens: 400 };
/** The summary: a few statements beside the typed traits. */
export const SUMMARY_FACT_LIMITS: FactContextLimits = { maxFacts: 5, maxTokens: 120 };

/** ≈ tokens of a line in a prompt (the budget rule of the signal batches: 4 characters a token). */
export const approxTokens = (s: string): number => Math.ceil(s.length / 4) + 1;

const STOP = new Set(
  (
    'i me my you your he she it we they them their a an the and or but so of at by for with from to in on into about as is are was were be been ' +
    'am do does did have has had not no this that these those there here what which who when where why how all any some very just also really ' +
    'too can could would will should like likes love loves get got go goes one lot lots much more most'
  ).split(' '),
);

/** Content words (lower case, naive singular) of a text. */
function contentWords(text: string): Set<string> {
  const out = new Set<string>();
  for (const w of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (w.length < 3 || STOP.has(w)) continue;
    out.add(w.length > 4 && w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w);
  }
  return out;
}

export interface CapOptions<T> {
  limits: FactContextLimits;
  /** the line the fact takes in the prompt (its tokens are counted) */
  line: (f: T) => string;
  /** ranks facts sharing more content words with this text first */
  query?: string;
  /** epoch ms the fact was stated (newer first among equally relevant ones) */
  recency?: (f: T) => number;
  confidence?: (f: T) => number;
}

/**
 * The facts to put in the prompt: ranked (relevance, recency, confidence; stable, so the caller's
 * order breaks ties), then taken in order while both the count and the token budget hold. A fact
 * that does not fit is skipped, and a shorter one after it may still fit.
 */
export function capFacts<T>(facts: readonly T[], o: CapOptions<T>): { kept: T[]; dropped: number; tokens: number } {
  const q = o.query ? contentWords(o.query) : null;
  const ranked = facts.map((f, i) => {
    let rel = 0;
    if (q) for (const w of contentWords(o.line(f))) if (q.has(w)) rel++;
    return { f, i, rel, at: o.recency?.(f) ?? 0, conf: o.confidence?.(f) ?? 0 };
  });
  ranked.sort((a, b) => b.rel - a.rel || b.at - a.at || b.conf - a.conf || a.i - b.i);
  const kept: T[] = [];
  let tokens = 0;
  for (const r of ranked) {
    if (kept.length >= o.limits.maxFacts) break;
    const t = approxTokens(o.line(r.f));
    if (tokens + t > o.limits.maxTokens) continue;
    kept.push(r.f);
    tokens += t;
  }
  return { kept, dropped: facts.length - kept.length, tokens };
}
