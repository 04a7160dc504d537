import type { z } from 'zod';
import type { LlmCallRecord } from '../core/types.ts';
import { LlmBudgetExhaustedError, utcDay } from './budget.ts';
import type { Providers } from './index.ts';
import type { ChatModel, StructuredRequest, StructuredResult } from './types.ts';

/** One chat call as the ledger keeps it: successes and failures alike. */
export type UsageRecord = LlmCallRecord;

/**
 * Where usage is recorded and the budget is read from. The database's LLM store implements it, so
 * the budget holds across every process and replica sharing that database.
 */
export interface UsageLedger {
  recordCall(call: UsageRecord): Promise<void>;
  /** prompt + completion tokens recorded since `since` (epoch ms) */
  tokensUsedSince(since: number): Promise<number>;
}

export interface UsageOptions {
  ledger: UsageLedger;
  /** TRAITLENS_LLM_DAILY_TOKENS; 0 = unlimited (usage is still recorded) */
  dailyTokens: number;
  clock?: () => number;
}

const METERED = Symbol('traitlens.metered');

/** Error text kept with a failed call: the class and message, bounded (no request content). */
const describeError = (err: unknown) => (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 500);

/** Tokens a failed call still spent, when the provider reported them (e.g. a re-asked bad answer). */
function spentBy(err: unknown): { promptTokens: number; completionTokens: number } {
  const u = (err as { usage?: { promptTokens?: unknown; completionTokens?: unknown } } | null)?.usage;
  return {
    promptTokens: typeof u?.promptTokens === 'number' ? u.promptTokens : 0,
    completionTokens: typeof u?.completionTokens === 'number' ? u.completionTokens : 0,
  };
}

/**
 * A chat model whose every call first checks the daily token budget (spent: refused with
 * LlmBudgetExhaustedError, which defers jobs to the reset) and then records its usage and outcome,
 * success or failure, with the operation named in `req.usage`. A call in flight when the budget
 * runs out still finishes. Wrapping a metered model again returns it unchanged.
 */
export function meterChat(chat: ChatModel, opts: UsageOptions): ChatModel {
  if ((chat as { [METERED]?: true })[METERED]) return chat;
  const clock = opts.clock ?? Date.now;
  const metered = {
    id: chat.id,
    [METERED]: true as const,
    async extractStructured<S extends z.ZodType>(req: StructuredRequest<S>): Promise<StructuredResult<z.output<S>>> {
      const started = clock();
      if (opts.dailyTokens > 0) {
        const day = utcDay(started);
        const used = await opts.ledger.tokensUsedSince(day.start);
        if (used >= opts.dailyTokens) throw new LlmBudgetExhaustedError(used, opts.dailyTokens, day.next, started);
      }
      const base = {
        at: started,
        userId: req.usage?.userId ?? null,
        operation: req.usage?.operation ?? 'chat',
        promptVersion: req.usage?.promptVersion ?? 'unknown',
      };
      let r: StructuredResult<z.output<S>>;
      try {
        r = await chat.extractStructured(req);
      } catch (err) {
        // Recording must not hide the provider's error (the worker reads its class to retry or defer).
        await opts.ledger.recordCall({ ...base, model: chat.id, ...spentBy(err), latencyMs: clock() - started, status: 'error', error: describeError(err) }).catch(() => undefined);
        throw err;
      }
      await opts.ledger.recordCall({ ...base, model: r.model, ...r.usage, latencyMs: clock() - started, status: 'ok' });
      return r;
    },
  };
  return metered;
}

/**
 * The providers as every caller should see them: chat metered (budget + usage) in this one place,
 * for every operation (trait extraction, summaries, segment compiling). The composition root calls
 * this once; it is idempotent so a transitional second call does not count calls twice.
 */
export function wrapProviders<P extends Providers>(providers: P, opts: UsageOptions): P {
  if (!providers.chat) return providers;
  return { ...providers, chat: meterChat(providers.chat, opts) };
}
