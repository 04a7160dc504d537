import { type FactOp, factKey, isSingleValuedTopic, normaliseStatement, normaliseTopic, type TraitOp, type TraitValue } from '../core/traits.ts';
import type { Evidence, Trait } from '../core/types.ts';
import type { NewTrait, TraitChange, TraitPlan, TraitStore } from '../db/stores/traits.ts';
import type { Catalogue, TraitDef } from './catalogue.ts';

/**
 * The merge step: the only code that turns trait operations into rows. It checks each op against
 * the catalogue, verifies every quote against the redacted text of the signal it cites, dedupes
 * by normalised value, and writes history (valid_to, superseded_by) instead of overwriting.
 * An op whose evidence cannot be verified is rejected: that is the defence against a model that
 * hallucinates, and against text that tries to talk the model into a trait.
 */

export interface MergeInput {
  userId: number;
  ops: readonly TraitOp[];
  /** eventId → the redacted text the extractor was shown */
  signals: ReadonlyMap<number, string>;
  catalogue: Catalogue;
  producer: string;
  version: string;
  now: number;
}

export interface MergeReport {
  added: number;
  reinforced: number;
  superseded: number;
  weakened: number;
  retracted: number;
  rejected: Record<string, number>;
  changed: boolean;
  profileVersion: number | null;
}

const MAX_EVIDENCE = 10;

/** Lower case, single spaces; closed vocabularies also map spaces and hyphens to underscores. */
export function normaliseValue(def: TraitDef, value: TraitValue): TraitValue | null {
  if (def.valueType === 'number') {
    const n = typeof value === 'number' ? value : Number(value);
    return Number.isFinite(n) ? n : null;
  }
  if (def.valueType === 'boolean') {
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'yes') return true;
    if (value === 'false' || value === 'no') return false;
    return null;
  }
  let s = String(value).normalize('NFC').toLowerCase().replace(/\s+/g, ' ').trim();
  if (def.allowed) {
    s = s.replace(/[\s-]+/g, '_');
    return def.allowed.includes(s) ? s : null;
  }
  return s.length > 0 && s.length <= 100 ? s : null;
}

/**
 * Finds the quote in the signal's text: verbatim, or ignoring case and runs of whitespace (models
 * re-case quotes). Returns the span as it stands in the text, or null.
 */
export function locateQuote(text: string, quote: string): string | null {
  const q = quote.trim();
  if (q.length < 2) return null;
  if (text.includes(q)) return q;
  const folded = q.replace(/\s+/g, ' ').toLowerCase();
  const lower = text.toLowerCase();
  if (lower.length !== text.length) return null; // case folding changed lengths: only exact matches are safe
  const i = lower.indexOf(folded);
  return i >= 0 ? text.slice(i, i + folded.length) : null;
}

const noisyOr = (a: number, b: number) => 1 - (1 - a) * (1 - b);
const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * Plans the changes for one batch of operations against the user's current semantic traits. Pure:
 * the trait store runs it inside the transaction that writes its changes (TraitStore.merge), so
 * the rows it decides on are the rows it changes. Later operations see earlier ones' effects.
 */
