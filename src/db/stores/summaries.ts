import type { Dialect } from '../sql/dialect.ts';
import type { Executor } from '../sql/executor.ts';

/** One cached summary: generated text about a user, keyed by (profile version, audience, generator). */
export interface SummaryKey {
  userId: number;
  profileVersion: number;
  audience: string;
  /** `template.v3` or `llm:<model>:summary.v2` (older rows: template.v2, summary.v1) */
  generator: string;
}

export interface SummaryStore {
  get(key: SummaryKey): Promise<{ text: string; createdAt: number } | null>;
  /** Stores a summary and drops the user's summaries of older profile versions (they can never be served again). */
  put(key: SummaryKey, text: string, now: number): Promise<void>;
}

export class SqlSummaryStore implements SummaryStore {
  constructor(
    protected readonly x: Executor,
    protected readonly d: Dialect,
  ) {}

  async get(k: SummaryKey): Promise<{ text: string; createdAt: number } | null> {
    const r = await this.x.get<{ text: string; createdAt: number }>(
      'SELECT text, created_at AS "createdAt" FROM summaries WHERE user_id = ? AND profile_version = ? AND audience = ? AND generator = ?',
      [k.userId, k.profileVersion, k.audience, k.generator],
    );
    return r ? { text: r.text, createdAt: Number(r.createdAt) } : null;
  }

  async put(k: SummaryKey, text: string, now: number): Promise<void> {
    await this.x.tx(async (q) => {
      await q.run('DELETE FROM summaries WHERE user_id = ? AND profile_version < ?', [k.userId, k.profileVersion]);
      await q.run(
        `INSERT INTO summaries (user_id, profile_version, audience, generator, text, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (user_id, profile_version, audience, generator) DO UPDATE SET text = excluded.text, created_at = excluded.created_at`,
        [k.userId, k.profileVersion, k.audience, k.generator, text, now],
      );
    });
  }
}
