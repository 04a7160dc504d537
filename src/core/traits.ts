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
}
