/**
 * The offline trait extractor: no key, no network. Patterns over first-person clauses, word lists
 * (lexicon.ts) and wink-nlp (sentiment for reviews/support, POS + lemma to vet open-vocabulary
 * interest values) turn signals into the same evidence-backed TraitOps the LLM path produces.
 *
 * Precision first: a clause only yields traits when the speaker states them about themselves
 * ("i ...", "i'm ...", "my dog"), in the present, not as a question, hypothetical or negation.
 * Negated statements become retractions when the user already has that trait. Signal text is
 * expected to be redacted already (redact.ts); quotes are verbatim slices of it.
 */
import { createRequire } from 'node:module';
import { type CurrentTrait, type FactOp, normaliseStatement, type Signal, type TraitEvidence, type TraitOp, type TraitValue } from '../core/traits.ts';
import { BUILT_IN_CATALOGUE, isValidValue, type Catalogue } from './catalogue.ts';
import { dropSensitive, emptySensitiveCounts, sensitiveCategoryOf, type SensitiveCategory, type SensitiveOptions } from './sensitive.ts';
import { aspirationFromClause, contentWords, factFromClause, type FactSkip } from './offline-facts.ts';
import { AMBIGUOUS_GENRES, INTEREST_VOCAB } from './interest-vocab.ts';
import { ACTIVITY_VERBS, FAMILY_WORDS, FARM_PETS, KNOWN_PLACES, LANGUAGES, LIGHT_VERBS, OCCUPATIONS, PETS, TOPICS, WEAK_SEARCH_FORMS, singular } from './lexicon.ts';

export const OFFLINE_EXTRACTOR = 'offline-extractor';
export const OFFLINE_EXTRACTOR_VERSION = '1.4.2';

// ---------------------------------------------------------------------------------------------
// wink-nlp, loaded once on first use (the model takes ~100 ms and a few MB; many callers never
// need it). createRequire keeps the load synchronous so extractOffline stays a plain function.

interface WinkCollection {
  out(f?: unknown): unknown;
}
interface WinkDoc {
  out(f?: unknown): unknown;
  tokens(): WinkCollection;
}
interface Wink {
  nlp: { readDoc(text: string): WinkDoc };
  its: { sentiment: unknown; pos: unknown; lemma: unknown; value: unknown };
}
let wink: Wink | null = null;
function getWink(): Wink {
  if (!wink) {
    const require = createRequire(import.meta.url);
    // wink-nlp's own typings describe the ESM default export; through require() we get the CJS
    // function, so we narrow it to the few members we call (typed in WinkDoc above).
    const winkNLP = require('wink-nlp') as (model: unknown) => { readDoc(t: string): WinkDoc; its: Wink['its'] };
    const model: unknown = require('wink-eng-lite-web-model');
    const nlp = winkNLP(model);
    wink = { nlp, its: nlp.its };
  }
  return wink;
}

// ---------------------------------------------------------------------------------------------
// Public types

export interface ExtractOptions {
  catalogue?: Catalogue;
  /** sensitive categories explicitly allowed; none by default */
  sensitive?: SensitiveOptions;
  /** max evidence items kept per op (most confident first) */
  maxEvidence?: number;
  /** free-form facts for self-disclosures no catalogue key covers (default true) */
  facts?: boolean;
}

export interface ExtractStats {
  signals: number;
  clauses: number;
  candidates: number;
  ops: number;
  skipped: { injection: number; question: number; hypothetical: number; negated: number; empty: number };
  droppedSensitive: Record<SensitiveCategory, number>;
  droppedInvalid: number;
  /** single-valued candidates that lost to another value in the same call */
  superseded: number;
  /** fact statements kept (after dedupe) and clauses that were not facts, by reason */
  facts: number;
  factSkipped: Record<FactSkip, number>;
  ms: number;
}

export interface ExtractResult {
  ops: TraitOp[];
  /** self-disclosures no typed trait covers, as free-form facts (FactOp in core/traits.ts) */
  facts: FactOp[];
  stats: ExtractStats;
  producer: typeof OFFLINE_EXTRACTOR;
  version: typeof OFFLINE_EXTRACTOR_VERSION;
}

