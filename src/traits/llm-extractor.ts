import { hash } from 'node:crypto';
import { z } from 'zod';
import { traitOpSchema, type CurrentTrait, type Signal, type TraitOp } from '../core/traits.ts';
import type { Db } from '../db/connection.ts';
import { llmCache, llmCalls } from '../db/schema.ts';
import { eq } from 'drizzle-orm';
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
 * Trait extraction through any OpenAI-compatible chat model. Every call is recorded (tokens,
 * latency, outcome); answers are cached by the hash of the exact request, so re-running on
 * unchanged signals makes no call.
 */
export class LlmExtractor implements Extractor {
  readonly producer: string;
  readonly version: string;
  private readonly prompt;

  constructor(
    private readonly db: Db,
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
    const cached = this.db.orm.select().from(llmCache).where(eq(llmCache.key, key)).get();
    if (cached) {
      const parsed = extractionAnswerSchema.safeParse(JSON.parse(cached.response));
      if (parsed.success) {
        const v = validOps(parsed.data.operations);
        return { ops: v.ops, invalidOps: v.invalid, calls: 0, promptTokens: 0, completionTokens: 0 };
      }
    }
    const started = Date.now();
    try {
      const r = await this.chat.extractStructured({ system, user, schema: extractionAnswerSchema, schemaName: 'trait_operations' });
      this.db.orm
        .insert(llmCalls)
        .values({
          at: started,
          userId: ctx.userId,
          purpose: 'extract_traits',
          model: r.model,
          promptVersion: this.version,
          promptTokens: r.usage.promptTokens,
          completionTokens: r.usage.completionTokens,
          latencyMs: Date.now() - started,
          status: 'ok',
        })
        .run();
      this.db.orm
        .insert(llmCache)
        .values({ key, userId: ctx.userId, response: JSON.stringify(r.data), createdAt: Date.now() })
        .onConflictDoNothing()
        .run();
      const v = validOps(r.data.operations);
      return { ops: v.ops, invalidOps: v.invalid, calls: 1, promptTokens: r.usage.promptTokens, completionTokens: r.usage.completionTokens };
    } catch (err) {
      this.db.orm
        .insert(llmCalls)
        .values({
          at: started,
          userId: ctx.userId,
          purpose: 'extract_traits',
          model: this.chat.id,
          promptVersion: this.version,
          latencyMs: Date.now() - started,
          status: 'error',
          error: err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 500) : String(err),
        })
        .run();
      throw err;
    }
  }
}
