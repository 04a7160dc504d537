import type { Db } from './connection.ts';

/** Start of the UTC day containing `now`, and the next one: the LLM budget resets at UTC midnight. */
export function utcDay(now: number): { start: number; next: number } {
  const start = Math.floor(now / 86_400_000) * 86_400_000;
  return { start, next: start + 86_400_000 };
}

/** Chat tokens (prompt + completion) recorded since `since`, every process counted (it is the table). */
export function tokensUsedSince(db: Db, since: number): number {
  return (db.stmt('SELECT coalesce(sum(prompt_tokens + completion_tokens), 0) AS n FROM llm_calls WHERE at >= ?').get(since) as { n: number }).n;
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

export function llmBudgetStatus(db: Db, dailyTokens: number, now = Date.now()): LlmBudgetStatus {
  const day = utcDay(now);
  const used = tokensUsedSince(db, day.start);
  return {
    dailyTokens,
    usedToday: used,
    remaining: dailyTokens > 0 ? Math.max(0, dailyTokens - used) : null,
    paused: dailyTokens > 0 && used >= dailyTokens,
    resetsAt: new Date(day.next).toISOString(),
  };
}
