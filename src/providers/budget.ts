import { TraitlensError } from '../core/errors.ts';

/** Start of the UTC day containing `now`, and the next one: the LLM budget resets at UTC midnight. */
export function utcDay(now: number): { start: number; next: number } {
  const start = Math.floor(now / 86_400_000) * 86_400_000;
  return { start, next: start + 86_400_000 };
}

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

export interface LlmBudgetStatus {
  /** 0 = unlimited */
  dailyTokens: number;
  usedToday: number;
  remaining: number | null;
  /** true while LLM processing waits for the next day */
  paused: boolean;
  resetsAt: string;
}

/** The budget as /v1/stats shows it, from the tokens the ledger recorded today. */
export async function llmBudgetStatus(ledger: { tokensUsedSince(since: number): Promise<number> }, dailyTokens: number, now = Date.now()): Promise<LlmBudgetStatus> {
  const day = utcDay(now);
  const used = await ledger.tokensUsedSince(day.start);
  return {
    dailyTokens,
    usedToday: used,
    remaining: dailyTokens > 0 ? Math.max(0, dailyTokens - used) : null,
    paused: dailyTokens > 0 && used >= dailyTokens,
    resetsAt: new Date(day.next).toISOString(),
  };
}