export function planTraitOps(current: readonly Trait[], input: MergeInput, firstRef = -1): TraitPlan<MergeReport> {
  const report: MergeReport = { added: 0, reinforced: 0, superseded: 0, weakened: 0, retracted: 0, rejected: {}, changed: false, profileVersion: null };
  const reject = (reason: string) => {
    report.rejected[reason] = (report.rejected[reason] ?? 0) + 1;
  };
  const changes: TraitChange[] = [];
  // The working set: current rows, with this plan's inserts (negative refs) and closes applied.
  let rows: Trait[] = current.filter((t) => t.kind === 'semantic');
  let nextRef = firstRef;
  const insert = (t: Omit<NewTrait, 'kind' | 'producer' | 'version'> & Partial<Pick<NewTrait, 'producer' | 'version'>>): number => {
    const ref = nextRef--;
    const trait: NewTrait = { kind: 'semantic', producer: input.producer, version: input.version, ...t };
    changes.push({ op: 'insert', ref, trait });
    rows.push({ id: ref, ...trait, validFrom: input.now, validTo: null, supersededBy: null });
    return ref;
  };
  const close = (id: number, supersededBy: number | null) => {
    changes.push({ op: 'close', id, supersededBy });
    rows = rows.filter((r) => r.id !== id);
  };
  for (const op of input.ops) {
    const def = input.catalogue.get(op.key);
    if (!def) {
      reject('unknown_key');
      continue;
    }
    const value = normaliseValue(def, op.value);
    if (value === null) {
      reject('invalid_value');
      continue;
    }
    const evidence = verifiedEvidence(op.evidence, input.signals);
    if (evidence.length === 0) {
      reject('unverified_evidence');
      continue;
    }
    const confidence = Math.min(1, Math.max(0, op.confidence));
    // Oldest first, as rows were written: "the" current value of a single-valued key is the first.
    const currentOfKey = rows.filter((r) => r.key === def.key).sort(byAge);
    const same = currentOfKey.find((r) => r.value === value);

    if (op.op === 'retract') {
      if (!same) {
        reject('retract_unknown_value');
        continue;
      }
      close(same.id, null);
      report.retracted++;
      report.changed = true;
      continue;
    }
    if (same) {
      // Repeated evidence raises confidence; the old row stays in history.
      const merged = mergeEvidence(same, evidence);
      if (merged.added === 0) continue; // the same quotes again: nothing new learned
      const id = insert({ key: def.key, value, confidence: round(noisyOr(same.confidence, confidence)), evidence: merged.list });
      close(same.id, id);
      report.reinforced++;
      report.changed = true;
      continue;
    }
    if (def.cardinality === 'multi' || currentOfKey.length === 0) {
      insert({ key: def.key, value, confidence: round(confidence), evidence });
      report.added++;
      report.changed = true;
      continue;
    }
    // A single-valued key with a different current value: a contradiction.
    const old = currentOfKey[0] as Trait;
    if (def.merge === 'latest' || confidence >= old.confidence) {
      const id = insert({ key: def.key, value, confidence: round(confidence), evidence });
      for (const r of currentOfKey) close(r.id, id);
      report.superseded++;
    } else {
      // Weaker contrary evidence lowers the old value's confidence instead of replacing it.
      const id = insert({
        key: def.key,
        value: old.value,
        confidence: round(old.confidence * (1 - confidence / 2)),
        evidence: old.evidence,
        producer: old.producer,
        version: old.version,
      });
      close(old.id, id);
      report.weakened++;
    }
    report.changed = true;
  }
  return { changes, result: report };
}

/** Merges one batch of operations in one transaction; see planTraitOps. */
export async function mergeTraitOps(traits: TraitStore, input: MergeInput): Promise<MergeReport> {
  const r = await traits.merge({ userId: input.userId, kind: 'semantic', now: input.now, plan: (current) => planTraitOps(current, input) });
  return { ...r.result, profileVersion: r.profileVersion };
}

/** Stored rows by id; rows inserted by this plan (negative refs) after them, in insertion order. */
const byAge = (a: Trait, b: Trait) => (a.id > 0 && b.id > 0 ? a.id - b.id : a.id > 0 ? -1 : b.id > 0 ? 1 : b.id - a.id);

function mergeEvidence(row: Trait, fresh: Evidence[]): { list: Evidence[]; added: number } {
  const list = [...row.evidence];
  const seen = new Set(list.map((e) => `${e.eventId}\u0000${e.quote}`));
  let added = 0;
  for (const e of fresh) {
    const k = `${e.eventId}\u0000${e.quote}`;
    if (seen.has(k)) continue;
    seen.add(k);
    list.push(e);
    added++;
  }
  return { list: list.slice(-MAX_EVIDENCE), added };
}

/** The op's quotes that stand in the signal they cite, as spans of that (redacted) text. */
function verifiedEvidence(cited: readonly Evidence[], signals: ReadonlyMap<number, string>): Evidence[] {
  const evidence: Evidence[] = [];
  for (const ev of cited) {
    const text = signals.get(ev.eventId);
    const span = text === undefined ? null : locateQuote(text, ev.quote);
    if (span !== null) evidence.push({ eventId: ev.eventId, quote: span });
  }
  return evidence;
}

