/**
 * Trait operations: the one shape both extractors (LLM and offline) produce and the merge step
 * consumes. The zod schema is what the LLM path validates model output with, so it is strict:
 * unknown fields, empty quotes or out-of-range confidences are rejected rather than repaired.
 */
import { z } from 'zod';

export type TraitValue = string | number | boolean;

export interface TraitEvidence {
  eventId: number;
  /** verbatim substring of the (redacted) signal text */
  quote: string;
}

export interface TraitOp {
  op: 'add' | 'update' | 'retract';
  key: string;
  value: TraitValue;
  confidence: number;
  evidence: TraitEvidence[];
}

export const traitEvidenceSchema = z.strictObject({
  eventId: z.number().int().nonnegative(),
  quote: z.string().min(1).max(1000),
});

export const traitOpSchema = z.strictObject({
  op: z.enum(['add', 'update', 'retract']),
  key: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z][a-z0-9_]*$/, 'trait keys are snake_case'),
  value: z.union([z.string().min(1).max(200), z.number().finite(), z.boolean()]),
  confidence: z.number().min(0).max(1),
  evidence: z.array(traitEvidenceSchema).min(1).max(20),
});

export const traitOpsSchema = z.array(traitOpSchema);

/** A text signal: one event's text, as the extractors see it (after redaction). */
export interface Signal {
  eventId: number;
  /** event type, e.g. search, chat_message, support_ticket, review */
  type: string;
  text: string;
  /** epoch milliseconds */
  ts: number;
}

/** What an extractor needs to know about a user's existing traits to choose add/update/retract. */
export interface CurrentTrait {
  key: string;
  value: TraitValue;
  confidence: number;
  /** when the current row was written (epoch ms): the LLM context keeps the most recent facts */
  validFrom?: number;
}

/**
 * A fact operation: one free-form self-disclosure about the user that the catalogue has no key
 * for ("i read twenty books a year" → "reads about 20 books a year"). Extractors return these
 * beside their trait operations (`ExtractResult.facts`); the merge step turns them into rows of
 * the `traits` table with `kind = 'fact'`, `key = factKey(op)` (`fact:<topic>` or
 * `fact:<slug of the statement>`) and `value` = the normalised statement, with evidence,
 * confidence, producer, version and history like every trait.
 *
 * What an extractor must put in one:
 * - `statement`: a short statement about the user without the subject, lower case, present tense
 *   where it still holds, no trailing punctuation, at most 200 characters: "reads about 20 books a
 *   year", "was raised by their grandfather", "has never broken a bone", "moved to lisbon last
 *   month". Only first-person self-disclosures: not questions, not hypotheticals, not about
 *   someone else, not chit-chat ("i am fine"). `normaliseStatement` is applied again by the merge.
 * - `evidence`: as for traits, a quote copied verbatim from the (PII-redacted) signal it cites;
 *   a fact whose quote cannot be found in that signal is rejected (`unverified_evidence`).
 * - `topic` (optional, snake_case, e.g. `residence`, `occupation`, `pet`, `reading`,
 *   `favorite_color`): what the fact is about. It groups facts and decides contradictions: in a
 *   single-valued topic (`isSingleValuedTopic`: FACT_SINGLE_TOPICS and every `favorite_*`) a new
 *   statement that is not a rephrasing of the current one supersedes it ("lives in ohio" →
 *   "moved to lisbon last month": the old row gets valid_to and superseded_by). Leave it out
 *   when unsure; untopical facts never supersede anything, they only dedupe.
 * - `typed` (optional): the catalogue trait this statement establishes when a catalogue key fits
 *   (`{ key: 'occupation', value: 'nurse' }`). The merge then writes the typed trait (checked
 *   against the catalogue and verified like any trait op) and keeps no separate fact row; if the
 *   catalogue rejects the key or value, the fact is kept as a fact. So a detector may emit every
 *   self-disclosure as a FactOp and attach `typed` where it can.
 * - `op`: "add", or "retract" when the user says a current fact no longer holds (the merge closes
 *   the current fact that the statement rephrases; nothing matching → rejected).
 * - `confidence` in [0,1], on the same scale as trait ops (0.9 explicit first-person statement).
 *
 * Semantic dedupe (two phrasings of one fact become one row carrying both quotes) and the
 * sensitive-category filter (health, religion, sexual orientation, ethnicity, politics, trade
 * unions: dropped whatever the wording, judged on statement, topic and quotes) are the stage's
 * job, not the extractor's.
 */
