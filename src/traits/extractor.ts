import type { CurrentTrait, Signal, TraitOp } from '../core/traits.ts';

export interface ExtractResult {
  ops: TraitOp[];
  /** operations the model returned that did not match the schema (dropped, counted) */
  invalidOps?: number;
  /** LLM calls actually made (0 when answered from the cache or offline) */
  calls: number;
  promptTokens: number;
  completionTokens: number;
}

/** Either extractor (LLM or offline) behind one face: signals in, trait operations out. */
export interface Extractor {
  /** recorded on every trait it produces, e.g. `openai:gpt-4o-mini` or `offline-extractor` */
  readonly producer: string;
  /** the prompt or extractor version, e.g. `extract-traits.v1` */
  readonly version: string;
  extract(signals: Signal[], current: CurrentTrait[], ctx: { userId: number }): Promise<ExtractResult>;
}
