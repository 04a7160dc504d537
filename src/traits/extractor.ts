import type { CurrentTrait, FactOp, Signal, TraitOp } from '../core/traits.ts';

export interface ExtractResult {
  ops: TraitOp[];
  /**
   * free-form self-disclosures beside the typed ops (see FactOp in src/core/traits.ts); the stage
   * filters sensitive ones, verifies their quotes, dedupes and supersedes them, and stores them as
   * `kind = 'fact'` rows. Absent = none.
   */
  facts?: FactOp[];
  /** operations the model returned that did not match the schema (dropped, counted) */
  invalidOps?: number;
  /** fact operations the model returned that did not match the schema (dropped, counted) */
  invalidFacts?: number;
  /** LLM calls actually made (0 when answered from the cache or offline) */
  calls: number;
  promptTokens: number;
  completionTokens: number;
}

/**
 * Either extractor (LLM or offline) behind one face: signals in, trait operations and facts out.
 * `current` lists the user's current semantic traits and facts (facts as `fact:<...>` keys with the
 * statement as value), so an extractor can choose add/update/retract.
 */
export interface Extractor {
  /** recorded on every trait it produces, e.g. `openai:gpt-4o-mini` or `offline-extractor` */
  readonly producer: string;
  /** the prompt or extractor version, e.g. `extract-traits.v1` */
  readonly version: string;
  extract(signals: Signal[], current: CurrentTrait[], ctx: { userId: number }): Promise<ExtractResult>;
}
