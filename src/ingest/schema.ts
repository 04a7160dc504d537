import { z } from 'zod';
import { dict } from '../core/data-quality.ts';

/**
 * Characters an identifier may not contain: controls (C0, C1, NUL, DEL), format characters (bidi
 * embeddings, overrides and isolates U+202A–U+202E / U+2066–U+2069, LRM/RLM/ALM, zero-width
 * space/joiners, word joiner, soft hyphen, tag characters), lone surrogates and line/paragraph
 * separators. Each is invisible or reorders what is shown, so `u00010\u202E` would display as
 * `u00010` while being another user. Checked after NFC and trimming (docs/data-quality.md).
 */
export const HIDDEN_CHARACTERS = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

/** `\u{202e}`-style escapes for hidden characters, so an error message can show where they are. */
export function escapeHidden(s: string): string {
  return s.replace(new RegExp(HIDDEN_CHARACTERS.source, 'gu'), (ch) => `\\u{${ch.codePointAt(0)!.toString(16)}}`);
}

/** Rejection reason (and zod issue param) for an identifier with a hidden character. */
export const INVALID_CHARACTERS = 'invalid_characters';

/** An identifier as stored: NFC, trimmed, 1..max characters, nothing hidden (see HIDDEN_CHARACTERS). */
export const identifierString = (max: number) =>
  z
    .string()
    .transform((v) => v.normalize('NFC').trim())
    .pipe(
      z
        .string()
        .min(1, 'must not be empty')
        .max(max, `must be at most ${max} characters`)
        .refine((v) => !HIDDEN_CHARACTERS.test(v), {
          message: 'must not contain control, bidirectional or other invisible formatting characters (e.g. NUL, U+202E)',
          params: { reason: INVALID_CHARACTERS },
        }),
    );

/** Ids may arrive as numbers (common for user ids); they are stored as strings. */
const idString = (max: number) =>
  z
    .union([z.string(), z.number().int().nonnegative()])
    .transform((v) => String(v))
    .pipe(identifierString(max));

/**
 * One event as a client sends it. Unknown top-level fields are rejected (a typo such as
 * `timestmap` must not silently drop data); free-form data goes in `properties`.
 */
export const eventInputSchema = z
  .object({
    eventId: idString(200).optional().describe('Client id for idempotent retries; unique per deployment.'),
    userId: idString(256).optional().describe('Your id for a known user.'),
    anonymousId: idString(256).optional().describe('A device or cookie id before the user is known.'),
    type: z.string().min(1).max(100).describe('Event type, e.g. page_view, purchase, search, chat_message. Normalised to snake_case.'),
    timestamp: z
      .union([z.string().max(64), z.number()])
      .optional()
      .describe('ISO 8601 (no zone = UTC) or epoch milliseconds. Missing: the time it was received, flagged.'),
    properties: z.record(z.string(), z.unknown()).optional().describe('Free-form JSON object. Keys normalised to snake_case.'),
    text: z.string().optional().describe('The text of a text signal (search query, chat or support message, review).'),
    source: z.string().max(100).optional().describe('Where the event came from, e.g. web, ios, zendesk.'),
  })
  .strict()
  .refine((e) => e.userId !== undefined || e.anonymousId !== undefined, {
    message: 'userId or anonymousId is required',
    path: ['userId'],
  });

export type EventInput = z.infer<typeof eventInputSchema>;

/** Snake_case spellings that CSV headers and other SDKs use, mapped to the canonical field names. */
export const FIELD_ALIASES: Readonly<Record<string, string>> = dict<string>({
  event_id: 'eventId',
  message_id: 'eventId',
  messageId: 'eventId',
  user_id: 'userId',
  anonymous_id: 'anonymousId',
  event: 'type',
  event_type: 'type',
  ts: 'timestamp',
  time: 'timestamp',
});

export const batchSchema = z.union([z.object({ events: z.array(z.unknown()) }).strict(), z.array(z.unknown())]);

export const batchRequestSchema = z.object({
  events: z.array(eventInputSchema).describe('1 to TRAITLENS_MAX_BATCH_EVENTS events; a bare JSON array is also accepted.'),
});

export const eventOutcomeSchema = z.object({
  index: z.number().int(),
  status: z.enum(['accepted', 'duplicate', 'rejected']),
  id: z.number().int().optional(),
  eventId: z.string().optional(),
  duplicateOf: z.number().int().optional(),
  reason: z.string().optional(),
  field: z.string().optional(),
  message: z.string().optional(),
  warnings: z.array(z.object({ code: z.string(), field: z.string(), message: z.string() })).optional(),
});

export const ingestResponseSchema = z.object({
  accepted: z.number().int(),
  duplicates: z.number().int(),
  rejected: z.number().int(),
  results: z.array(eventOutcomeSchema),
});

export const identifySchema = z
  .object({
    anonymousId: idString(256),
    userId: idString(256),
  })
  .strict();

export const attributesSchema = z
  .object({
    attributes: z.record(z.string(), z.unknown()).describe('Declared attributes; a null value removes the attribute.'),
    consent: z
      .object({ profiling: z.boolean(), llm_processing: z.boolean(), marketing: z.boolean() })
      .partial()
      .optional()
      .describe('Consent flags; omitted flags keep their value.'),
  })
  .strict();
