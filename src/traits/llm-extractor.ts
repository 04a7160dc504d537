import { hash } from 'node:crypto';
import { z } from 'zod';
import { type CurrentTrait, type FactOp, factOpSchema, type Signal, type TraitOp, traitOpSchema } from '../core/traits.ts';
import type { LlmStore } from '../db/stores/llm.ts';
import type { ChatModel } from '../providers/types.ts';
import { describeCatalogue, type Catalogue } from './catalogue.ts';
import type { ExtractResult, Extractor } from './extractor.ts';
import { capFacts, EXTRACT_FACT_LIMITS, type FactContextLimits } from './fact-context.ts';
import { loadPrompt } from './prompts.ts';

/**
 * A fact as the model returns it: FactOp with `topic` and `typed` present but nullable, so the JSON
 * schema the model sees lists every field as required (what strict structured output wants).
 */
export const llmFactSchema = factOpSchema.extend({
  topic: factOpSchema.shape.topic.unwrap().nullable().default(null),
  typed: factOpSchema.shape.typed.unwrap().nullable().default(null),
});

/**
 * The model sees the strict operation and fact schemas; validation is per item: one malformed
 * operation or fact (say, empty evidence) becomes null and is counted as rejected, instead of
 * failing the whole answer and parking the user's job (which a hostile message could otherwise
 * trigger at will). `facts` defaults to an empty list, so a v1 answer (operations only) still parses.
 */
export const extractionAnswerSchema = z.object({
  operations: z.array(traitOpSchema.nullable().catch(null)),
  facts: z.array(llmFactSchema.nullable().catch(null)).default([]),
});
type ExtractionAnswer = z.output<typeof extractionAnswerSchema>;

function validItems(answer: ExtractionAnswer): { ops: TraitOp[]; facts: FactOp[]; invalidOps: number; invalidFacts: number } {
  const ops = answer.operations.filter((o): o is TraitOp => o !== null);
  const facts: FactOp[] = [];
  for (const f of answer.facts) {
    if (f === null) continue;
    const { topic, typed, ...rest } = f;
    facts.push({ ...rest, ...(topic !== null ? { topic } : {}), ...(typed !== null ? { typed } : {}) });
  }
  return { ops, facts, invalidOps: answer.operations.length - ops.length, invalidFacts: answer.facts.length - facts.length };
}

/** The prompt version the pipeline uses: v2 returns typed traits and facts in one answer. */
export const EXTRACT_PROMPT_VERSION = 'v2';

const currentLine = (t: CurrentTrait) => `- ${t.key} = ${JSON.stringify(t.value)} (${t.confidence.toFixed(2)})`;

/**
 * The profile the model is shown: every typed trait (the catalogue bounds them) and the facts under
 * the cap (fact-context.ts): those sharing words with the signals being read first, then the newest.
 */
function formatCurrent(current: readonly CurrentTrait[], signals: readonly Signal[] = [], limits: FactContextLimits = EXTRACT_FACT_LIMITS): string {
  const typed = current.filter((t) => !t.key.startsWith('fact:'));
  const facts = capFacts(
    current.filter((t) => t.key.startsWith('fact:')),
    { limits, line: currentLine, query: signals.map((s) => s.text).join('\n'), recency: (t) => t.validFrom ?? 0, confidence: (t) => t.confidence },
  );
  const lines = [...typed, ...facts.kept].map(currentLine);
  if (facts.dropped) lines.push(`- (${facts.dropped} older or less related facts not shown)`);
  return lines.length ? lines.join('\n') : '(none)';
}

function formatSignals(signals: Signal[]): string {
  // JSON-encoding each text keeps a signal from faking the start of another one.
  return signals.map((s) => `- id ${s.eventId} (${s.type}): ${JSON.stringify(s.text)}`).join('\n');
}

/**
 * Trait extraction through any OpenAI-compatible chat model. Answers are cached by the hash of the
 * exact request, so re-running on unchanged signals makes no call. Usage and the daily budget are
 * the metered chat model's job (src/providers/usage.ts), as for every other operation.
 */
export class LlmExtractor implements Extractor {
  readonly producer: string;
  readonly version: string;
  private readonly prompt;

  constructor(
    private readonly cache: Pick<LlmStore, 'cacheGet' | 'cachePut'>,
    private readonly chat: ChatModel,
    private readonly catalogue: Catalogue,
    promptVersion = EXTRACT_PROMPT_VERSION,
    private readonly factLimits: FactContextLimits = EXTRACT_FACT_LIMITS,
  ) {
    this.prompt = loadPrompt('extract-traits', promptVersion);
    this.producer = chat.id;
    this.version = this.prompt.id;
  }

  async extract(signals: Signal[], current: CurrentTrait[], ctx: { userId: number }): Promise<ExtractResult> {
    const system = await this.prompt.system.format({ catalogue: describeCatalogue(this.catalogue) });
    const user = await this.prompt.user.format({ current_traits: formatCurrent(current, signals, this.factLimits), signals: formatSignals(signals) });
    // Keyed on the signals, not the current-traits context: the same text asked again (a forced
    // refresh, a re-run after a crash) is answered from the cache; merge dedupes against the profile.
    const key = hash('sha256', `${this.producer}\u0000${this.version}\u0000${system}\u0000${formatSignals(signals)}`, 'base64url');
    const cached = await this.cache.cacheGet(key);
    if (cached !== null) {
      const parsed = extractionAnswerSchema.safeParse(JSON.parse(cached));
      if (parsed.success) {
        const v = validItems(parsed.data);
        return { ops: v.ops, facts: v.facts, invalidOps: v.invalidOps, invalidFacts: v.invalidFacts, calls: 0, promptTokens: 0, completionTokens: 0 };
      }
    }
    const r = await this.chat.extractStructured({
      system,
      user,
      schema: extractionAnswerSchema,
      schemaName: 'traits_and_facts',
      usage: { operation: 'extract_traits', promptVersion: this.version, userId: ctx.userId },
    });
    await this.cache.cachePut(key, ctx.userId, JSON.stringify(r.data), Date.now());
    const v = validItems(r.data);
    return {
      ops: v.ops,
      facts: v.facts,
      invalidOps: v.invalidOps,
      invalidFacts: v.invalidFacts,
      calls: 1,
      promptTokens: r.usage.promptTokens,
      completionTokens: r.usage.completionTokens,
    };
  }
}
