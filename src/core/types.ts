/** Shared types: the small core every stage depends on. No I/O here. */

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export type IdentityKind = 'user' | 'anonymous';

/** An event after cleaning: what the store writes. */
export interface CleanEvent {
  identityKind: IdentityKind;
  identity: string;
  type: string;
  /** epoch milliseconds */
  ts: number;
  properties: JsonObject;
  text: string | null;
  source: string | null;
  clientEventId: string | null;
  /** sha1 of type + canonical properties + text, base64url */
  contentHash: string;
  /** unique key (sha1, base64url): of the client's eventId, else of identity, type, time and content */
  dedupeKey: string;
  warnings: EventWarning[];
}

export interface EventWarning {
  code: string;
  field: string;
  message: string;
}

export type EventOutcome =
  | { index: number; status: 'accepted'; id: number; eventId?: string; warnings?: EventWarning[] }
  | { index: number; status: 'duplicate'; eventId?: string; duplicateOf?: number }
  | { index: number; status: 'rejected'; reason: string; field: string; message: string; eventId?: string };

export interface IngestSummary {
  accepted: number;
  duplicates: number;
  rejected: number;
  results: EventOutcome[];
}

/** `fact`: a free-form self-disclosure (key `fact:...`, value the statement); see FactOp in core/traits.ts */
export const TRAIT_KINDS = ['declared', 'computed', 'semantic', 'predicted', 'fact'] as const;
export type TraitKind = (typeof TRAIT_KINDS)[number];

export interface Evidence {
  eventId: number;
  quote: string;
}

export interface Trait {
  id: number;
  key: string;
  value: Json;
  kind: TraitKind;
  confidence: number;
  evidence: Evidence[];
  producer: string;
  version: string;
  validFrom: number;
  validTo: number | null;
  supersededBy: number | null;
}

export const SCOPES = ['events:write', 'profiles:read', 'summaries:read', 'segments:read', 'segments:write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];
/** Scopes a held scope grants besides itself (`admin` grants every scope). */
export const IMPLIED_SCOPES: Partial<Record<Scope, readonly Scope[]>> = { 'segments:write': ['segments:read'] };

export const CONSENT_FLAGS = ['profiling', 'llm_processing', 'marketing'] as const;
export type ConsentFlag = (typeof CONSENT_FLAGS)[number];
export type Consent = Record<ConsentFlag, boolean>;

/** Event types whose `text` is a signal for trait extraction. */
export const TEXT_SIGNAL_TYPES = ['search', 'chat_message', 'support_ticket', 'support_message', 'review'] as const;

/** One LLM call as recorded for usage and the daily budget: successes and failures alike. */
export interface LlmCallRecord {
  /** when the call started, epoch ms */
  at: number;
  userId: number | null;
  /** the operation: extract_traits, summary, segment_filter… */
  operation: string;
  model: string;
  promptVersion: string;
  promptTokens: number;
  completionTokens: number;
  latencyMs: number;
  status: 'ok' | 'error';
  error?: string | null;
}
