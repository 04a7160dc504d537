import type { z } from 'zod';
import { TraitlensError } from '../core/errors.ts';
import type { Db } from '../db/connection.ts';
import { tokensUsedSince, utcDay } from '../db/llm-usage.ts';
import type { ChatModel, StructuredRequest, StructuredResult } from './types.ts';

/**
 * The daily token budget is spent: not a failure of the job, which waits for the reset. The worker
 * reads `retryable` + `retryAfterMs` (when to run again) and `deferred` (do not count the attempt,
 * so a job can wait any number of days without being parked).
 */
export class LlmBudgetExhaustedError extends TraitlensError {
  override readonly status = 503;
  readonly retryable = true;
  readonly deferred = true;
  readonly retryAfterMs: number;
  readonly resumesAt: number;
  constructor(used: number, budget: number, resumesAt: number, now: number) {
    super('llm_budget_exhausted', `daily LLM token budget spent (${used}/${budget}); LLM processing resumes at ${new Date(resumesAt).toISOString()}`, {
      used,
      budget,
      resumesAt: new Date(resumesAt).toISOString(),
    });
    this.resumesAt = resumesAt;
    this.retryAfterMs = Math.max(1000, resumesAt - now);
  }
}

/**
 * Wraps a chat model with the daily budget (TRAITLENS_LLM_DAILY_TOKENS): before each call, the
 * tokens recorded in llm_calls since UTC midnight are summed; at or over the budget the call is
 * refused with LlmBudgetExhaustedError. A call in flight when the budget runs out still finishes.
 */
export function withDailyBudget(db: Db, chat: ChatModel, dailyTokens: number, clock: () => number = Date.now): ChatModel {
  if (dailyTokens <= 0) return chat;
  return {
    id: chat.id,
    extractStructured<S extends z.ZodType>(req: StructuredRequest<S>): Promise<StructuredResult<z.output<S>>> {
      const now = clock();
      const day = utcDay(now);
      const used = tokensUsedSince(db, day.start);
      if (used >= dailyTokens) return Promise.reject(new LlmBudgetExhaustedError(used, dailyTokens, day.next, now));
      return chat.extractStructured(req);
    },
  };
}