export interface FactOp {
  op: 'add' | 'retract';
  statement: string;
  topic?: string | undefined;
  confidence: number;
  evidence: TraitEvidence[];
  typed?: { key: string; value: TraitValue } | undefined;
}

/** The `key` prefix of every fact row. */
export const FACT_KEY_PREFIX = 'fact:';

/**
 * Topics with one current value: a new statement on one of these supersedes the current one
 * (unless it is a rephrasing of it). Every `favorite_*` topic is single-valued too.
 */
export const FACT_SINGLE_TOPICS = ['residence', 'hometown', 'age', 'occupation', 'employer', 'relationship_status', 'school', 'height', 'weight'] as const;

export function isSingleValuedTopic(topic: string | undefined): boolean {
  if (!topic) return false;
  return (FACT_SINGLE_TOPICS as readonly string[]).includes(topic) || topic.startsWith('favorite_');
}

/** Lower case, NFC, single spaces, no surrounding quotes or trailing punctuation. */
export function normaliseStatement(s: string): string {
  return s
    .normalize('NFC')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^["'“”‘’]+|["'“”‘’]+$/g, '')
    .replace(/[\s.,;:!?…]+$/u, '')
    .trim();
}

/** Topic spelling: snake_case, `favourite_` → `favorite_`. Returns undefined for an empty topic. */
export function normaliseTopic(topic: string | undefined): string | undefined {
  if (!topic) return undefined;
  const t = topic
    .normalize('NFC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '_')
    .replace(/^_+|_+$/g, '')
    .replace(/^favourite_/, 'favorite_')
    .slice(0, 48);
  return t || undefined;
}

const SLUG_STOP = new Set([
  'a',
  'an',
  'the',
  'of',
  'to',
  'in',
  'on',
  'at',
  'for',
  'and',
  'or',
  'is',
  'am',
  'are',
  'was',
  'were',
  'be',
  'has',
  'have',
  'had',
  'their',
  'my',
  'about',
  'with',
  'by',
  'i',
]);

/** The row key of a fact: `fact:<topic>`, else `fact:<up to four content words of the statement>`. */
export function factKey(op: Pick<FactOp, 'statement' | 'topic'>): string {
  const topic = normaliseTopic(op.topic);
  if (topic) return `${FACT_KEY_PREFIX}${topic}`;
  const words = normaliseStatement(op.statement)
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w && !SLUG_STOP.has(w));
  // Keys are at most 64 characters, like catalogue keys (the history route's limit).
  return `${FACT_KEY_PREFIX}${words.slice(0, 4).join('_').slice(0, 59).replace(/_+$/, '') || 'statement'}`;
}

export const factOpSchema = z.strictObject({
  op: z.enum(['add', 'retract']),
  statement: z.string().min(3).max(200),
  topic: z
    .string()
    .min(1)
    .max(48)
    .regex(/^[a-z][a-z0-9_]*$/, 'fact topics are snake_case')
    .optional(),
  confidence: z.number().min(0).max(1),
  evidence: z.array(traitEvidenceSchema).min(1).max(20),
  typed: z
    .strictObject({
      key: z
        .string()
        .min(1)
        .max(64)
        .regex(/^[a-z][a-z0-9_]*$/),
      value: z.union([z.string().min(1).max(200), z.number().finite(), z.boolean()]),
    })
    .optional(),
});
