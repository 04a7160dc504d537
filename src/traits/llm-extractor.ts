import { hash } from 'node:crypto';
import { z } from 'zod';
import { traitOpSchema, type CurrentTrait, type Signal, type TraitOp } from '../core/traits.ts';
import type { LlmStore } from '../db/stores/llm.ts';
import type { ChatModel } from '../providers/types.ts';
import { describeCatalogue, type Catalogue } from './catalogue.ts';
import type { ExtractResult, Extractor } from './extractor.ts';
import { loadPrompt } from './prompts.ts';

/**
 * The model sees the strict operation schema; validation is per operation: one malformed operation
 * (say, empty evidence) becomes null and is counted as rejected, instead of failing the whole
 * answer and parking the user's job (which a hostile message could otherwise trigger at will).
 */
export const extractionAnswerSchema = z.object({ operations: z.array(traitOpSchema.nullable().catch(null)) });

function validOps(ops: readonly (TraitOp | null)[]): { ops: TraitOp[]; invalid: number } {
  const kept = ops.filter((o): o is TraitOp => o !== null);
  return { ops: kept, invalid: ops.length - kept.length };
}

function formatCurrent(current: CurrentTrait[]): string {
  if (!current.length) return '(none)';
  return current.map((t) => `- ${t.key} = ${JSON.stringify(t.value)} (${t.confidence.toFixed(2)})`).join('\n');
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
    promptVersion = 'v1',
  ) {
    this.prompt = loadPrompt('extract-traits', promptVersion);
    this.producer = chat.id;
    this.version = this.prompt.id;
  }

  async extract(signals: Signal[], current: CurrentTrait[], ctx: { userId: number }): Promise<ExtractResult> {
    const system = await this.prompt.system.format({ catalogue: describeCatalogue(this.catalogue) });
    const user = await this.prompt.user.format({ current_traits: formatCurrent(current), signals: formatSignals(signals) });
    // Keyed on the signals, not the current-traits context: the same text asked again (a forced
    // refresh, a re-run after a crash) is answered from the cache; merge dedupes against the profile.
    const key = hash('sha256', `${this.producer}\u0000${this.version}\u0000${system}\u0000${formatSignals(signals)}`, 'base64url');
    const cached = await this.cache.cacheGet(key);
    if (cached !== null) {
      const parsed = extractionAnswerSchema.safeParse(JSON.parse(cached));
      if (parsed.success) {
        const v = validOps(parsed.data.operations);
        return { ops: v.ops, invalidOps: v.invalid, calls: 0, promptTokens: 0, completionTokens: 0 };
      }
    }
    const r = await this.chat.extractStructured({
      system,
      user,
      schema: extractionAnswerSchema,
      schemaName: 'trait_operations',
      usage: { operation: 'extract_traits', promptVersion: this.version, userId: ctx.userId },
    });
    await this.cache.cachePut(key, ctx.userId, JSON.stringify(r.data), Date.now());
    const v = validOps(r.data.operations);
    return { ops: v.ops, invalidOps: v.invalid, calls: 1, promptTokens: r.usage.promptTokens, completionTokens: r.usage.completionTokens };
  }
}
