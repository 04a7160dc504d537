import type { LlmCallRecord } from '../../core/types.ts';
import type { Dialect } from '../sql/dialect.ts';
import type { Executor } from '../sql/executor.ts';

/** One LLM call, successful or not (the record the providers' usage wrapper writes). */
export type LlmCall = LlmCallRecord;

export interface LlmStore {
  /** Records a call; every process's calls count against the same daily budget (it is the table). */
  recordCall(call: LlmCall): Promise<void>;
  /** Chat tokens (prompt + completion) recorded since `since`. */
  tokensUsedSince(since: number): Promise<number>;
  /** A cached model answer by the hash of the exact request, or null. */
  cacheGet(key: string): Promise<string | null>;
  /** Keeps the first answer for a key (a concurrent second one is dropped). */
  cachePut(key: string, userId: number | null, response: string, now: number): Promise<void>;
}

export class SqlLlmStore implements LlmStore {
  constructor(
    protected readonly x: Executor,
    protected readonly d: Dialect,
  ) {}

  async recordCall(c: LlmCall): Promise<void> {
    await this.x.run(
      `INSERT INTO llm_calls (at, user_id, purpose, model, prompt_version, prompt_tokens, completion_tokens, latency_ms, status, error)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [c.at, c.userId, c.operation, c.model, c.promptVersion, c.promptTokens, c.completionTokens, c.latencyMs, c.status, c.error ?? null],
    );
  }

  async tokensUsedSince(since: number): Promise<number> {
    const r = await this.x.get<{ n: number | string }>('SELECT coalesce(sum(prompt_tokens + completion_tokens), 0) AS n FROM llm_calls WHERE at >= ?', [since]);
    return Number(r?.n ?? 0);
  }

  async cacheGet(key: string): Promise<string | null> {
    const r = await this.x.get<{ response: string }>('SELECT response FROM llm_cache WHERE key = ?', [key]);
    return r?.response ?? null;
  }

  async cachePut(key: string, userId: number | null, response: string, now: number): Promise<void> {
    await this.x.run('INSERT INTO llm_cache (key, user_id, response, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO NOTHING', [key, userId, response, now]);
  }
}
