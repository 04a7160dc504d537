import type { z } from 'zod';

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface StructuredRequest<S extends z.ZodType> {
  system: string;
  user: string;
  /** zod 4 schema the answer must satisfy; also sent to the model as JSON Schema. */
  schema: S;
  /** Schema / tool name shown to the model: [a-zA-Z0-9_-]{1,64}. */
  schemaName: string;
  signal?: AbortSignal;
  /** What the call is for: recorded with its usage by the wrapper (src/providers/usage.ts). */
  usage?: CallPurpose;
}

/** The operation a chat call serves, recorded with its tokens and outcome. */
export interface CallPurpose {
  /** e.g. extract_traits, summary, segment_filter */
  operation: string;
  promptVersion: string;
  userId?: number | null;
}

export interface StructuredResult<T> {
  data: T;
  /** Summed over every attempt, including a failed-validation attempt that was re-asked. */
  usage: TokenUsage;
  /** The model that answered, as reported by the server (falls back to the configured name). */
  model: string;
}

/** A chat model that answers with data matching a schema. */
export interface ChatModel {
  readonly id: string;
  extractStructured<S extends z.ZodType>(req: StructuredRequest<S>): Promise<StructuredResult<z.output<S>>>;
}

/** Text → unit-length (or zero) vectors. Vectors from different `id`s are not comparable. */
export interface Embedder {
  /** e.g. `offline:wink-sg-100d-sif` or `openai:text-embedding-3-small`. Store it next to every vector. */
  readonly id: string;
  readonly dim: number;
  embed(texts: string[]): Promise<Float32Array[]>;
}