/** One finding before aggregation: a value with one piece of evidence. */
interface Candidate {
  key: string;
  value: TraitValue;
  confidence: number;
  evidence: TraitEvidence;
  ts: number;
  /** true: the user said this is NOT the case (a retraction if the trait exists) */
  negative?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Text helpers

const SEARCH_TYPES = new Set(['search', 'search_query', 'query']);
const SUPPORT_TYPES = new Set(['support_ticket', 'support_message', 'support', 'ticket', 'complaint']);
const REVIEW_TYPES = new Set(['review', 'product_review', 'rating']);

const INJECTION_RE =
  /\b(?:ignore|disregard|forget|override|bypass)\b[^.!?\n]{0,40}\b(?:instructions?|prompts?|rules|guidelines|system|above|previous|prior)\b|\b(?:system prompt|developer mode|jailbreak|do anything now|you are now|act as (?:an? )?(?:ai|assistant|admin|system)|new instructions?|prompt injection)\b|\b(?:mark|set|flag|tag|label|classify|record|register|list|treat|make)\s+(?:me|my (?:account|profile))\s+as\b|\b(?:assistant|system|user)\s*:|<\|[a-z_]+\|>|\[\/?(?:inst|sys)\]/i;

const QUESTION_START_RE =
  /^(?:(?:so|and|but|well|ok|okay|hey|hi|oh)\s*,?\s+)?(?:do|does|did|are|is|can|could|would|will|have|has|should|what|which|who|whom|whose|where|when|why|how|am|were|was|may|shall)\b(?!\s*n't)/;
const HYPOTHETICAL_RE =
  /\b(?:if|would|could|might|wish|wishes|wanna be|want to be|wants to be|hope to|hoping to|dream|dreams|dreaming|someday|some day|one day|suppose|imagine|pretend|maybe i'll|thinking about|thinking of|plan to|planning to|going to be|gonna be|when i grow up|i'd|i'll|should|rather be)\b/;
// Preference statements use the conditional mood but state a fact about the user.
const PREFERENCE_RE = /\b(?:i'd|i would)\s+(?:prefer|rather)\b/;
const NEGATION_RE =
  /\b(?:not|never|no longer|don't|dont|do not|doesn't|didn't|isn't|aren't|ain't|wasn't|weren't|can't|cant|cannot|won't|haven't|hasn't|nor|neither|hardly|nobody|none|no)\b|n't\b/;
const HEDGE_RE = /\b(?:i think|i guess|maybe|probably|kind of|kinda|sort of|i suppose|perhaps|i believe|pretty sure)\b/;
const INTERJECTION_RE =
  /^(?:(?:no|nope|yes|yeah|yep|yup|well|oh|ah|lol|haha+|hi|hey|hello|wow|ok|okay|sure|cool|nice|great|awesome|really|right|true|same|me too|exactly|agreed|thanks|thank you|good|oh wow|sounds (?:fun|good|great)|that's (?:cool|great|nice|awesome))\s*[,!.]*\s+)+/;

/** Normalise for matching, keeping string length so offsets stay valid. */
function lower(s: string): string {
  // toLowerCase can change length for a few code points (e.g. İ); fall back to ASCII-only then.
  const l = s.toLowerCase().replace(/[\u2018\u2019\u02bc]/g, "'");
  return l.length === s.length ? l : s.replace(/[A-Z]/g, (c) => c.toLowerCase()).replace(/[\u2018\u2019\u02bc]/g, "'");
}

interface Span {
  start: number;
  end: number;
}

/** Sentences: split after . ! ? (runs) followed by space/end, and at newlines. */
function sentences(text: string): Span[] {
  const out: Span[] = [];
  let start = 0;
  // Walk terminators manually: decimals ("3.5") and abbreviations without a following space stay inside.
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') {
      push(start, i);
      start = i + 1;
    } else if (c === '.' || c === '!' || c === '?') {
      let j = i;
      while (j + 1 < text.length && '.!?'.includes(text[j + 1] as string)) j++;
      if (j + 1 >= text.length || /\s/.test(text[j + 1] as string)) {
        push(start, j + 1);
        start = j + 1;
      }
      i = j;
    }
  }
  push(start, text.length);
  return out;
  function push(s: number, e: number) {
    while (s < e && /\s/.test(text[s] as string)) s++;
    while (e > s && /\s/.test(text[e - 1] as string)) e--;
    if (e > s) out.push({ start: s, end: e });
  }
}

const CLAUSE_SPLIT_RE =
  /\s*(?:;|\bbut\b|\balthough\b|\bthough\b|\bhowever\b|\bwhereas\b|,?\s+and\s+(?=(?:i|i'm|i've|im|my|we|we're)\b)|,\s*(?=(?:i|i'm|i've|im|my|we|we're)\b(?!\s*,))|(?<=\b(?:cool|great|fun|nice|awesome|interesting|good|amazing|neat|sweet|wonderful|lol|haha|funny|exciting|wow|ok|okay|yes|yeah|hi|hello|hey|thanks|here|too|well|sad|bad|crazy|true)\b)\s+(?=(?:i|i'm|i've|im|my)\s+[a-z]))\s*/g;

/** Clauses inside a sentence; "as a teacher, i ..." is kept whole (the role introduces the clause). */
function clauses(lc: string, s: Span): Span[] {
  const part = lc.slice(s.start, s.end);
  if (/^\W*as an? [a-z ]{2,40},\s*i\b/.test(part)) return [s];
  const out: Span[] = [];
  let last = 0;
  CLAUSE_SPLIT_RE.lastIndex = 0;
  for (let m = CLAUSE_SPLIT_RE.exec(part); m; m = CLAUSE_SPLIT_RE.exec(part)) {
    if (m[0].length === 0) {
      CLAUSE_SPLIT_RE.lastIndex++;
      continue;
    }
    if (m.index > last) out.push({ start: s.start + last, end: s.start + m.index });
    last = m.index + m[0].length;
  }
  if (last < part.length) out.push({ start: s.start + last, end: s.end });
  // A compound subject is not a clause: "my husband and i love hiking" stays whole.
  const merged: Span[] = [];
  for (const c of out) {
    const prev = merged.at(-1);
    if (prev && /^(?:(?:my|our)\s+[a-z'-]+(?:\s+[a-z'-]+)?|me)$/.test(lc.slice(prev.start, prev.end).trim())) prev.end = c.end;
    else merged.push({ ...c });
  }
  return merged.filter((c) => c.end > c.start);
}

function trimSpan(text: string, s: Span): Span {
  let { start, end } = s;
  while (start < end && /[\s,;:\-–—]/.test(text[start] as string)) start++;
  while (end > start && /[\s,;:\-–—]/.test(text[end - 1] as string)) end--;
  return { start, end };
}

const FIRST_PERSON_START_RE = /^(?:i|i'm|i am|im|i've|i have)\b/;
// Verbs that start a new predicate of the same "i" ("... and love hiking", "... and have two dogs").
const ELIDED_RE = /\s*,?\s+and\s+(?=(?:also\s+|really\s+|still\s+|now\s+)?(?:love|loves|like|enjoy|adore|have|own|play|work|live|go|am|'m|teach|volunteer|speak)\b)/g;

/**
 * Splits "i am a nurse and love hiking" into ["i am a nurse", "i love hiking"]: PersonaChat (and
 * people) drop the repeated "i". Only when the clause itself starts with "i", and not across a
 * relative clause ("i have a son who ... and likes"), so another subject is never promoted to "i".
 */
function elidedSubjectParts(s: string): string[] {
  if (!FIRST_PERSON_START_RE.test(s)) return [s];
  const out: string[] = [];
  let last = 0;
  ELIDED_RE.lastIndex = 0;
  for (let m = ELIDED_RE.exec(s); m; m = ELIDED_RE.exec(s)) {
    const before = s.slice(last, m.index);
    if (/\b(?:who|which|that|he|she|they|it|you|whose)\b/.test(before)) break;
    out.push(before);
    last = m.index + m[0].length;
  }
  if (out.length === 0) return [s];
  const rest = s.slice(last);
  out.push(`i ${rest.replace(/^(?:also|really|still|now)\s+/, '')}`.replace(/^i 'm\b/, "i'm"));
  return out.map((x) => x.trim()).filter(Boolean);
}

const ELIDED_START_RE =
  /^(?:also\s+|really\s+|just\s+|totally\s+)?(?:(?:love|enjoy|adore)\s+(?!you\b|u\b|it\b|that\b|this\b|ya\b|them\b|him\b|her\b)|(?:grew up|was born|was raised|moved|broke up|got married|got divorced|retired|graduated|work at|work in|work as|work for|live in|live on|live near|live with|drive a|drive an|own a|own an|volunteer at|volunteer with|teach at)\s+(?!you\b|u\b|it\b|that\b|this\b|there\b|here\b)[a-z0-9])/;
const ELIDED_AFTER_I_RE = /^(?:also\s+|really\s+|still\s+)?(?:like|have|own|play|work|live|am|'m)\s/;
const QUESTION_TAIL_RE = /,\s*(?:(?:and|so|but|well|ok|okay)\s+)?(?=(?:what|how|do|does|did|are|is|can|could|would|will|have|has|where|who|why|which|when|any|you|u)\b)/g;

/** Start of a trailing question after a statement ("i'm a nurse , how about you ?"), or 0. */
function questionTailStart(sl: string): number {
  let at = 0;
  QUESTION_TAIL_RE.lastIndex = 0;
  for (let m = QUESTION_TAIL_RE.exec(sl); m; m = QUESTION_TAIL_RE.exec(sl)) {
    if (m[0].length === 0) {
      QUESTION_TAIL_RE.lastIndex++;
      continue;
    }
    at = m.index;
  }
  return at > 0 && words(sl.slice(0, at)).length >= 2 ? at : 0;
}

// Where a negated part starts: a comma or conjunction between the statement and the negator.
const NEG_SCOPE_BOUNDARY_RE = /\s*(?:,|\b(?:so|because|cause|cuz|since|and|when|as|which|that|while|then|though|except)\b)\s*/g;

/** Index where the negation's scope begins: 0 (the whole clause) unless a boundary precedes the negator. */
function negationScopeStart(s: string, negAt: number): number {
  let cut = 0;
  NEG_SCOPE_BOUNDARY_RE.lastIndex = 0;
  for (let m = NEG_SCOPE_BOUNDARY_RE.exec(s); m && m.index < negAt; m = NEG_SCOPE_BOUNDARY_RE.exec(s)) {
    if (m[0].length === 0) {
      NEG_SCOPE_BOUNDARY_RE.lastIndex++;
      continue;
    }
    cut = m.index;
  }
  // The kept part must be a statement of its own: "i don't ..." has nothing before the negator.
  return cut > 0 && words(s.slice(0, cut)).length >= 2 ? cut : 0;
}

/** Removes negators so the positive patterns can recognise what is being denied. */
function deNegate(lc: string): string {
  return lc
    .replace(/\b(do|does|did|is|are|was|were|ca|wo|have|has)n't\b/g, (_m, v: string) => (v === 'ca' ? 'can' : v === 'wo' ? 'will' : v))
    .replace(/\b(?:dont)\b/g, 'do')
    .replace(/\bcan ?not\b/g, 'can')
    .replace(/\b(?:not|never|no longer|hardly)\s+/g, '')
    .replace(/\b(have|own|eat|got)\s+no\s+/g, '$1 ')
    .replace(/\s+/g, ' ');
}

// ---------------------------------------------------------------------------------------------
// Lexicon indexes (built once)

function buildIndex(src: Readonly<Record<string, readonly string[]>>): Map<string, string> {
  const m = new Map<string, string>();
  for (const [canon, forms] of Object.entries(src)) for (const f of forms) if (!m.has(f)) m.set(f, canon);
  return m;
}
const TOPIC_INDEX = buildIndex(TOPICS);
const OCC_INDEX = buildIndex(OCCUPATIONS);
const PET_INDEX = buildIndex(PETS);
const LANG_SET = new Set(LANGUAGES);
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const byLengthDesc = (a: string, b: string) => b.length - a.length;
const TOPIC_SCAN_RE = new RegExp(`(?<![\\p{L}\\p{N}])(?:${[...TOPIC_INDEX.keys()].sort(byLengthDesc).map(escapeRe).join('|')})(?![\\p{L}\\p{N}])`, 'gu');
const PET_ALT = [...PET_INDEX.keys()].sort(byLengthDesc).map(escapeRe).join('|');

const STOP_VALUES = new Set([
  'it',
  'that',
  'this',
  'them',
  'you',
  'him',
  'her',
  'those',
  'these',
  'everything',
  'anything',
  'something',
  'nothing',
  'one',
  'mine',
  'yours',
  'what',
  'how',
  'when',
  'where',
  'too',
  'lol',
  'here',
  'there',
  'people',
  'idea',
  'way',
  'being',
  'thing',
  'things',
  'stuff',
  'lot',
  'much',
  'more',
  'most',
  'all',
  'both',
  'either',
  'none',
  'life',
  'day',
  'time',
  'job',
  'work',
  'name',
  'sound',
  'color',
  'colour',
  'weather',
  'hear',
  'see',
  'know',
  'think',
  'help',
  'say',
  'talk',
  'chat',
  'meet',
  'bit',
  'kind',
  'sort',
  'type',
  'us',
  'we',
  'me',
  'myself',
  'home',
  'house',
  'place',
  'city',
  'town',
  'country',
  'area',
  'school',
  'morning',
  'night',
  'today',
  'tonight',
  'weekend',
  'weekends',
  'summer',
  'winter',
  'fall',
  'spring',
  'year',
  'years',
  'week',
  'month',
  'hour',
  'hours',
  'question',
  'answer',
  'point',
  'fact',
  'part',
  'well',
  'better',
  'best',
  'way too',
  'ya',
  'u',
  'yall',
  'y',
  'money',
  'go',
  'get',
  'do',
  'be',
  'have',
  'make',
  'keep',
  'stay',
  'live',
  'eat',
  'drink',
  'sleep',
  'relax',
  'rest',
  'fun',
  'bed',
  'living',
  'having',
  'getting',
  'doing',
  'going',
  'working',
  'making',
  'talking',
  'hearing',
  'seeing',
  'knowing',
  'meeting',
  'feeling',
  'thinking',
  'trying',
  'waiting',
  'helping',
  'sleeping',
  'staying',
  'sitting',
  'relaxing',
  'chatting',
  'learning',
  'spending',
  'taking',
  'keeping',
  'crowd',
  'challenge',
  'change',
  'sound',
  'idea',
  'name',
  'show',
  'one',
  'ones',
  'kid',
  'everyone',
  'anyone',
  'someone',
  'nobody',
  'company',
  'attention',
]);
const FILLER_WORDS = new Set([
  'to',
  'the',
  'a',
  'an',
  'some',
  'good',
  'great',
  'nice',
  'really',
  'also',
  'just',
  'all',
  'lots',
  'lot',
  'of',
  'kinds',
  'kind',
  'sorts',
  'types',
  'type',
  'different',
  'any',
  'most',
  'many',
  'various',
  'most',
  'especially',
  'particularly',
  'mostly',
  'usually',
  'always',
  'still',
  'very',
  'so',
  'too',
  'totally',
  'absolutely',
  'actually',
  'do',
  'fresh',
  'old',
  'new',
  'big',
  'little',
  'cool',
  'fun',
  'awesome',
  'amazing',
  'fancy',
  'cheap',
  'classic',
  'real',
  'true',
  'go',
  'going',
  'out',
  'own',
]);
const BOUNDARY_WORDS = new Set([
  'with',
  'in',
  'at',
  'on',
  'for',
  'from',
  'because',
  'when',
  'while',
  'but',
  'so',
  'since',
  'if',
  'than',
  'that',
  'who',
  'which',
  'and',
  'or',
  'as',
  'by',
  'about',
  'every',
  'each',
  'to',
  'like',
  'after',
  'before',
  'during',
  'until',
  'whenever',
  'where',
  'though',
  'although',
  'lol',
  'haha',
  'too',
  'now',
  'a',
  'an',
  'the',
  'my',
  'your',
  'his',
  'her',
  'our',
  'their',
  'is',
  'are',
  'was',
  'were',
  'be',
  'i',
  'it',
  'very',
  'much',
  'more',
  'most',
  'all',
  'day',
  'days',
  'time',
  'times',
  'alot',
  'lot',
  'sometimes',
  'often',
  'daily',
  'weekly',
  'outside',
  'inside',
  'around',
  'there',
  'here',
  'together',
  'best',
  'better',
  'also',
  'either',
  'anymore',
  'though',
  'really',
  'what',
  'how',
  'this',
  'that',
  'those',
  'these',
  'them',
  'me',
  'you',
  'we',
  'they',
  'he',
  'she',
  'him',
  'us',
  'just',
  'even',
  'ever',
  'again',
]);

function words(s: string): string[] {
  return s.match(/[a-z0-9]+(?:[-'][a-z0-9]+)*/g) ?? [];
}

/** Topic from a phrase by the longest lexicon form found in it. */
function topicIn(phrase: string): string | null {
  TOPIC_SCAN_RE.lastIndex = 0;
  let best: string | null = null;
  for (let m = TOPIC_SCAN_RE.exec(phrase); m; m = TOPIC_SCAN_RE.exec(phrase)) if (!best || m[0].length > best.length) best = m[0];
  return best ? (TOPIC_INDEX.get(best) ?? null) : null;
}

/** Occupation from a noun phrase: the longest lexicon form at its tail. */
function occupationIn(np: string[]): string | null {
  for (let n = Math.min(4, np.length); n >= 1; n--) {
    const tail = np.slice(np.length - n).join(' ');
    const hit = OCC_INDEX.get(tail) ?? OCC_INDEX.get(singular(tail));
    if (hit) return hit;
  }
  return null;
}

/** Up to `max` words after `from`, stopping at boundary words/punctuation. */
function phraseWords(lcTail: string, max: number, boundaries: ReadonlySet<string> = BOUNDARY_WORDS): string[] {
  const cut = lcTail.split(/[,.;:!?()"]/)[0] ?? '';
  const out: string[] = [];
  for (const w of words(cut)) {
    if (boundaries.has(w)) break;
    out.push(w);
    if (out.length >= max) break;
  }
  return out;
}

/**
 * Open-vocabulary interest value from a complement ("to go hiking with my dogs", "vintage cars",
 * "reading journals"). Lexicon topics first; otherwise a short noun phrase vetted by wink's POS
 * (must end in a noun) and singularised.
 */
function interestValues(complement: string): string[] {
  const values: string[] = [];
  // Lists: "hiking, cooking and reading".
  const items = complement.split(/\s*(?:,|\band\b|\bor\b|&)\s*/).slice(0, 4);
  for (const [idx, item] of items.entries()) {
    const v = interestValue(item);
    if (v) values.push(v);
    else if (idx === 0) break; // the first item must parse, or the rest is not a list of interests
  }
  return [...new Set(values)];
}

function interestValue(item: string): string | null {
  let ws = words(item.split(/[.;:!?()"]/)[0] ?? '');
  // Leading fillers and light verbs ("to go", "watching", "listening to", "spending time with").
  let i = 0;
  while (i < ws.length && (FILLER_WORDS.has(ws[i] as string) || LIGHT_VERBS.has(ws[i] as string))) {
    if (ws[i] === 'spend' || ws[i] === 'spending') {
      const rest = ws.slice(i).join(' ');
      if (/^spend(?:ing)? (?:time|quality time) with (?:my )?family/.test(rest)) return 'family_time';
    }
    i++;
  }
  // "i like classic country": a genre word that is also a stop value; "the country" is a place.
  const afterThe = i > 0 && ws[i - 1] === 'the';
  ws = ws.slice(i);
  if (ws.length === 0) return null;
  const first = ws[0] as string;
  if (first === 'my' || first === 'your' || first === 'his' || first === 'her' || first === 'their' || first === 'our') {
    if (ws[1] === 'family') return 'family_time';
    return null;
  }
  // "hike", "hiking", "to cook"
  const base = first.endsWith('ing') ? first.slice(0, -3) : first;
  const act =
    ACTIVITY_VERBS[first] ?? ACTIVITY_VERBS[base] ?? ACTIVITY_VERBS[`${base}e`] ?? (base.length > 2 && base.at(-1) === base.at(-2) ? ACTIVITY_VERBS[base.slice(0, -1)] : undefined);
  const phrase = [];
  for (const w of ws) {
    if (BOUNDARY_WORDS.has(w)) break;
    phrase.push(w);
    if (phrase.length >= 3) break;
  }
  const joined = phrase.join(' ');
  const topic = topicIn(ws.slice(0, 4).join(' '));
  // Object of the activity names a more specific topic ("playing guitar") only for light verbs;
  // otherwise the activity itself wins ("reading journals" → reading).
  // An activity verb wins over its object ("reading journals" → reading, "grill outdoors" → cooking),
  // but only in verb position: "i love fish and chips" is food, not fishing.
  const verbContext = first.endsWith('ing') || i > 0 || /^\s*to\s/.test(item);
  if (act && verbContext) return act;
  if (topic) return topic;
  if (!afterThe && AMBIGUOUS_GENRES.has(ws[0] as string) && (ws.length === 1 || BOUNDARY_WORDS.has(ws[1] as string) || ws[1] === 'music')) return `${ws[0] as string} music`;
  if (phrase.length === 0) return null;
  if (phrase.every((w) => STOP_VALUES.has(w) || FAMILY_WORDS.has(w))) return null;
  const lastW = phrase.at(-1) as string;
  if (FAMILY_WORDS.has(lastW) || STOP_VALUES.has(lastW) || STOP_VALUES.has(singular(lastW))) return null;
  if (joined.length < 3) return null;
  // wink vets the open value: it must end in a noun (or be a gerund), e.g. not "it", "to see".
  const { nlp, its } = getWink();
  const doc = nlp.readDoc(joined);
  const pos = doc.tokens().out(its.pos) as string[];
  const lastPos = pos.at(-1);
  const lastWord = phrase.at(-1) as string;
  if (!(lastPos === 'NOUN' || lastPos === 'PROPN' || (lastWord.endsWith('ing') && lastPos === 'VERB'))) return null;
  if (pos.some((p) => p === 'PRON' || p === 'AUX' || p === 'DET')) return null;
  const head = lastPos === 'NOUN' && lastWord.endsWith('s') ? singular(lastWord) : lastWord;
  // "i love ... a construction worker": a job title is not an interest.
  if (OCC_INDEX.has(joined) || OCC_INDEX.has(head)) return null;
  // Animals people say they love ("i love bunnies", "german shepherds") are interests as said.
  if (PET_INDEX.has(joined)) return singular(joined);
  // Curated vocabulary (interest-vocab.ts): the longest tail of the phrase that names a known
  // interest, so "grey van", "that count", "the view" are dropped and "fresh papaya" → "papaya".
  const norm = [...phrase.slice(0, -1), head];
  for (let n = norm.length; n >= 1; n--) {
    const tail = norm.slice(norm.length - n).join(' ');
    if (INTEREST_VOCAB.has(tail)) return tail;
    if (AMBIGUOUS_GENRES.has(tail)) return `${tail.split(' ').at(-1) as string} music`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Patterns over one clause. Each returns candidates (key, value, base confidence).

type Found = { key: string; value: TraitValue; confidence: number; negative?: boolean };

const I_AM = String.raw`(?:i'm|i am|im|i m)`;
const ADV = String.raw`(?:(?:really|also|just|actually|still|currently|now|totally|absolutely|definitely|truly|so|kind of|kinda|sort of|pretty|mostly|only|always|usually|basically|recently|honestly|literally|do|does|very|both|too|already|all|even|simply|genuinely|super|especially|sometimes|often|regularly|occasionally|normally|frequently)\s+)*`;
const S = String.raw`(?:^|[^a-z'])`;

const RE = {
  workAs: new RegExp(`${S}i\\s+${ADV}(?:work|am working|'m working|m working|work full time|work part time)\\s+as\\s+(?:an?\\s+)?(.+)`),
  // "i'm working as a custodian", "i live in ohio working as a doctor" (clause of the speaker's), "i don't like working as …"
  workingAs: new RegExp(`${S}(?:${I_AM}\\s+${ADV})?(?:working|employed)\\s+as\\s+(?:an?\\s+)?(.+)`),
  // "i work at a museum as a guide", "i'm work at a center as a doc"
  workAtAs: new RegExp(`${S}(?:i|${I_AM})\\s+${ADV}(?:work|working)\\s+(?:at|in|for)\\s+[a-z0-9' ]{2,40}?\\s+as\\s+(?:an?\\s+)?(.+)`),
  // "i've been a nurse for ten years", "i have been working as a welder since 2001"
  beenA: new RegExp(
    `${S}(?:i've|i have|ive|i've been|${I_AM})\\s+${ADV}(?:been\\s+)?(?:working\\s+as\\s+)?an?\\s+([a-z' ]{2,40}?)\\s+(?:for|since)\\s+(?:\\d|a |an |over |about |almost |nearly |more than |the past |the last |many |several |years|decades|one|two|three|four|five|six|seven|eight|nine|ten|fifteen|twenty|thirty|forty)`,
  ),
  // "i've taken a second job as a stunt double", "my job as a teacher", "i got a job as a cook"
  jobAs: /\b(?:my|a|an)\s+(?:(?:day|second|first|new|current|full[- ]time|part[- ]time|side|summer|night|weekend)\s+)?(?:job|gig|position|role)\s+as\s+(?:an?\s+)?(.+)/,
  iAmA: new RegExp(`${S}${I_AM}\\s+${ADV}(?:an?\\s+)(.+)`),
  iAmBare: new RegExp(
    `${S}${I_AM}\\s+${ADV}(retired|unemployed|self-employed|self employed|a student|in college|in high school|in grad school|between jobs|out of work|jobless)\\b`,
  ),
  myJob: /\bmy\s+(?:day\s+)?(?:job|occupation|profession|career|work)\s+is\s+(?:being\s+|as\s+)?(?:an?\s+)?(.+)/,
  asA: /^\W*as an? ([a-z ]{2,40}),\s*i\b/,
  iTeach: new RegExp(`${S}i\\s+${ADV}teach\\b(?!\\s+(?:me|you|him|her|them|myself)\\b)`),
  workAt: new RegExp(`${S}i\\s+${ADV}work\\s+(?:at|for|in)\\s+(?:an?\\s+|the\\s+)?(.+)`),
  petHave: new RegExp(
    `${S}(?:i\\s+${ADV}(?:have|own|got|adopted|rescued|have got|'ve got|ve got)|i've\\s+${ADV}(?:got\\s+)?|we\\s+${ADV}(?:have|own|got|adopted|rescued)|we've\\s+(?:got\\s+)?)\\s*(.+)`,
  ),
  petMy: new RegExp(`${S}(?:my|our)\\s+((?:[a-z'-]+\\s+){0,2}?)(${PET_ALT})(?![a-z])`, 'g'),
  love: new RegExp(`${S}(?:i|we)\\s+${ADV}(love|like|enjoy|adore|prefer|dig|am into|'m into|m into)\\s+(.+)`),
  into: new RegExp(
    `${S}${I_AM}\\s+${ADV}(?:into|passionate about|obsessed with|a (?:big |huge |massive )?fan of|(?:big |huge )?fan of|crazy about|interested in|keen on|hooked on|a lover of|an? (?:avid|keen|passionate) [a-z]+ (?:fan|lover))\\s*(.*)`,
  ),
  avid: new RegExp(`${S}${I_AM}\\s+${ADV}an?\\s+(?:avid|keen|passionate|big|huge|enthusiastic|serious)\\s+([a-z]+(?:er|or|ist))\\b`),
  isMyPassion:
    /^(?:\W*)(.{2,40}?)\s+(?:is|are)\s+(?:really\s+)?my\s+(?:passion|hobby|thing|life|jam|obsession|favorite (?:hobby|thing|activity|pastime|sport)|favourite (?:hobby|thing|activity|pastime|sport)|favorite thing to do|biggest passion|true passion)\b/,
  favorite:
    /\bmy\s+(?:favorite|favourite|fav|fave)\s+(hobby|hobbies|sport|activity|pastime|thing to do|thing|band|music|type of music|kind of music|genre|singer|artist|food|movie|show|book|author|team|game|way to relax|way to unwind|place)\s+(?:is|are)\s+(.+)/,
  forLiving: new RegExp(`${S}i\\s+${ADV}([a-z]+)(?:\\s+([a-z]+))?\\s+for a living\\b`),
  dayJobIng: /\bmy\s+(?:day\s+)?(?:job|work|career)\s+is\s+([a-z]+ing)\b/,
  workSector: new RegExp(
    `${S}i\\s+${ADV}(?:work|am working|'m working)\\s+(?:in|at|for)\\s+(?:an?\\s+|the\\s+)?(construction|a bank|bank|the bank|banking|the army|the military|the navy|the air force|the marines|law enforcement|a hospital as a nurse)\\b`,
  ),
  major: new RegExp(`${S}(?:i\\s+${ADV}(?:major|am majoring|'m majoring|m majoring)\\s+in|my\\s+major\\s+(?:is|in))\\s+[a-z]`),
  coach: new RegExp(`${S}i\\s+${ADV}coach\\b(?!\\s+(?:me|you|him|her|them|myself)\\b)`),
  myPetIs: /(?:^|[^a-z'])my\s+(?:only\s+|little\s+|new\s+|first\s+)?pets?\s+(?:is|are)\s+(?:an?\s+|two\s+|three\s+|\d+\s+)?([a-z]+(?:\s+[a-z]+)?)/,
  goTo: new RegExp(
    `${S}(?:i|we)\\s+${ADV}(?:go|went)\\s+to\\s+(?:the\\s+)?(gym|beach|movies|concerts?|museums?|library|lake|mountains|park|zoo|theater|theatre|opera|ballet|casino)\\b`,
  ),
  favBand: /\b(?:is|are|they're|they are|he's|she's)\s+(?:really\s+)?my\s+(?:favorite|favourite|fav|fave)\s+(?:band|singer|artist|group|musician|rapper)\b/,
  hobbies: /\bmy\s+hobb(?:y|ies)\s+(?:is|are|include|includes)\s+(.+)/,
  spareTime: /\bin\s+my\s+(?:spare|free|down)\s*time\s*,?\s*(?:i\s+)?(?:like to\s+|love to\s+|enjoy\s+|usually\s+|often\s+)?(.+)/,
  play: new RegExp(`${S}i\\s+${ADV}(?:play|practice|practise)\\s+(?:the\\s+)?(.+)`),
  // "i work out a lot", "i love to work out", "i lift weights": fitness
  workOut: new RegExp(
    `${S}i\\s+${ADV}(?:(?:love|like|enjoy|try|need|have)\\s+to\\s+|(?:love|like|enjoy)\\s+)?(?:work(?:ing)?\\s+out|workout|lift(?:ing)?\\s+weights|hit(?:ting)?\\s+the\\s+gym)\\b`,
  ),
  // "feeding the horses", "walking my dogs": caring for an animal means having it
  petCare: new RegExp(`(?:^|[^a-z'])(?:walk|walking|feed|feeding|groom|grooming|brush|brushing|bathe|bathing)\\s+(?:the|my|our)\\s+(${PET_ALT})(?![a-z])`),
  goIng: new RegExp(`${S}(?:i|we)\\s+${ADV}(?:go|went)\\s+([a-z]+ing)\\b`),
  actVerb: new RegExp(
    `${S}i\\s+${ADV}(hike|run|jog|swim|cook|bake|paint|draw|knit|crochet|sew|garden|fish|hunt|surf|ski|snowboard|camp|climb|bike|cycle|meditate|volunteer|dance|sing|read|write|travel|workout|work out|exercise|golf|kayak|sail|gamble|grill|bird watch)\\b(?!\\s+(?:a|an|the|my|our|your|it|that|this|them|him|her|you|me|to|up|out|into|off|away|some|of|for)\\b)`,
  ),
  diet: new RegExp(
    `${S}(?:${I_AM}|i've been|i have been|i became|i went|i turned|i switched to(?: being)?|we're|we are)\\s+${ADV}(?:an?\\s+|a strict\\s+|strict\\s+|strictly\\s+|fully\\s+|mostly\\s+|mainly\\s+|a\\s+)?(vegan|vegetarian|veggie|pescatarian|pescetarian|keto|paleo|gluten[- ]free|dairy[- ]free|plant[- ]based|carnivore|omnivore|meat[- ]eater|raw vegan|low[- ]carb)\\b`,
  ),
  dietEat: new RegExp(
    `${S}(?:i|we)\\s+${ADV}(?:eat|follow|keep|am on|'m on|m on|do|live on|stick to)\\s+(?:an?\\s+|the\\s+)?(?:strict(?:ly)?\\s+|mostly\\s+|only\\s+|fresh\\s+and\\s+|mainly\\s+)?(vegan|vegetarian|pescatarian|keto|paleo|gluten[- ]free|dairy[- ]free|plant[- ]based|raw|low[- ]carb|halal|kosher)\\b(?:\\s+(?:diet|food|foods|meals?|only))?`,
  ),
  noMeat: new RegExp(
    `${S}(?:i|we)\\s+${ADV}(?:don't|do not|dont|never|no longer)\\s+eat\\s+(?:any\\s+)?(meat|animal products|meat or dairy|meat or fish|meat and fish|gluten|dairy|carbs)\\b`,
  ),
  married: new RegExp(`${S}(?:${I_AM}|we're|we are)\\s+${ADV}(?:happily\\s+)?(married|engaged|divorced|separated|single|widowed|a widow|a widower|in a relationship)\\b`),
  spouse: /(?:^|[^a-z'])(?:my|our)\s+(wife|husband|spouse|boyfriend|girlfriend|fiance|fiancee|fiancé|fiancée|hubby|wifey)\b/,
  kidsHave: new RegExp(
    `${S}(?:i|we)\\s+${ADV}(?:have|'ve|ve|have got|'ve got|got)\\s+(?:got\\s+)?(?:(a|an|one|two|three|four|five|six|seven|eight|nine|ten|\\d{1,2}|twins|a couple of|some|no|any)\\s+)?(?:(?:little|young|small|grown|adult|beautiful|wonderful|amazing|great|awesome|teenage|adopted|step|lovely|baby)\\s+)?(kids|children|child|kid|sons|son|daughters|daughter|boys|girls|twins|babies|baby|toddlers?|teenagers?|grandkids|grandchildren|stepkids|stepchildren)\\b`,
  ),
  iveKids: new RegExp(
    `${S}i've\\s+${ADV}(a|an|one|two|three|four|five|six|\\d{1,2})\\s+(?:(?:little|young|grown|adult|teenage|beautiful)\\s+)?(kids|children|child|kid|sons|son|daughters|daughter|boys|girls|grandkids|grandchildren)\\b`,
  ),
  parent: new RegExp(
    `${S}${I_AM}\\s+${ADV}(?:an?\\s+)?(?:proud\\s+|single\\s+|new\\s+|working\\s+|stay at home\\s+|stay-at-home\\s+|first time\\s+|busy\\s+)?(mom|mum|mother|dad|father|parent|mommy|daddy|grandma|grandpa|grandmother|grandfather|grandparent)\\b(?!\\s+(?:of|to)\\s+(?:a|an|two|three|my)?\\s*(?:dog|cat|pet|fur|plant))`,
  ),
  myKids:
    /(?:^|[^a-z'])my\s+(?:(?:little|young|oldest|youngest|eldest|older|younger|two|three|four|baby|teenage|adult|grown|first|second|third|fourth|fifth|middle)\s+)?(kids|children|son|sons|daughter|daughters|toddler|twins|grandkids|grandchildren)\b/,
  newBaby:
    /\b(?:we|i)\s+(?:just\s+|recently\s+|finally\s+)?(?:had|welcomed|adopted)\s+(?:a|our|my)\s+(?:first\s+|second\s+|third\s+|new\s+)?(?:baby|son|daughter|child|little (?:boy|girl))\b|\bi\s+(?:just\s+)?became\s+a\s+(?:mom|dad|mother|father|parent)\b|\bgave birth\b|\bnew ?born\b/,
  live: new RegExp(
    `${S}(?:i|we)\\s+${ADV}(?:live|reside|am living|'m living|m living|are living|'re living|am based|'m based|m based|am located|'m located|now live|currently live)\\s+(?:in|near|outside(?:\\s+of)?|on|by)\\s+(.+)`,
  ),
  livingIn: /^(?:currently\s+|now\s+)?(?:living|based)\s+(?:in|near)\s+(.+)/,
  hereIn: /\b(?:here|over here|out here|up here|down here)\s+in\s+(.+)/,
  from: new RegExp(`${S}${I_AM}\\s+${ADV}(?:originally\\s+)?from\\s+(.+)`),
  moving: new RegExp(`${S}(?:i|we)\\s*(?:'m|'re| am| are|m|re)?\\s+${ADV}(?:moving|relocating|about to move|going to move|gonna move)\\s+(?:to|into|across)\\s+(.+)`),
  moved: new RegExp(`${S}(?:i|we)\\s+${ADV}(?:just\\s+|recently\\s+)?(?:moved|relocated)\\s+(?:to|into|here to|across)\\s+(.+)`),
  movingBare: new RegExp(`${S}(?:i|we)\\s*(?:'m|'re| am| are|m|re)?\\s+${ADV}(?:moving|relocating)\\b(?:\\s+(?:house|homes|out|soon|next|this|in))?`),
  speak: new RegExp(`${S}i\\s+${ADV}(?:speak|can speak|am fluent in|'m fluent in|m fluent in|am bilingual in|'m bilingual in|speak fluent)\\s+(.+)`),
  nativeLang: /\bmy\s+(?:native|first|mother)\s+(?:language|tongue)\s+is\s+([a-z ]+)/,
  contactMe: /\b(email|e-mail|mail|call|phone|ring|text|sms|whatsapp|message|dm)\s+me\b(?!\s+(?:an?|the|crazy|names?|by|old|lazy|weird|mom|dad|[a-z]+ish)\b)/,
  prefer:
    /\b(?:i(?:\s+would|'d)?\s+prefer|i'd\s+rather|i\s+would\s+rather|best\s+(?:way\s+)?to\s+(?:reach|contact)\s+me\s+is|(?:contact|reach)\s+me)\s+(?:to\s+be\s+contacted\s+|being\s+contacted\s+|communicat\w+\s+|talking\s+|to\s+talk\s+)?(?:by|via|through|over|on|at|with|using)?\s*(?:an?\s+|the\s+)?(email|e-mail|mail|emails|phone|a phone call|a call|calls|phone calls|telephone|text|texts|text messages?|sms|chat|live chat|whatsapp|post|letter|the app|in-app messages?|\[email\]|\[phone\])\b/,
  beginner: new RegExp(
    `${S}(?:${I_AM}\\s+${ADV}(?:a\\s+|an\\s+)?(?:complete\\s+|total\\s+|absolute\\s+)?(?:beginner|newbie|novice|noob|new to (?:this|it|[a-z]+ing)\\b|just starting|just getting started|learning (?:to|how)\\b)|i\\s+(?:just|recently)\\s+(?:started|began)\\s+(?:learning|playing|practicing|practising|taking lessons|to learn|to play|out)\\b|i\\s+(?:just|recently)\\s+(?:took up|picked up)\\s+(?!the\\b|my\\b|it\\b|some\\b))`,
  ),
  intermediate: new RegExp(`${S}${I_AM}\\s+${ADV}(?:an?\\s+)?intermediate\\b`),
  expert: new RegExp(
    `${S}(?:${I_AM}\\s+${ADV}(?:an?\\s+)?(?:expert|pro|professional|advanced|seasoned|veteran|experienced)(?=\\s*$|\\s+(?:at|in|with|now|myself|player|level)\\b)|i(?:'ve| have)\\s+been\\s+[a-z]+ing\\s+(?:it\\s+|this\\s+)?for\\s+(?:over\\s+|more than\\s+)?(?:\\d{2}|ten|fifteen|twenty|thirty|forty|many|decades)\\b)`,
  ),
  priceHigh:
    /\b(?:cheap|cheaper|cheapest|budget|bargain|bargains|discount|discounts|discounted|coupon|coupons|promo code|voucher|on sale|clearance|affordable|inexpensive|too expensive|overpriced|save money|saving money|can't afford|cannot afford|price match|lowest price|best price|best deal|good deal|under \$\d+)\b/,
  priceLow:
    /\b(?:premium|luxury|high[- ]end|top of the line|top-of-the-line|best quality|highest quality|money is no object|price doesn't matter|don't care about (?:the )?price|designer (?:brands?|clothes|clothing|bags?|handbags?|labels?|shoes)|professional grade|pro grade)\b/,
  lifeJob:
    /\b(?:i\s+(?:just\s+|recently\s+|finally\s+)?(?:started|got|landed|accepted)\s+(?:a|my)\s+new\s+(?:job|position|role)|i\s+(?:just\s+|recently\s+)?got\s+(?:hired|promoted|a job)|i\s+(?:just|recently)\s+started\s+working\s+(?:at|for|as))\b/,
  lifeJobLoss: /\bi\s+(?:just\s+|recently\s+)?(?:lost my job|got laid off|was laid off|got fired|was fired|got let go|was let go)\b/,
  lifeGrad: /\bi\s+(?:just\s+|recently\s+|finally\s+)?(?:graduated|am graduating|'m graduating|finished (?:college|school|university|my degree))\b/,
  lifeRetired: new RegExp(
    `${S}(?:i\\s+${ADV}(?:just\\s+|recently\\s+|finally\\s+)?retired\\b|${I_AM}\\s+${ADV}(?:now\\s+)?retired\\b|i(?:'ve| have)\\s+been\\s+retired\\b|i\\s+am\\s+a\\s+retired\\b|${I_AM}\\s+an?\\s+retired\\b)`,
  ),
  lifeHome:
    /\b(?:i|we)\s+(?:just\s+|recently\s+|finally\s+)?(?:bought|purchased|closed on|moved into)\s+(?:a|our|my|the)\s+(?:first\s+|new\s+)*(?:house|home|condo|apartment|flat)\b/,
  lifeDivorce: /\b(?:i'm|i am|we're|we are)\s+(?:getting|going through\s+a)\s+(?:divorced?|separated)\b|\bi\s+(?:just\s+|recently\s+)?got\s+divorced\b/,
  lifeWedding: /\b(?:i'm|i am|im|we're|we are)\s+(?:getting married|planning (?:my|our) wedding)\b|\b(?:i|we)\s+(?:just\s+|recently\s+)?got\s+married\b|\bmy wedding\b/,
  lifeEngaged: /\b(?:i|we)\s+(?:just\s+|recently\s+)?got\s+engaged\b/,
  lifeBereave:
    /\bmy\s+(mom|mum|mother|dad|father|husband|wife|brother|sister|son|daughter|grandma|grandpa|grandmother|grandfather|best friend)\s+(?:just\s+|recently\s+)?(?:passed away|died|passed)\b/,
  lifeSchool: /\bi\s+(?:just\s+|recently\s+)?started\s+(?:college|university|grad school|school|my (?:degree|masters|phd))\b/,
  newPet: /\b(?:i|we)\s+(?:just\s+|recently\s+)(?:adopted|got|rescued)\s+(?:a|an|our|my|two)\s+(?:new\s+)?/,
};

/** Noun phrase after "a/an": words up to a boundary (at, in, for, who, and...). */
const NP_BOUNDARY = new Set([
  'at',
  'in',
  'for',
  'with',
  'and',
  'but',
  'who',
  'that',
  'which',
  'from',
  'on',
  'by',
  'so',
  'because',
  'since',
  'to',
  'of',
  'as',
  'when',
  'while',
  'or',
  'than',
  'like',
  'now',
  'too',
  'myself',
  'lol',
  'haha',
  'here',
  'there',
  'though',
  'by',
  'during',
  'and',
  'i',
  'it',
  'is',
  'are',
  'was',
  'my',
  'your',
  'the',
  'a',
  'an',
]);

/** Short or informal job nouns the lexicon does not list (extractor-only, see docs/eval-traits.md). */
const OCCUPATION_ALIASES: Readonly<Record<string, string>> = {
  doc: 'doctor',
  guide: 'tour guide',
  'museum guide': 'tour guide',
  usher: 'usher',
  cashier: 'cashier',
};

function occupationAlias(tail: string): string | null {
  const np = phraseWords(tail, 3, NP_BOUNDARY);
  for (let n = Math.min(2, np.length); n >= 1; n--) {
    const hit = OCCUPATION_ALIASES[np.slice(np.length - n).join(' ')];
    if (hit) return occupationIn(hit.split(' ')) ?? hit;
  }
  return null;
}

function occupationFromTail(tail: string): string | null {
  const np = phraseWords(tail, 5, NP_BOUNDARY);
  // "a custodian right now", "a doctor looking for a job": the job noun may not end the phrase
  for (let k = np.length; k >= 1; k--) {
    const occ = occupationIn(np.slice(0, k));
    if (occ) return occ;
  }
  return null;
}

/** "i X for a living" → the job noun (looked up in OCCUPATIONS when it is there). Extractor-only. */
const LIVING_AGENTS: Readonly<Record<string, string>> = {
  sing: 'singer',
  write: 'writer',
  teach: 'teacher',
  drive: 'driver',
  paint: 'painter',
  dance: 'dancer',
  act: 'actor',
  cook: 'cook',
  bake: 'baker',
  build: 'builder',
  'build houses': 'construction worker',
  clean: 'cleaner',
  'clean houses': 'housekeeper',
  'walk dogs': 'dog walker',
  'fix cars': 'mechanic',
  design: 'designer',
  code: 'programmer',
  program: 'programmer',
  farm: 'farmer',
  fish: 'fisherman',
  nurse: 'nurse',
  sell: 'salesperson',
  'sell cars': 'salesperson',
  'sell houses': 'realtor',
  'cut hair': 'hairdresser',
  photograph: 'photographer',
  'take pictures': 'photographer',
  'take photos': 'photographer',
  wrestle: 'wrestler',
  box: 'boxer',
  tutor: 'tutor',
  translate: 'translator',
  'drive trucks': 'truck driver',
  'drive a truck': 'truck driver',
  babysit: 'babysitter',
  stream: 'streamer',
  blog: 'blogger',
  model: 'model',
  'play music': 'musician',
  'play guitar': 'musician',
  'play football': 'football player',
  'play basketball': 'basketball player',
  'play baseball': 'baseball player',
  'make music': 'musician',
};
/** "my day job is wrestling": gerunds whose agent noun is irregular. */
const GERUND_JOBS: Readonly<Record<string, string>> = {
  wrestling: 'wrestler',
  nursing: 'nurse',
  modeling: 'model',
  modelling: 'model',
  acting: 'actor',
  teaching: 'teacher',
  farming: 'farmer',
  boxing: 'boxer',
};

const NUMBERS: Readonly<Record<string, number>> = { a: 1, an: 1, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, twins: 2 };

const PLACE_SETTINGS: Readonly<Record<string, string>> = {
  'the country': 'rural',
  'the countryside': 'rural',
  country: 'rural',
  countryside: 'rural',
  'a farm': 'rural',
  'the city': 'urban',
  'a big city': 'urban',
  'a city': 'urban',
  'the big city': 'urban',
  'the farm': 'rural',
  'a farm town': 'rural',
  'the boondocks': 'rural',
  'the sticks': 'rural',
  'a rural area': 'rural',
  'the suburbs': 'suburban',
  suburbs: 'suburban',
  'a suburb': 'suburban',
  'a small town': 'small_town',
  'small town': 'small_town',
  'a little town': 'small_town',
  'a village': 'small_town',
};
const PLACE_SETTINGS_VALUES: ReadonlySet<string> = new Set(['rural', 'urban', 'suburban', 'small_town']);
const NOT_PLACES = new Set([
  'house',
  'apartment',
  'condo',
  'home',
  'trailer',
  'van',
  'dorm',
  'flat',
  'cave',
  'basement',
  'castle',
  'cloud',
  'clouds',
  'tent',
  'car',
  'mansion',
  'shed',
  'box',
  'moment',
  'past',
  'future',
  'fear',
  'hope',
  'peace',
  'denial',
  'sin',
  'luxury',
  'style',
  'it',
  'there',
  'here',
  'same',
  'bed',
  'sky',
  'room',
  'bedroom',
  'world',
  'dream',
  'shelter',
  'middle',
  'area',
  'neighborhood',
  'hole',
  'bubble',
  'pain',
  'poverty',
  'debt',
  'far',
  'away',
  'around',
  'nowhere',
  'somewhere',
  'everywhere',
  'coffee',
  'food',
  'beer',
  'love',
  'work',
  'faith',
]);
const PLACE_STOP = new Set([
  'with',
  'and',
  'but',
  'for',
  'since',
  'near',
  'now',
  'currently',
  'right',
  'because',
  'where',
  'so',
  'too',
  'at',
  'on',
  'by',
  'which',
  'who',
  'that',
  'when',
  'though',
  'lol',
  'haha',
  'alone',
  'all',
  'by',
  'area',
  'nowadays',
  'these',
  'this',
  'in',
  'as',
  'it',
  'is',
  'are',
  'my',
  'to',
  'next',
  'soon',
  'i',
  'we',
  'of',
  'very',
  'years',
  'the',
  'how',
  'what',
  'about',
  'during',
  'from',
  'working',
  'baby',
  'man',
  'woman',
  'six',
  'months',
  'month',
  'year',
  'summer',
  'winter',
  'anymore',
  'though',
  'you',
  'your',
  'lol',
  'haha',
  'actually',
  'too',
  'now',
  'but',
  'and',
  'or',
  'where',
  'there',
  'here',
  'then',
  'until',
  'for',
]);
/** "the X" is a place only for these; "the hospital", "the moon" are not regions. */
const THE_PLACES = new Set([
  'uk',
  'us',
  'usa',
  'united states',
  'united kingdom',
  'netherlands',
  'philippines',
  'bahamas',
  'midwest',
  'south',
  'north',
  'east',
  'west',
  'bay area',
  'northeast',
  'northwest',
  'southwest',
  'southeast',
  'east coast',
  'west coast',
  'states',
  'caribbean',
  'uae',
  'czech republic',
  'dominican republic',
  'pacific northwest',
  'deep south',
  'mountains',
]);

/** "the middle of alabama", "the sunny state of florida", "disney world in florida": the place named. */
const PLACE_PREFIX_RE =
  /^(?:the\s+)?(?:(?:very\s+)?(?:middle|heart|center|centre|outskirts|north|south|east|west|northern|southern|eastern|western|capital|suburbs)\s+(?:part\s+)?of|(?:the\s+)?(?:[a-z]+\s+)?(?:state|city|town|country|province)\s+of|(?:just\s+)?outside(?:\s+of)?)\s+(?:the\s+)?/;

function knownPlaceIn(ws: readonly string[]): string | null {
  for (let i = 0; i < ws.length; i++)
    for (let n = 3; n >= 1; n--) {
      const p = ws.slice(i, i + n).join(' ');
      if (ws.length >= i + n && KNOWN_PLACES.has(p)) return p;
    }
  return null;
}

function placeFrom(tail0: string): string | null {
  const tail = tail0.trim().replace(PLACE_PREFIX_RE, '');
  const cut = (tail.split(/[,.;:!?()]/)[0] ?? '').trim();
  // "near disney world in florida": a known place after "in" within the phrase wins
  const inAt = / in (?:the )?([a-z ]+)$/.exec(words(cut).slice(0, 8).join(' '));
  if (inAt) {
    const p = knownPlaceIn(words(inAt[1] as string).slice(0, 3));
    if (p) return p;
  }
  // "florida surrounded by my family": a known place at the start ends the value
  const lead = words(cut).slice(0, 3);
  for (let n = lead.length; n >= 1; n--) if (KNOWN_PLACES.has(lead.slice(0, n).join(' '))) return lead.slice(0, n).join(' ');
  const ws = words(cut);
  if (ws.length === 0) return null;
  // settings like "the country", "a small town"
  for (let n = Math.min(4, ws.length); n >= 1; n--) {
    const s = PLACE_SETTINGS[ws.slice(0, n).join(' ')];
    if (s) return s;
  }
  if (ws[0] === 'a' || ws[0] === 'an' || ws[0] === 'my' || ws[0] === 'our' || ws[0] === 'your' || ws[0] === 'his' || ws[0] === 'her') return null;
  let start = 0;
  if (ws[0] === 'the') start = 1; // "the uk", "the bay area"
  const out: string[] = [];
  for (let i = start; i < ws.length && out.length < 3; i++) {
    const w = ws[i] as string;
    if (PLACE_STOP.has(w) && !(w === 'the' && out.length === 0)) break;
    out.push(w);
  }
  if (out.length === 0) return null;
  if (out.some((w) => NOT_PLACES.has(w) || /^\d+$/.test(w))) return null;
  const v = out.join(' ');
  if (v.length < 2 || STOP_VALUES.has(v)) return null;
  if (ws[0] === 'the') return THE_PLACES.has(v) ? v : null;
  return v;
}

function matchPets(s: string, found: Found[], conf: number): void {
  const care = RE.petCare.exec(s);
  // not someone else's animals or chores: "my sister is feeding the horses", "his dog"
  if (care && !/\b(?:he|she|they|he's|she's|they're|his|her|their|neighbou?r'?s?|friend'?s?)\b/.test(s) && !/^(?:my|our)\s+(?!pets?\b)/.test(s)) {
    const pet = PET_INDEX.get(care[1] as string) ?? PET_INDEX.get(singular(care[1] as string));
    if (pet) found.push({ key: 'pet', value: pet, confidence: conf - 0.1 });
  }
  const pm = RE.petHave.exec(s);
  if (pm) {
    const tail = pm[1] ?? '';
    const ws = phraseWords(
      tail,
      6,
      new Set(['with', 'for', 'who', 'whose', 'that', 'which', 'and', 'but', 'because', 'so', 'named', 'called', 'at', 'in', 'on', 'to', 'from', 'is', 'are']),
    );
    let pet: string | null = null;
    for (let n = 0; n < ws.length; n++) {
      const w = ws[n] as string;
      if (FAMILY_WORDS.has(w) || w.endsWith("'s") || w === 'hot' || w === 'corn') break;
      const two = n + 1 < ws.length ? `${w} ${ws[n + 1]}` : '';
      pet = (two && PET_INDEX.get(two)) || PET_INDEX.get(w) || null;
      if (pet) break;
      if (w === 'pets' || w === 'pet' || w === 'animals' || w === 'any') {
        if (w !== 'pet') pet = '*';
        if (pet) break;
      }
    }
    if (pet && (!FARM_PETS.has(pet) || /\bpet\b/.test(tail) || /^(?:a|an|two|three|\d+)\s/.test(tail))) found.push({ key: 'pet', value: pet, confidence: conf });
  }
  const mp = RE.myPetIs.exec(s);
  if (mp) {
    const ws = words(mp[1] as string);
    const pet = PET_INDEX.get(ws.join(' ')) ?? PET_INDEX.get(ws[0] as string) ?? null;
    if (pet) found.push({ key: 'pet', value: pet, confidence: conf });
  }
  RE.petMy.lastIndex = 0;
  for (let m = RE.petMy.exec(s); m; m = RE.petMy.exec(s)) {
    const mods = words(m[1] ?? '');
    if (mods.some((w) => w === 'hot' || w === 'corn' || FAMILY_WORDS.has(w) || w.endsWith("'s") || (BOUNDARY_WORDS.has(w) && w !== 'two' && w !== 'three'))) continue;
    const pet = PET_INDEX.get(m[2] as string);
    if (!pet) continue;
    if (FARM_PETS.has(pet) && !mods.includes('pet')) continue;
    // "my dog walking business" / "my cat food order": pet word used as a modifier.
    const after = s.slice((m.index ?? 0) + m[0].length);
    if (/^\s+(?:food|walker|walking|sitter|sitting|hair|toys?|bed|park|shelter|treats?|litter)\b/.test(after)) continue;
    found.push({ key: 'pet', value: pet, confidence: conf - 0.05 });
  }
}

function matchInterests(s: string, found: Found[], conf: number): void {
  const push = (vals: string[], c: number) => {
    for (const v of vals) found.push({ key: 'interest', value: v, confidence: c });
  };
  const lv = RE.love.exec(s);
  if (lv) {
    const verb = lv[1] as string;
    const comp = lv[2] as string;
    // "i like that", "i love you", "i like it when": not interests; "i love my kids": a family signal.
    if (
      !/^(?:you|it|that|this|them|him|her|when|how|what|where|the way|the idea|to think|to know|to hear|to see|to say|hearing|knowing|seeing|being|your|yours|his|their|our)\b/.test(
        comp,
      )
    ) {
      if (/^my\s+(?:kids|children|son|daughter|sons|daughters|grandkids)\b/.test(comp)) found.push({ key: 'has_children', value: true, confidence: 0.7 });
      else push(interestValues(comp), verb === 'like' || verb === 'prefer' || verb === 'dig' ? conf - 0.08 : conf);
    }
  }
  const into = RE.into.exec(s);
  if (into?.[1]) push(interestValues(into[1]), conf);
  const avid = RE.avid.exec(s);
  if (avid) {
    const noun = avid[1] as string;
    const t = TOPIC_INDEX.get(noun) ?? (noun === 'reader' ? 'reading' : null);
    if (t) push([t], conf);
  }
  const pm = RE.isMyPassion.exec(s);
  if (pm && /\b(?:i|my)\b/.test(s)) {
    const subj = (pm[1] as string).replace(/^(?:and|but|so|oh|well|yes|yeah)\s+/, '');
    if (!/^(?:it|that|this|he|she|they|you|which|what)$/.test(subj) && words(subj).length <= 4) push(interestValues(subj), conf);
  }
  const fav = RE.favorite.exec(s);
  if (fav) {
    const what = fav[1] as string;
    const val = fav[2] as string;
    if (/hobb|sport|activity|pastime|thing|relax|unwind|game/.test(what)) push(interestValues(val), conf);
    else if (/band|music|genre|singer|artist/.test(what)) {
      const genre = phraseWords(val, 2);
      push([/music|genre/.test(what) && genre.length ? `${genre.join(' ')} music`.replace(/ music music$/, ' music') : 'music'], conf - 0.15);
    } else if (/movie|show/.test(what)) push([what === 'movie' ? 'movies' : 'tv'], conf - 0.2);
    else if (/book|author/.test(what)) push(['reading'], conf - 0.2);
    else if (what === 'food') {
      const v = interestValue(val);
      if (v) push([v], conf - 0.2);
    } else if (what === 'team') push(['sports'], conf - 0.2);
  }
  // "i like rascal flats , they're my favorite band": a named artist is at least music.
  if (RE.favBand.test(s) && /^(?:i|i'm|my|we)\b/.test(s)) push(['music'], conf - 0.15);
  const hb = RE.hobbies.exec(s);
  if (hb) push(interestValues(hb[1] as string), conf);
  const st = RE.spareTime.exec(s);
  if (st) push(interestValues(st[1] as string), conf - 0.05);
  const pl = RE.play.exec(s);
  if (pl) {
    const t = topicIn(phraseWords((pl[1] as string).replace(/^(?:a lot of|lots of|alot of|a bit of|some|many|a few|a little)\s+/, ''), 3).join(' '));
    if (t && !['cars', 'movies', 'tv', 'food'].includes(t)) push([t], conf - 0.1);
  }
  const go = RE.goIng.exec(s);
  if (go) {
    const g = go[1] as string;
    const t = TOPIC_INDEX.get(g) ?? ACTIVITY_VERBS[g.slice(0, -3)] ?? ACTIVITY_VERBS[`${g.slice(0, -3)}e`];
    if (t) push([t], conf - 0.05);
  }
  const gt = RE.goTo.exec(s);
  if (gt) {
    const t = topicIn(gt[1] as string) ?? (gt[1] === 'casino' ? 'gambling' : null);
    if (t) push([t], conf - 0.1);
  }
  if (RE.workOut.test(s)) push(['fitness'], conf - 0.05);
  const av = RE.actVerb.exec(s);
  if (av) {
    const v = (av[1] as string).replace(' ', '');
    const t = ACTIVITY_VERBS[v] ?? (v === 'birdwatch' ? 'animals' : null);
    if (t) push([t], conf - 0.12);
  }
}

function matchOccupation(s: string, found: Found[], conf: number): void {
  const add = (v: string | null, c: number) => {
    if (v) found.push({ key: 'occupation', value: v, confidence: c });
  };
  const wa = RE.workAs.exec(s);
  if (wa) {
    const tail = wa[1] as string;
    const occ = occupationFromTail(tail);
    if (occ) add(occ, conf);
    else {
      // Explicit "i work as a X": accept an unknown job noun ending like one.
      const np = phraseWords(tail, 4, NP_BOUNDARY);
      const head = np.at(-1);
      if (head && /(?:er|or|ist|ian|ant|ent|man|woman|eer|ive|ard|smith)$/.test(head) && !STOP_VALUES.has(head)) add(np.join(' '), conf - 0.15);
    }
  }
  const ia = RE.iAmA.exec(s);
  if (ia) {
    const tail = ia[1] as string;
    if (/^retired\b/.test(tail)) add('retired', conf);
    else if (!/^(?:big|huge|massive|great|good|bad|fan|lover|person|type|bit|lot|little bit)\b/.test(tail) || /^(?:big|great|good)\s+\w+\s*(?:er|or|ist)\b/.test(tail)) {
      const np = phraseWords(tail, 5, NP_BOUNDARY);
      // "a dog person", "a cat lover", "a former nurse", "a nurse's aide": not (current) occupations.
      if (
        !np.includes('former') &&
        !np.includes('ex') &&
        !np.includes('aspiring') &&
        !np.includes('wannabe') &&
        !np.includes('future') &&
        !np.includes('fan') &&
        !np.includes('lover') &&
        !np.includes('person')
      ) {
        add(occupationIn(np), conf);
      }
    }
  }
  const bare = RE.iAmBare.exec(s);
  if (bare) {
    const w = bare[1] as string;
    add(w === 'retired' ? 'retired' : /student|college|school/.test(w) ? 'student' : w.startsWith('self') ? 'self-employed' : 'unemployed', conf);
  }
  // "working as", "work at … as", "been a … for ten years", "a job as": the speaker's clause only
  for (const re of [RE.workingAs, RE.workAtAs, RE.beenA]) {
    const m = re.exec(s);
    if (m && /^(?:i|i'm|im|i've)\b/.test(s)) {
      const tail = m[1] as string;
      const occ = occupationFromTail(tail) ?? occupationAlias(tail);
      if (occ) add(occ, conf - 0.05);
    }
  }
  const ja = RE.jobAs.exec(s);
  if (ja && /^(?:i|i'm|im|i've|my)\b/.test(s) && /\b(?:my|i've|i have|i got|i took|i've taken|i have taken|i found|i started|i landed|i hold)\b/.test(s)) {
    const tail = ja[1] as string;
    const occ = occupationFromTail(tail) ?? occupationAlias(tail);
    if (occ) add(occ, conf - 0.05);
  }
  const mj = RE.myJob.exec(s);
  if (mj) {
    const tail = mj[1] as string;
    const occ = occupationFromTail(tail);
    if (occ) add(occ, conf);
  }
  const as = RE.asA.exec(s);
  if (as) add(occupationIn(words(as[1] as string)), conf - 0.05);
  if (RE.iTeach.test(s)) add('teacher', conf - 0.2);
  // "i sing for a living", "i walk dogs for a living": the activity names the job.
  const fl = RE.forLiving.exec(s);
  if (fl) {
    const verb = fl[1] as string;
    const obj = fl[2];
    const agent = (obj && LIVING_AGENTS[`${verb} ${obj}`]) || LIVING_AGENTS[verb];
    if (agent) add(occupationIn(agent.split(' ')) ?? agent, conf - 0.05);
  }
  const dj = RE.dayJobIng.exec(s);
  if (dj) {
    const agent = LIVING_AGENTS[(dj[1] as string).replace(/ing$/, '')] ?? LIVING_AGENTS[(dj[1] as string).replace(/ing$/, 'e')] ?? GERUND_JOBS[dj[1] as string];
    if (agent) add(occupationIn(agent.split(' ')) ?? agent, conf - 0.1);
  }
  const ws = RE.workSector.exec(s);
  if (ws) {
    const w = ws[1] as string;
    add(
      w === 'construction'
        ? 'construction worker'
        : /bank/.test(w)
          ? 'banker'
          : /army|military|navy|air force|marines/.test(w)
            ? 'soldier'
            : /law enforcement/.test(w)
              ? 'police officer'
              : 'nurse',
      conf - 0.1,
    );
  }
  if (RE.major.test(s)) add('student', conf - 0.1);
  if (RE.coach.test(s)) add('coach', conf - 0.15);
  if (/\bstay(?:-| )at(?:-| )home (?:mom|dad|mother|father|parent|mum)\b/.test(s) && new RegExp(`${S}(?:${I_AM}|i work as)`).test(s)) {
    add('homemaker', conf);
    found.push({ key: 'has_children', value: true, confidence: conf });
  }
}

function matchFamily(s: string, found: Found[], conf: number): void {
  const m = RE.married.exec(s);
  if (m) {
    const w = m[1] as string;
    const status = w === 'a widow' || w === 'a widower' ? 'widowed' : w === 'in a relationship' ? 'in_relationship' : w === 'separated' ? 'divorced' : w;
    // "i'm single" but not "i'm a single mom" (that is parenthood, handled below)
    found.push({ key: 'family_status', value: status, confidence: conf });
    if (status === 'engaged') found.push({ key: 'life_event', value: 'engaged', confidence: conf - 0.2 });
  }
  const sp = RE.spouse.exec(s);
  // Only when the speaker is in the clause ("my husband and i", "i live with my wife"): "my wife is
  // a nurse" is a fact about the wife and yields nothing.
  if (
    sp &&
    /(?:^|[^a-z'])(?:i|i'm|i've|me|we|we're|we've|us)\b/.test(s) &&
    !/\bex[- ]?(?:wife|husband|boyfriend|girlfriend)|\bmy ex\b|\b(?:broke|break|breaking|split|splitting) up\b|\bended things\b/.test(s)
  ) {
    const w = sp[1] as string;
    const v = /wife|husband|spouse|hubby|wifey/.test(w) ? 'married' : /fianc/.test(w) ? 'engaged' : 'in_relationship';
    found.push({ key: 'family_status', value: v, confidence: conf - 0.2 });
  }
  const kh = RE.kidsHave.exec(s) ?? RE.iveKids.exec(s);
  if (kh) {
    const q = kh[1] ?? '';
    const noun = kh[2] as string;
    if (q === 'no' || q === 'any') {
      // "i have no kids" / "i don't have any kids": a fact, not a retraction.
      found.push({ key: 'has_children', value: false, confidence: conf - 0.05 });
    } else {
      found.push({ key: 'has_children', value: true, confidence: conf });
      const n = NUMBERS[q] ?? (/^\d+$/.test(q) ? Number(q) : undefined);
      if (n !== undefined && /^(?:kids|children|kid|child)$/.test(noun) && n > 0 && n < 20) found.push({ key: 'children_count', value: n, confidence: conf - 0.05 });
      else if (noun === 'twins' || q === 'twins') found.push({ key: 'children_count', value: 2, confidence: conf - 0.25 });
    }
  }
  const pa = RE.parent.exec(s);
  if (pa && !/\b(?:dog|cat|pet|fur|plant|cat|boy|girl)\s*(?:mom|dad|mum|parent)\b/.test(s)) found.push({ key: 'has_children', value: true, confidence: conf - 0.05 });
  const mk = RE.myKids.exec(s);
  if (mk && !new RegExp(`(?:${PET_ALT})\\s+(?:are|is)\\s+my\\s+`).test(s)) found.push({ key: 'has_children', value: true, confidence: conf - 0.15 });
  if (RE.newBaby.test(s)) {
    found.push({ key: 'life_event', value: 'new_baby', confidence: conf });
    found.push({ key: 'has_children', value: true, confidence: conf - 0.05 });
  }
}

function matchLocation(s: string, found: Found[], conf: number): void {
  const lv = RE.live.exec(s) ?? RE.livingIn.exec(s);
  if (lv) {
    // "i live on coffee": "live on" names a place only for settings ("on a farm").
    const onWhat = /\blive\s+on\s/.test(lv[0]);
    const p0 = placeFrom(lv[1] as string);
    const p = onWhat && p0 && !PLACE_SETTINGS_VALUES.has(p0) ? null : p0;
    if (p) found.push({ key: 'location_region', value: p, confidence: conf });
  }
  const hi = RE.hereIn.exec(s);
  // "it is cloudy here in boston" is chatter; "he had an accident here in california" is about him.
  if (hi && !lv && /(?:^|[^a-z'])(?:i|i'm|im|we|we're|my|our)\b/.test(s) && !/(?:^|[^a-z'])(?:he|she|they|he's|she's|they're|it|it's)\b/.test(s)) {
    const p = placeFrom(hi[1] as string);
    if (p && !PLACE_SETTINGS[p]) found.push({ key: 'location_region', value: p, confidence: conf - 0.25 });
  }
  const fr = RE.from.exec(s);
  if (fr && !lv) {
    const p = placeFrom(fr[1] as string);
    if (p && !['rural', 'urban', 'suburban', 'small_town'].includes(p) && !/^(?:work|school|home|church|out|here|there|there|now|then)$/.test(p))
      found.push({ key: 'location_region', value: p, confidence: conf - 0.3 });
  }
  const mv = RE.moving.exec(s);
  const md = RE.moved.exec(s);
  if (mv || md) {
    found.push({ key: 'life_event', value: 'moving', confidence: conf });
    const p = placeFrom(((mv ?? md) as RegExpExecArray)[1] as string);
    if (p) found.push({ key: 'location_region', value: p, confidence: md ? conf - 0.1 : conf - 0.3 });
  } else if (RE.movingBare.test(s) && !/\bmoving (?:on|forward|along|around)\b/.test(s)) found.push({ key: 'life_event', value: 'moving', confidence: conf - 0.1 });
}

function matchMisc(s: string, found: Found[], conf: number): void {
  // diet
  const d = RE.diet.exec(s) ?? RE.dietEat.exec(s);
  if (d) {
    const raw = (d[1] as string).replace(/[- ]/g, '_');
    const map: Record<string, string> = {
      veggie: 'vegetarian',
      pescetarian: 'pescatarian',
      plant_based: 'vegan',
      meat_eater: 'omnivore',
      carnivore: 'omnivore',
      raw_vegan: 'vegan',
      low_carb: 'low_carb',
    };
    found.push({ key: 'diet', value: map[raw] ?? raw, confidence: conf });
  }
  // language
  const sp = RE.speak.exec(s) ?? RE.nativeLang.exec(s);
  if (sp) {
    for (const w of words((sp[1] as string).split(/[.;:!?]/)[0] ?? '').slice(0, 8)) {
      if (LANG_SET.has(w)) found.push({ key: 'language', value: w === 'farsi' ? 'persian' : w === 'mandarin' ? 'chinese' : w, confidence: conf });
      else if (!['and', 'or', 'fluent', 'some', 'a', 'little', 'bit', 'of', 'basic', 'good', 'fluently', 'both', 'also', 'well'].includes(w)) break;
    }
  }
  // preferred channel
  const ch = RE.prefer.exec(s);
  const cm = RE.contactMe.exec(s);
  const chan = (w: string): string | null =>
    /e-?mail|^mail$|\[email\]/.test(w)
      ? 'email'
      : /phone|call|ring|telephone/.test(w)
        ? 'phone'
        : /text|sms/.test(w)
          ? 'sms'
          : /whatsapp/.test(w)
            ? 'whatsapp'
            : /chat|message|dm/.test(w)
              ? 'chat'
              : /post|letter/.test(w)
                ? 'post'
                : /app/.test(w)
                  ? 'in_app'
                  : null;
  if (ch) {
    const c = chan(ch[1] as string);
    if (c) found.push({ key: 'preferred_channel', value: c, confidence: conf });
  } else if (cm) {
    const c = chan(cm[1] as string);
    if (c) found.push({ key: 'preferred_channel', value: c, confidence: conf - 0.15 });
  }
  // skill level
  if (RE.expert.test(s)) found.push({ key: 'skill_level', value: 'expert', confidence: conf - 0.15 });
  else if (RE.intermediate.test(s)) found.push({ key: 'skill_level', value: 'intermediate', confidence: conf - 0.1 });
  else if (RE.beginner.test(s)) found.push({ key: 'skill_level', value: 'beginner', confidence: conf - 0.1 });
  // price sensitivity (first person or a request: "looking for something cheaper")
  if (RE.priceHigh.test(s) && /\b(?:i|i'm|my|me|we|looking|need|want)\b/.test(s)) found.push({ key: 'price_sensitivity', value: 'high', confidence: conf - 0.3 });
  else if (RE.priceLow.test(s) && /\b(?:i|i'm|my|me|we|only)\b/.test(s)) found.push({ key: 'price_sensitivity', value: 'low', confidence: conf - 0.35 });
  // life events
  const le = (v: string, c = conf) => found.push({ key: 'life_event', value: v, confidence: c });
  if (RE.lifeJob.test(s)) le('new_job');
  if (RE.lifeJobLoss.test(s)) le('job_loss');
  if (RE.lifeGrad.test(s)) le('graduation', /just|recently|finally|graduating/.test(s) ? conf : conf - 0.25);
  if (RE.lifeRetired.test(s)) {
    le('retired', conf - 0.05);
    found.push({ key: 'occupation', value: 'retired', confidence: conf - 0.05 });
  }
  if (RE.lifeHome.test(s)) le('new_home');
  if (RE.lifeDivorce.test(s)) le('divorce');
  if (RE.lifeWedding.test(s)) {
    le('wedding');
    if (/got married/.test(s)) found.push({ key: 'family_status', value: 'married', confidence: conf });
    else found.push({ key: 'family_status', value: 'engaged', confidence: conf - 0.25 });
  }
  if (RE.lifeEngaged.test(s)) {
    le('engaged');
    found.push({ key: 'family_status', value: 'engaged', confidence: conf });
  }
  if (RE.lifeBereave.test(s) && /\b(?:just|recently|last (?:week|month|year))\b/.test(s)) le('bereavement', conf - 0.15);
  if (RE.lifeSchool.test(s)) le('started_school', conf - 0.05);
  const np = RE.newPet.exec(s);
  if (np) {
    const rest = s.slice(np.index + np[0].length);
    const w = words(rest).slice(0, 3);
    const pet = w.map((x, i) => PET_INDEX.get(`${x} ${w[i + 1] ?? ''}`.trim()) ?? PET_INDEX.get(x)).find(Boolean);
    if (pet) {
      le('new_pet');
      found.push({ key: 'pet', value: pet, confidence: conf });
    }
  }
}

/** All first-person patterns over one (lower-cased) clause. */
function matchClause(s: string, conf: number): Found[] {
  const found: Found[] = [];
  matchOccupation(s, found, conf);
  matchPets(s, found, conf);
  matchInterests(s, found, conf);
  matchFamily(s, found, conf);
  matchLocation(s, found, conf);
  matchMisc(s, found, conf);
  // "i don't eat meat" is a positive diet statement despite the negation.
  const nm = RE.noMeat.exec(s);
  if (nm) {
    const what = nm[1] as string;
    const v =
      what === 'gluten'
        ? 'gluten_free'
        : what === 'dairy'
          ? 'dairy_free'
          : what === 'carbs'
            ? 'low_carb'
            : /animal products|dairy/.test(what)
              ? 'vegan'
              : /fish/.test(what)
                ? 'vegetarian'
                : 'vegetarian';
    found.push({ key: 'diet', value: v, confidence: conf - 0.1 });
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// Support, reviews, searches

const SUPPORT_PATTERNS: ReadonlyArray<[string, RegExp]> = [
  [
    'double_charge',
    /\b(?:charged|billed)\s+(?:me\s+)?(?:twice|two times|double|2x|two)\b|\bdouble[- ]?(?:charged|billed|charge|billing)\b|\bduplicate\s+(?:charge|payment|transaction)s?\b|\bcharged\s+(?:me\s+)?again\b/,
  ],
  [
    'late_delivery',
    /\b(?:hasn't|has not|haven't|have not|still not|never|didn't|did not|not yet|yet to)\s+(?:arrived?|come|been delivered|shipped|received|got(?:ten)?)\b|\b(?:late|delayed|overdue)\b[^.!?]{0,40}\b(?:deliver\w*|order|package|parcel|shipment)\b|\b(?:deliver\w*|order|package|parcel|shipment)\b[^.!?]{0,40}\b(?:late|delayed|overdue|still waiting|taking forever|lost in transit|stuck)\b|\bwhere is my (?:order|package|parcel|delivery)\b|\bstill waiting (?:for|on)\b/,
  ],
  ['missing_item', /\b(?:missing|wasn't in|was not in|weren't in|not included|forgot to include|left out)\b|\bonly (?:got|received) (?:one|two|\d+|part)\b/],
  ['wrong_item', /\bwrong\s+(?:item|size|colou?r|product|order|model|book|one)\b|\bnot what i ordered\b|\b(?:sent|received|got)\s+(?:me\s+)?(?:the\s+)?wrong\b/],
  [
    'damaged_item',
    /\b(?:arrived|came|delivered|received|box|package|parcel|packaging)\b[^.!?]{0,50}\b(?:damaged|broken|smashed|cracked|dented|crushed|torn|shattered|ripped|leaking)\b|\b(?:damaged|broken|smashed|cracked|dented|crushed|shattered)\b[^.!?]{0,30}\b(?:arrival|delivery|in transit|in the box|when it arrived)\b/,
  ],
  [
    'defective_product',
    /\b(?:stopped working|doesn't work|does not work|not working|won't turn on|will not turn on|won't charge|defective|faulty|malfunction\w*|dead on arrival|keeps crashing|broke after|broken after|fell apart|doesn't turn on)\b/,
  ],
  ['refund', /\b(?:refund\w*|money back|reimburse\w*|chargeback)\b/],
  ['return', /\b(?:return (?:this|it|the|my|an?)|how (?:do|can) i return|return label|send (?:it|this|them) back|exchange (?:it|this|the))\b/],
  ['cancellation', /\b(?:cancel\w*|unsubscribe)\b/],
  ['password_reset', /\b(?:reset|forgot|forgotten|change)\s+(?:my\s+)?password\b|\bpassword reset\b/],
  [
    'login',
    /\b(?:can't|cannot|can not|unable to|couldn't|won't let me|not able to)\s+(?:log ?in|sign ?in|login|access my account)\b|\b(?:log ?in|login|sign ?in)\s+(?:issue|problem|error|fails?|failed|not working)\b|\blocked out\b/,
  ],
  [
    'account',
    /\b(?:account (?:hacked|locked|suspended|deleted|closed|disabled|compromised)|(?:delete|close|deactivate) my account|my account (?:is|was|has been) (?:hacked|locked|suspended|deleted|closed|disabled))\b/,
  ],
  [
    'billing',
    /\b(?:overcharged|billing|invoice|unauthori[sz]ed (?:charge|transaction|payment)|charged (?:me )?(?:for|the wrong)|wrong (?:amount|price)|payment (?:failed|declined|issue|problem))\b/,
  ],
  ['shipping_cost', /\bshipping\s+(?:cost|fee|charge|price)s?\b[^.!?]{0,30}\b(?:high|expensive|too much|ridiculous|crazy)\b|\b(?:expensive|high|ridiculous) shipping\b/],
];

const NEG_WORDS =
  /\b(?:terrible|awful|horrible|worst|disappointed|disappointing|unacceptable|angry|furious|ridiculous|useless|scam|rubbish|garbage|never again|never buying|frustrated|frustrating|annoyed|poor|bad|hate|sucks|waste of money|rip[- ]?off|broken|refund)\b/g;
const POS_WORDS =
  /\b(?:love|loved|great|excellent|amazing|awesome|perfect|fantastic|wonderful|recommend|recommended|thank you so much|thanks so much|happy|pleased|best|brilliant|superb|helpful|quick delivery|fast delivery|five stars|5 stars)\b/g;

function sentimentOf(text: string): number {
  const { nlp, its } = getWink();
  const lc = lower(text);
  const w = nlp.readDoc(text).out(its.sentiment) as number;
  const neg = (lc.match(NEG_WORDS) ?? []).length;
  const pos = (lc.match(POS_WORDS) ?? []).length;
  // wink's score is a -1..1 average; the lexicon nudges it for service vocabulary wink misses.
  return Math.max(-1, Math.min(1, w + 0.15 * (pos - neg)));
}

// ---------------------------------------------------------------------------------------------
// Aggregation

/** Noisy-OR: independent pieces of evidence for the same value. */
export function noisyOr(confs: readonly number[]): number {
  let miss = 1;
  for (const c of confs) miss *= 1 - Math.max(0, Math.min(1, c));
  return Math.min(0.99, 1 - miss);
}

const round = (x: number) => Math.round(x * 1000) / 1000;
const clamp = (x: number, lo = 0.05, hi = 0.95) => Math.max(lo, Math.min(hi, x));

// Generic verbs and nouns a typed trait's cue carries ("works as", "lives in", "plays"): not more than the trait.
const TYPED_CUE_WORDS = new Set(
  'work works working worked job jobs career live lives living lived play plays playing played own owns owned pet pets years year old age professional professionally part full time'.split(
    ' ',
  ),
);

/** True when the statement names something the typed traits from its clause do not: a fact worth keeping beside them. */
function saysMoreThan(statement: string, typed: readonly Candidate[]): boolean {
  const parts = new Set<string>();
  for (const c of typed) for (const p of `${c.key} ${String(c.value)}`.toLowerCase().split(/[_\s-]+/)) if (p) parts.add(p);
  const covers = (w: string) => {
    if (parts.has('children') && /^(?:kids?|child|sons?|daughters?|boys|girls|babies)$/.test(w)) return true;
    if (parts.has('status') && /^(?:wife|husband|spouse|hubby|wifey|boyfriend|girlfriend|partner|fianc[eé]e?|single|relationship)$/.test(w)) return true;
    if (NUMBERS[w] !== undefined && parts.has(String(NUMBERS[w]))) return true;
    const sg = singular(w);
    for (const c of typed) {
      const v = String(c.value);
      if (TOPIC_INDEX.get(w) === v || TOPIC_INDEX.get(sg) === v || OCC_INDEX.get(w) === v || OCC_INDEX.get(sg) === v || PET_INDEX.get(w) === v || PET_INDEX.get(sg) === v)
        return true;
    }
    for (const p of parts) if (w === p || sg === p || (p.length >= 4 && w.length >= 4 && w.slice(0, 4) === p.slice(0, 4))) return true;
    return false;
  };
  return contentWords(statement).some((w) => !TYPED_CUE_WORDS.has(w) && !covers(w));
}

function valueKey(v: TraitValue): string {
  return typeof v === 'string' ? v.toLowerCase().trim() : String(v);
}

// ---------------------------------------------------------------------------------------------
// Entry point

/** "what is your favorite food ?", "what's your greatest weakness ?" (the topic asked about). */
const FAVORITE_QUESTION_RE = /\bwhat(?:'s| is| are|s)\s+(?:your|ur)\s+(favou?rite|fav|fave|greatest|biggest|dream)\s+([a-z]+(?: [a-z]+)?)\s*\??$/;
/** A clause that is only "as a <role>" (not "as a kid", "as a result", "as a hobby"). */
const AS_A_ROLE_RE =
  /(?:^|,\s*)(?:(?:and|but|so|plus|well|being)\s*,?\s+)?(as\s+((?:a|an)\s+(?!(?:kid|child|teen|teenager|baby|boy|girl|youngster|result|matter|whole|family|hobby|job|pet|gift|treat|side|reward|joke|rule|bonus|favor|way|start|team|group|person|human)\b)[a-z]+(?:\s+[a-z]+){0,2}))\s*(?=,|[.!]*\s*$)/;
/** "my dream is to …", "my current goal is …": a goal of the speaker's, said as a statement. */
const MY_GOAL_RE = /^my (?:(?:current|biggest|big|main|only|life|ultimate|next|one) )?(?:dream|goal|plan|ambition)s? (?:in life )?(?:is|are)\b/;
/** The answer to it: "mine is papaya", "my favorite is yellow". */
const MINE_IS_RE = /^(?:mine(?:'s|\s+is|\s+are)|my (?:favou?rite|fav|fave) (?:is|are))\s+(?!(?:the same|too|also|similar|different)\b)([a-z][a-z' -]{1,40})$/;

export function extractOffline(signals: readonly Signal[], current: readonly CurrentTrait[] = [], opts: ExtractOptions = {}): ExtractResult {
  const t0 = performance.now();
  const catalogue = opts.catalogue ?? BUILT_IN_CATALOGUE;
  const maxEvidence = opts.maxEvidence ?? 5;
  const stats: ExtractStats = {
    signals: signals.length,
    clauses: 0,
    candidates: 0,
    ops: 0,
    skipped: { injection: 0, question: 0, hypothetical: 0, negated: 0, empty: 0 },
    droppedSensitive: emptySensitiveCounts(),
    droppedInvalid: 0,
    superseded: 0,
    facts: 0,
    factSkipped: { not_first_person: 0, chit_chat: 0, about_someone_else: 0, too_short: 0, too_long: 0, transient: 0, context_bound: 0 },
    ms: 0,
  };
  const cands: Candidate[] = [];
  const factCands: FactCandidate[] = [];
  const wantFacts = opts.facts ?? true;

  for (const sig of signals) {
    const text = sig.text ?? '';
    if (!text.trim()) {
      stats.skipped.empty++;
      continue;
    }
    if (INJECTION_RE.test(text)) {
      stats.skipped.injection++;
      continue;
    }
    const lc = lower(text);
    const emit = (f: Found, span: Span) => {
      const sp = trimSpan(text, span);
      if (sp.end <= sp.start) return;
      cands.push({
        key: f.key,
        value: f.value,
        confidence: clamp(f.confidence),
        evidence: { eventId: sig.eventId, quote: text.slice(sp.start, sp.end) },
        ts: sig.ts,
        ...(f.negative ? { negative: true } : {}),
      });
    };

    if (SEARCH_TYPES.has(sig.type)) {
      extractSearch(lc, { start: 0, end: text.length }, emit);
      continue;
    }

    const isSupport = SUPPORT_TYPES.has(sig.type);
    const isReview = REVIEW_TYPES.has(sig.type);
    const base = isReview ? 0.8 : 0.85;
    // "what is your favorite food ? mine is papaya": the answer names the topic the question asked about.
    let favAsked: string | null = null;
    for (const sent of sentences(text)) {
      const sl = lc.slice(sent.start, sent.end);
      const endsInQuestion = /\?\s*$/.test(sl);
      // "i love to dance , what do you do for fun ?": only the tail after ", what ..." is the question.
      const qAt = endsInQuestion ? questionTailStart(sl) : 0;
      const parts =
        qAt > 0
          ? [
              { start: sent.start, end: sent.start + qAt, q: false },
              { start: sent.start + qAt, end: sent.end, q: true },
            ]
          : [{ ...sent, q: endsInQuestion }];
      for (const part of parts) {
        const isQuestion = part.q;
        let prevFirstPerson = false;
        for (const cl0 of clauses(lc, part)) {
          stats.clauses++;
          // Drop leading interjections ("yes ,", "lol") so "no , we bought a house" is not negated.
          const raw = lc.slice(cl0.start, cl0.end);
          const ij = INTERJECTION_RE.exec(raw);
          const cl = ij ? { start: cl0.start + ij[0].length, end: cl0.end } : cl0;
          const s0 = lc.slice(cl.start, cl.end).trim();
          if (!s0) continue;
          // A clause with an elided "i": "love to knit" at the start of a message or after "but",
          // "i hate dogs but love cats"; plainer verbs only right after a clause of the speaker's.
          let s = ELIDED_START_RE.test(s0) || (prevFirstPerson && ELIDED_AFTER_I_RE.test(s0)) ? `i ${s0}` : s0;
          const asked = FAVORITE_QUESTION_RE.exec(s);
          if (asked) favAsked = `${asked[1]} ${asked[2]}`;
          else if (favAsked) {
            const mine = MINE_IS_RE.exec(s.replace(/[\s,.!?]+$/, ''));
            if (mine) s = `my ${favAsked} is ${mine[1]}`;
          }
          // "i do enjoy it , as a bee farmer", "as an economics major , i …": the speaker's role in passing
          const asA = isQuestion ? null : AS_A_ROLE_RE.exec(s0);
          if (asA) {
            const role = `i am ${asA[2] as string}`;
            const at = cl.start + Math.max(0, lc.slice(cl.start, cl.end).indexOf(asA[1] as string));
            const span = { start: at, end: at + (asA[1] as string).length };
            const typed = matchClause(role, base);
            for (const f of typed) emit(f, span);
            if (wantFacts && !typed.length) {
              const f = factFromClause(role);
              const sp = trimSpan(text, span);
              if (!('skip' in f) && sp.end > sp.start) factCands.push({ ...f, evidence: { eventId: sig.eventId, quote: text.slice(sp.start, sp.end) }, ts: sig.ts });
            }
          }
          prevFirstPerson = FIRST_PERSON_START_RE.test(s);
          if (isQuestion || QUESTION_START_RE.test(s)) {
            stats.skipped.question++;
            // A shopping question weakly suggests interest: "do you sell vegan food?"
            if (/\b(?:do you (?:sell|have|carry|stock|ship)|where can i (?:buy|find|get)|is there an?|are there any|how much (?:is|are|does)|looking for|in stock)\b/.test(s)) {
              const t = topicIn(s);
              if (t) emit({ key: 'interest', value: t, confidence: 0.3 }, cl);
            }
            continue;
          }
          // "i am a nurse and love hiking": each elided-subject part is read as its own "i ..." clause;
          // the quote stays the whole clause, which holds both verbatim.
          for (const seg of elidedSubjectParts(s)) {
            if (HYPOTHETICAL_RE.test(seg) && !PREFERENCE_RE.test(seg)) {
              // "i'd love to travel and have a dog": the hypothetical runs on to the later parts.
              stats.skipped.hypothetical++;
              // A goal is kept as a fact, never typed: "i want to be a lawyer" → "wants to be a lawyer",
              // "my dream is to work from home" → "their dream is to work from home".
              const goal = wantFacts ? (aspirationFromClause(seg) ?? (MY_GOAL_RE.test(seg) ? factFromClause(seg) : null)) : null;
              if (goal && !('skip' in goal)) {
                const sp = trimSpan(text, cl);
                if (sp.end > sp.start) factCands.push({ ...goal, evidence: { eventId: sig.eventId, quote: text.slice(sp.start, sp.end) }, ts: sig.ts });
              }
              break;
            }
            const conf = HEDGE_RE.test(seg) ? base - 0.2 : base;
            const before = cands.length;
            // A self-disclosure becomes a free-form fact unless the typed traits from the clause cover
            // all it says: "i have a cat" is pet=cat only, "i have a cat named max" keeps the name as a fact.
            const factIfUntyped = () => {
              if (!wantFacts) return;
              const typed = cands.length > before ? cands.slice(before) : null;
              const f0 = factFromClause(seg);
              // "i want to become a nurse" is not a hypothetical by HYPOTHETICAL_RE, but a goal all the same
              const goal = 'skip' in f0 && !typed ? aspirationFromClause(seg) : null;
              const f = goal && /^[a-z ]+ (?:be|become|becoming)\b/.test(goal.statement) ? goal : f0;
              if ('skip' in f) {
                if (!typed) stats.factSkipped[f.skip]++;
              } else if (!typed || saysMoreThan(f.statement, typed)) {
                const sp = trimSpan(text, cl);
                if (sp.end > sp.start) factCands.push({ ...f, evidence: { eventId: sig.eventId, quote: text.slice(sp.start, sp.end) }, ts: sig.ts });
              }
            };
            const neg = NEGATION_RE.exec(seg);
            if (!neg) {
              for (const f of matchClause(seg, conf)) emit(f, cl);
              factIfUntyped();
              continue;
            }
            // Negation scope: "i love hiking , not running" / "i'm a nurse so i never sleep" keep the
            // statement before the negated part; the negated part alone is what is denied.
            const cut = negationScopeStart(seg, neg.index);
            const head = seg.slice(0, cut).trim();
            const sn = seg.slice(cut).trim();
            if (head) for (const f of matchClause(head, conf)) emit(f, cl);
            // Statements like "i don't eat meat" / "i have no kids" are positive facts.
            const likesJob = /\b(?:don't|do not|dont|never)\s+(?:really\s+)?(?:like|enjoy|love|mind)\s+(?:working as|my job as)\b/.test(sn);
            const positive = matchClause(sn, conf).filter(
              (f) => (f.key === 'diet' && RE.noMeat.test(sn)) || (f.key === 'has_children' && f.value === false) || (likesJob && f.key === 'occupation'),
            );
            for (const f of positive) emit(f, cl);
            const denied = matchClause(deNegate(sn), conf).filter((f) => (f.key !== 'has_children' || f.value !== false) && !(likesJob && f.key === 'occupation'));
            stats.skipped.negated++;
            for (const f of denied) {
              if (f.key === 'has_children' && f.value === true && RE.kidsHave.test(deNegate(sn))) emit({ key: 'has_children', value: false, confidence: conf - 0.05 }, cl);
              else emit({ ...f, negative: true }, cl);
            }
            factIfUntyped();
          }
        }
      }
      if (isSupport || (sig.type === 'chat_message' && /\b(?:order|package|parcel|delivery|refund|charged|account|password|login|subscription)\b/.test(sl))) {
        const c = isSupport ? 0.8 : 0.6;
        for (const [issue, re] of SUPPORT_PATTERNS) if (re.test(sl)) emit({ key: 'support_issue', value: issue, confidence: c }, sent);
      }
    }

    if (isSupport || isReview) {
      // Sentiment per sentence; the strongest sentence is the evidence.
      let best: { s: number; span: Span } | null = null;
      let total = 0;
      const sents = sentences(text);
      for (const sp of sents) {
        const sc = sentimentOf(text.slice(sp.start, sp.end));
        total += sc;
        if (!best || Math.abs(sc) > Math.abs(best.s)) best = { s: sc, span: sp };
      }
      if (best) {
        const avg = total / sents.length;
        const score = (avg + best.s) / 2;
        const label = score <= -0.12 ? 'negative' : score >= 0.15 ? 'positive' : 'neutral';
        if (label !== 'neutral' || isReview)
          emit({ key: 'brand_sentiment', value: label, confidence: label === 'neutral' ? 0.45 : 0.55 + Math.min(0.3, Math.abs(score) * 0.4) }, best.span);
      }
    }
  }

  stats.candidates = cands.length;
  const ops = aggregate(cands, current, catalogue, maxEvidence, stats, opts.sensitive ?? {});
  const facts = aggregateFacts(factCands, maxEvidence, stats, opts.sensitive ?? {});
  stats.ops = ops.length;
  stats.facts = facts.length;
  stats.ms = round(performance.now() - t0);
  return { ops, facts, stats, producer: OFFLINE_EXTRACTOR, version: OFFLINE_EXTRACTOR_VERSION };
}

interface FactCandidate {
  statement: string;
  confidence: number;
  evidence: TraitEvidence;
  ts: number;
}

/** One FactOp per normalised statement, its evidence merged; sensitive statements or quotes dropped. */
function aggregateFacts(cands: FactCandidate[], maxEvidence: number, stats: ExtractStats, sensitive: SensitiveOptions): FactOp[] {
  const allow = new Set(sensitive.allow ?? []);
  const groups = new Map<string, { statement: string; ev: { e: TraitEvidence; c: number }[] }>();
  for (const c of cands) {
    const cat = sensitiveCategoryOf(c.statement) ?? sensitiveCategoryOf(c.evidence.quote);
    if (cat && !allow.has(cat)) {
      stats.droppedSensitive[cat]++;
      continue;
    }
    const statement = normaliseStatement(c.statement);
    if (statement.length < 3 || statement.length > 200) continue;
    let g = groups.get(statement);
    if (!g) groups.set(statement, (g = { statement, ev: [] }));
    if (!g.ev.some((x) => x.e.eventId === c.evidence.eventId && x.e.quote === c.evidence.quote)) g.ev.push({ e: c.evidence, c: c.confidence });
  }
  return [...groups.values()].map((g) => {
    const ev = g.ev.sort((a, b) => b.c - a.c);
    return {
      op: 'add' as const,
      statement: g.statement,
      confidence: round(noisyOr(ev.map((x) => x.c))),
      evidence: ev.slice(0, maxEvidence).map((x) => x.e),
    };
  });
}

function extractSearch(lc: string, span: Span, emit: (f: Found, s: Span) => void): void {
  const q = lc.slice(span.start, span.end);
  const topics = new Map<string, number>();
  TOPIC_SCAN_RE.lastIndex = 0;
  for (let m = TOPIC_SCAN_RE.exec(q); m; m = TOPIC_SCAN_RE.exec(q)) {
    const t = TOPIC_INDEX.get(m[0]);
    if (!t) continue;
    const c = WEAK_SEARCH_FORMS.has(m[0]) ? 0.4 : m[0].includes(' ') ? 0.55 : 0.5;
    topics.set(t, Math.max(topics.get(t) ?? 0, c));
  }
  for (const [t, c] of topics) emit({ key: 'interest', value: t, confidence: c }, span);
  // "dog food", "cat litter": the searcher probably has that pet.
  const pet =
    /\b(dog|cat|puppy|kitten|hamster|rabbit|bird|parrot|fish|aquarium|horse)\s+(?:food|treats?|toys?|bed|beds|litter|leash|collar|cage|tank|bowl|crate|harness|saddle|shampoo|flea)\b/.exec(
      q,
    );
  if (pet) emit({ key: 'pet', value: PET_INDEX.get(pet[1] as string) ?? (pet[1] === 'aquarium' ? 'fish' : (pet[1] as string)), confidence: 0.45 }, span);
  const diet = /\b(vegan|vegetarian|gluten[- ]free|keto|paleo|dairy[- ]free|pescatarian)\b/.exec(q);
  if (diet) emit({ key: 'diet', value: (diet[1] as string).replace(/[- ]/g, '_'), confidence: 0.35 }, span);
  if (RE.priceHigh.test(q)) emit({ key: 'price_sensitivity', value: 'high', confidence: 0.45 }, span);
  else if (RE.priceLow.test(q)) emit({ key: 'price_sensitivity', value: 'low', confidence: 0.4 }, span);
  if (/\b(?:for beginners|beginner|beginners|for dummies|learn to|how to start|starter kit|101)\b/.test(q)) emit({ key: 'skill_level', value: 'beginner', confidence: 0.4 }, span);
  else if (/\b(?:advanced|professional|pro-grade|expert)\b/.test(q)) emit({ key: 'skill_level', value: 'expert', confidence: 0.3 }, span);
}

function aggregate(cands: Candidate[], current: readonly CurrentTrait[], catalogue: Catalogue, maxEvidence: number, stats: ExtractStats, sensitive: SensitiveOptions): TraitOp[] {
  // Sensitive filter per candidate, so one sensitive quote drops only its own evidence.
  const kept: Candidate[] = [];
  for (const c of cands) {
    const r = dropSensitive([{ op: 'add', key: c.key, value: c.value, confidence: c.confidence, evidence: [c.evidence] }], sensitive);
    if (r.droppedTotal > 0) {
      for (const [cat, n] of Object.entries(r.dropped) as [SensitiveCategory, number][]) stats.droppedSensitive[cat] += n;
      continue;
    }
    if (c.value !== '*' && !isValidValue(catalogue, c.key, c.value)) {
      stats.droppedInvalid++;
      continue;
    }
    if (c.value === '*' && !c.negative) continue;
    kept.push(c);
  }

  interface Group {
    key: string;
    value: TraitValue;
    confs: number[];
    evidence: { e: TraitEvidence; c: number }[];
    lastTs: number;
    negative: boolean;
  }
  const groups = new Map<string, Group>();
  for (const c of kept) {
    const id = `${c.negative ? '-' : '+'}${c.key}\u0000${valueKey(c.value)}`;
    let g = groups.get(id);
    if (!g) {
      g = { key: c.key, value: typeof c.value === 'string' ? c.value.toLowerCase().trim() : c.value, confs: [], evidence: [], lastTs: c.ts, negative: !!c.negative };
      groups.set(id, g);
    }
    // The same quote from the same event twice (two patterns) is one piece of evidence.
    const dup = g.evidence.find((x) => x.e.eventId === c.evidence.eventId && x.e.quote === c.evidence.quote);
    if (dup) {
      if (c.confidence > dup.c) {
        g.confs[g.evidence.indexOf(dup)] = c.confidence;
        dup.c = c.confidence;
      }
    } else {
      g.confs.push(c.confidence);
      g.evidence.push({ e: c.evidence, c: c.confidence });
    }
    g.lastTs = Math.max(g.lastTs, c.ts);
  }

  const positives = [...groups.values()].filter((g) => !g.negative);
  const negatives = [...groups.values()].filter((g) => g.negative);
  const out: TraitOp[] = [];
  const evidenceOf = (g: Group) =>
    g.evidence
      .sort((a, b) => b.c - a.c)
      .slice(0, maxEvidence)
      .map((x) => x.e);

  // A denial newer than the assertion cancels it within the call ("i had a dog. i don't have a dog anymore").
  const live = positives.filter((g) => !negatives.some((n) => n.key === g.key && (valueKey(n.value) === valueKey(g.value) || n.value === '*') && n.lastTs > g.lastTs));

  // Single-valued keys: one value per key, by the catalogue's merge rule.
  const byKey = new Map<string, Group[]>();
  for (const g of live) byKey.set(g.key, [...(byKey.get(g.key) ?? []), g]);
  for (const [key, gs] of byKey) {
    const def = catalogue.get(key);
    let chosen = gs;
    if (def && def.cardinality === 'single' && gs.length > 1) {
      const score = (g: Group) => noisyOr(g.confs);
      const sorted = [...gs].sort((a, b) => (def.merge === 'latest' ? b.lastTs - a.lastTs || score(b) - score(a) : score(b) - score(a) || b.lastTs - a.lastTs));
      chosen = [sorted[0] as Group];
      stats.superseded += gs.length - 1;
    }
    for (const g of chosen) {
      const conf = noisyOr(g.confs);
      const cur = current.filter((c) => c.key === key);
      const same = cur.find((c) => valueKey(c.value) === valueKey(g.value));
      const single = def?.cardinality === 'single';
      let op: TraitOp['op'] = 'add';
      let confidence = conf;
      if (same) {
        op = 'update';
        confidence = noisyOr([same.confidence, conf]);
      } else if (single && cur.length > 0) op = 'update';
      out.push({ op, key, value: g.value, confidence: round(confidence), evidence: evidenceOf(g) });
    }
  }

  // Retractions: only of traits the user has.
  for (const n of negatives) {
    for (const c of current) {
      if (c.key !== n.key) continue;
      if (n.value !== '*' && valueKey(c.value) !== valueKey(n.value)) continue;
      if (live.some((g) => g.key === c.key && valueKey(g.value) === valueKey(c.value) && g.lastTs > n.lastTs)) continue;
      out.push({ op: 'retract', key: c.key, value: c.value, confidence: round(noisyOr(n.confs)), evidence: evidenceOf(n) });
    }
  }
  return out;
}