// ---------------------------------------------------------------------------------------------
// Facts: free-form self-disclosures (kind 'fact', key `fact:...`, value = the statement).

/**
 * Splits fact operations into those the catalogue can type (returned as trait ops, verified and
 * merged like any trait) and the rest (kept as facts). A fact whose `typed` key or value the
 * catalogue rejects stays a fact.
 */
export function typeFacts(facts: readonly FactOp[], catalogue: Catalogue): { traitOps: TraitOp[]; facts: FactOp[] } {
  const traitOps: TraitOp[] = [];
  const rest: FactOp[] = [];
  for (const f of facts) {
    const def = f.typed ? catalogue.get(f.typed.key) : undefined;
    const value = def && f.typed ? normaliseValue(def, f.typed.value) : null;
    if (def && value !== null) {
      traitOps.push({ op: f.op === 'retract' ? 'retract' : 'add', key: def.key, value, confidence: f.confidence, evidence: f.evidence });
    } else rest.push(f);
  }
  return { traitOps, facts: rest };
}

const NUMBER_WORDS: Readonly<Record<string, string>> = {
  one: '1',
  two: '2',
  three: '3',
  four: '4',
  five: '5',
  six: '6',
  seven: '7',
  eight: '8',
  nine: '9',
  ten: '10',
  eleven: '11',
  twelve: '12',
  thirteen: '13',
  fourteen: '14',
  sixteen: '16',
  seventeen: '17',
  eighteen: '18',
  nineteen: '19',
  fifteen: '15',
  twenty: '20',
  thirty: '30',
  forty: '40',
  fifty: '50',
  hundred: '100',
  single: '1',
  couple: '2',
  twins: '2',
  dozen: '12',
};
// Function words, pronouns, hedges and verbs of being/having: they carry no fact of their own.
const FACT_STOP = new Set(
  (
    'a an i me my mine myself im ive id ill we our us you your he she they them their his her its it the of to in on at for from by with and or but so ' +
    'am is are was were be been being have has had having do does did will would can could should just really very quite ' +
    'also too about around some any this that these those there here now currently still all lot lots much many every each own like love loves ' +
    'enjoy enjoys liked loved enjoyed big huge great fan into kind sort pretty most as than when where what who which while whom whose then'
  ).split(' '),
);
const FACT_SYNONYMS: Readonly<Record<string, string>> = {
  mom: 'mother',
  mum: 'mother',
  mommy: 'mother',
  dad: 'father',
  daddy: 'father',
  papa: 'father',
  kid: 'child',
  kids: 'child',
  children: 'child',
  son: 'child',
  daughter: 'child',
  favourite: 'favorite',
  fave: 'favorite',
  reside: 'live',
  resides: 'live',
  living: 'live',
  lives: 'live',
  job: 'work',
  works: 'work',
  working: 'work',
  worked: 'work',
  employed: 'work',
  puppy: 'dog',
  puppies: 'dog',
  doggy: 'dog',
  kitten: 'cat',
  kitty: 'cat',
  automobile: 'car',
  cars: 'car',
  colour: 'color',
  grandpa: 'grandfather',
  grandma: 'grandmother',
  granddad: 'grandfather',
  granny: 'grandmother',
  tv: 'television',
  novels: 'book',
  novel: 'book',
  grew: 'raise',
  raised: 'raise',
  married: 'marry',
  dont: 'not',
  doesnt: 'not',
  didnt: 'not',
  never: 'not',
  no: 'not',
  cant: 'not',
  cannot: 'not',
  wont: 'not',
  isnt: 'not',
  arent: 'not',
  wasnt: 'not',
  havent: 'not',
  hasnt: 'not',
  wed: 'marry',
  wife: 'spouse',
  husband: 'spouse',
  hubby: 'spouse',
  moved: 'move',
  moving: 'move',
};

/** A word's comparison form: number words as digits, a few synonyms, a light suffix strip. */
function factToken(w: string): string | null {
  if (FACT_STOP.has(w)) return null;
  const n = NUMBER_WORDS[w];
  if (n) return n;
  const syn = FACT_SYNONYMS[w];
  if (syn) return syn;
  if (/^\d/.test(w)) return w;
  let s = w;
  if (s.length > 5 && s.endsWith('ing')) s = s.slice(0, -3);
  else if (s.length > 4 && s.endsWith('ies')) s = `${s.slice(0, -3)}y`;
  else if (s.length > 4 && s.endsWith('ed')) s = s.slice(0, -2);
  else if (s.length > 3 && s.endsWith('s') && !s.endsWith('ss')) s = s.slice(0, -1);
  const syn2 = FACT_SYNONYMS[s];
  return syn2 ?? s;
}

/** The content tokens of a statement, as compared by factSimilarity. */
export function factTokens(statement: string): Set<string> {
  const out = new Set<string>();
  const words = statement
    .normalize('NFKC')
    .toLowerCase()
    .replace(/['’]/g, '')
    .split(/[^\p{L}\p{N}]+/u);
  for (const w of words) {
    if (!w) continue;
    const t = factToken(w);
    if (t) out.add(t);
  }
  return out;
}

/**
 * How alike two statements are, in [0,1]: the Dice coefficient of their content tokens (number
 * words as digits, a few synonyms, suffixes stripped), so "reads about 20 books a year" and "i've
 * read about twenty books this year" score 1 and "lives in ohio" / "lives in lisbon" 0.5. The
 * threshold (FACT_DEDUPE_THRESHOLD) and the comparison with the offline sentence embedder are
 * measured on PersonaChat tune-split pairs by bench/fact-dedupe.ts.
 */
export function factSimilarity(a: string, b: string, tokens: (s: string) => Set<string> = factTokens): number {
  const ta = tokens(a);
  const tb = tokens(b);
  if (ta.size === 0 || tb.size === 0) return normaliseStatement(a) === normaliseStatement(b) ? 1 : 0;
  let shared = 0;
  for (const t of ta) if (tb.has(t)) shared++;
  const dice = (2 * shared) / (ta.size + tb.size);
  const overlap = shared / Math.min(ta.size, tb.size);
  const score = (dice + overlap) / 2;
  // Statements that differ in a number, in polarity, or in whom they are about are two facts
  // however many words they share ("has 2 dogs" / "has 3 dogs", "is a doctor" / "is married to a doctor").
  if (!sameWithin(ta, tb, (t) => /^\d/.test(t)) || !sameWithin(ta, tb, (t) => t === 'not') || !sameWithin(ta, tb, (t) => RELATION_TOKENS.has(t))) {
    return Math.min(score, 0.5);
  }
  return score;
}

const RELATION_TOKENS = new Set([
  'mother',
  'father',
  'parent',
  'child',
  'spouse',
  'marry',
  'sister',
  'brother',
  'sibling',
  'grandfather',
  'grandmother',
  'grandparent',
  'friend',
  'boyfriend',
  'girlfriend',
  'partner',
  'aunt',
  'uncle',
  'cousin',
  'family',
  'neighbor',
  'neighbour',
  'roommate',
  'boss',
]);

/** True when the two token sets hold the same tokens of the given kind. */
function sameWithin(a: Set<string>, b: Set<string>, kind: (t: string) => boolean): boolean {
  const ka = [...a].filter(kind);
  const kb = [...b].filter(kind);
  return ka.length === kb.length && ka.every((t) => b.has(t));
}

/** At or above this similarity two statements are one fact. */
export const FACT_DEDUPE_THRESHOLD = 0.7;

export interface FactMergeInput {
  userId: number;
  facts: readonly FactOp[];
  /** eventId → the redacted text the extractor was shown */
  signals: ReadonlyMap<number, string>;
  producer: string;
  version: string;
  now: number;
  /** statement similarity in [0,1]; factSimilarity when absent */
  similarity?: ((a: string, b: string) => number) | undefined;
  threshold?: number | undefined;
}

export interface FactMergeReport {
  added: number;
  /** a rephrasing of a current fact: one row, both pieces of evidence */
  reinforced: number;
  /** a different statement on a single-valued topic replaced the current one */
  superseded: number;
  retracted: number;
  rejected: Record<string, number>;
  changed: boolean;
}

/**
 * Plans the fact rows for one batch, like planTraitOps for traits: quotes verified against the
 * signals, a statement that rephrases a current fact (similarity ≥ threshold) merges into it
 * (the current statement stays, the evidence is the union, confidence rises), a different
 * statement on a single-valued topic supersedes the topic's current facts, "retract" closes the
 * current fact it rephrases. Pure; later facts see earlier ones. Refs start at `firstRef` so one
 * transaction can carry trait and fact inserts together.
 */
export function planFactOps(current: readonly Trait[], input: FactMergeInput, firstRef = -1): TraitPlan<FactMergeReport> {
  const report: FactMergeReport = { added: 0, reinforced: 0, superseded: 0, retracted: 0, rejected: {}, changed: false };
  const reject = (reason: string) => {
    report.rejected[reason] = (report.rejected[reason] ?? 0) + 1;
  };
  // Each statement is tokenised once per plan, however many rows it is compared with.
  const memo = new Map<string, Set<string>>();
  const tokens = (x: string) => {
    let t = memo.get(x);
    if (!t) memo.set(x, (t = factTokens(x)));
    return t;
  };
  const similarity = input.similarity ?? ((a: string, b: string) => factSimilarity(a, b, tokens));
  const threshold = input.threshold ?? FACT_DEDUPE_THRESHOLD;
  const changes: TraitChange[] = [];
  let rows: Trait[] = current.filter((t) => t.kind === 'fact');
  let nextRef = firstRef;
  const insert = (t: { key: string; value: string; confidence: number; evidence: Evidence[] }): number => {
    const ref = nextRef--;
    const trait: NewTrait = { kind: 'fact', producer: input.producer, version: input.version, ...t };
    changes.push({ op: 'insert', ref, trait });
    rows.push({ id: ref, ...trait, validFrom: input.now, validTo: null, supersededBy: null });
    return ref;
  };
  const close = (id: number, supersededBy: number | null) => {
    changes.push({ op: 'close', id, supersededBy });
    rows = rows.filter((r) => r.id !== id);
  };
  for (const f of input.facts) {
    const statement = normaliseStatement(f.statement);
    if (statement.length < 3 || statement.length > 200) {
      reject('invalid_value');
      continue;
    }
    const evidence = verifiedEvidence(f.evidence, input.signals);
    if (evidence.length === 0) {
      reject('unverified_evidence');
      continue;
    }
    const topic = normaliseTopic(f.topic);
    const key = factKey({ statement, topic });
    const confidence = Math.min(1, Math.max(0, f.confidence));
    // The current fact this statement rephrases: the most similar one at or above the threshold.
    let same: Trait | undefined;
    let best = threshold;
    for (const r of [...rows].sort(byAge)) {
      const sim = similarity(statement, String(r.value));
      if (sim >= best) {
        best = sim;
        same = r;
        if (sim >= 1) break;
      }
    }
    if (f.op === 'retract') {
      if (!same) {
        reject('retract_unknown_value');
        continue;
      }
      close(same.id, null);
      report.retracted++;
      report.changed = true;
      continue;
    }
    if (same) {
      const merged = mergeEvidence(same, evidence);
      if (merged.added === 0) continue;
      const id = insert({ key: same.key, value: String(same.value), confidence: round(noisyOr(same.confidence, confidence)), evidence: merged.list });
      close(same.id, id);
      report.reinforced++;
      report.changed = true;
      continue;
    }
    const contradicted = isSingleValuedTopic(topic) ? rows.filter((r) => r.key === key) : [];
    const id = insert({ key, value: statement, confidence: round(confidence), evidence });
    for (const r of contradicted) close(r.id, id);
    if (contradicted.length) report.superseded++;
    else report.added++;
    report.changed = true;
  }
  return { changes, result: report };
}

/** The lowest (most negative) ref a plan used, so a second plan can continue below it. */
export function nextFreeRef(changes: readonly TraitChange[]): number {
  let min = 0;
  for (const c of changes) if (c.op === 'insert' && c.ref < min) min = c.ref;
  return min - 1;
}
